import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DockerfileParser } from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';
import { hasStackTrace } from '../helpers/run-cli.js';
import { missing, requires, requiresEach } from '../helpers/requires.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { FIXTURES, SHARED_RUNBOOK, expectGolden, readTree, renderChart, validateObject, yamlObjects } from './deploy-helpers.js';

const SDK = path.resolve(import.meta.dirname, '../../sdk/python');
const SDK_DIR = '.plexichat/sdk/';

/** The runbook's plugin (read from ../shared) with the runbook's monitoring.yaml, copied into a temp dir. */
async function runbookProject(): Promise<string> {
  const dir = await tempDir();
  await fs.cp(SHARED_RUNBOOK, dir, { recursive: true });
  await execa('chmod', ['-R', 'u+w', dir]);
  await fs.copyFile(path.join(FIXTURES, 'runbook-monitoring.yaml'), path.join(dir, 'config/monitoring.yaml'));
  return dir;
}

async function templateProject(template: string): Promise<string> {
  const root = await tempDir();
  const r = await runMain(
    ['init', 'p', '--name', `${template}_plugin`, '--category', 'utility', '--template', template, '--author', 'Test Author', '--description', 'A test plugin'],
    { cwd: root },
  );
  expect(r.exitCode, r.stderr).toBe(0);
  return path.join(root, 'p');
}

async function render(dir: string, ...args: string[]) {
  return runMain(['deploy', 'render', ...args], { cwd: dir });
}

/** Rendered files minus the vendored SDK (checked against sdk/python on its own). */
function withoutSdk(files: Map<string, string>): Map<string, string> {
  return new Map([...files].filter(([f]) => !f.startsWith(SDK_DIR)));
}

/** The files deploy render wrote (everything that is not the project's own). */
async function renderedTree(dir: string, own: Set<string>): Promise<Map<string, string>> {
  return new Map([...(await readTree(dir))].filter(([f]) => !own.has(f)));
}

function headerless(text: string): string {
  return text.split('\n').slice(2).join('\n');
}

// Every test here renders the runbook's plugin (read from ../shared).
requiresEach('runbook');

const cases: Record<string, { dir: string; own: Set<string>; files: Map<string, string> }> = {};

beforeAll(async () => {
  if (missing('runbook').length > 0) return;
  const make = async (name: string, dir: string) => {
    const own = new Set((await readTree(dir)).keys());
    const r = await render(dir, '--helm');
    expect(r.exitCode, r.stderr).toBe(0);
    cases[name] = { dir, own, files: await renderedTree(dir, own) };
  };
  await Promise.all([
    runbookProject().then((d) => make('runbook', d)),
    templateProject('minimal').then((d) => make('minimal', d)),
    templateProject('analytics').then((d) => make('analytics', d)),
  ]);
}, 120_000);

describe('deploy render', () => {
  for (const name of ['runbook', 'minimal', 'analytics']) {
    it(`${name}: the rendered files match the golden files byte for byte`, async () => {
      const files = withoutSdk(cases[name].files);
      // A template's file list is the templates' business: its ignore file is checked against build below.
      if (name !== 'runbook') files.delete('.dockerignore');
      const g = await expectGolden(name, files);
      expect(g, 'if the change is intended: UPDATE_GOLDEN=1 npx vitest run test/e2e/deploy.e2e.test.ts, and review the diff').toEqual({
        missing: [],
        extra: [],
        differ: [],
      });
    });
  }

  it('the runbook manifest gives the runbook names, image and resources', () => {
    const { files } = cases.runbook;
    const staging = yamlObjects(files.get('k8s/staging-deployment.yaml')!);
    const production = yamlObjects(files.get('k8s/production-deployment.yaml')!);
    expect(staging.map((o) => `${o.kind as string}/${(o.metadata as { name: string }).name}`)).toEqual([
      'ConfigMap/advanced-analytics-staging-config',
      'Deployment/advanced-analytics-staging',
      'Service/advanced-analytics-staging',
      'NetworkPolicy/advanced-analytics-staging',
    ]);
    const dep = production.find((o) => o.kind === 'Deployment') as any;
    expect(dep.metadata.name).toBe('advanced-analytics');
    const c = dep.spec.template.spec.containers[0];
    expect(c.image).toBe('plexichat/advanced-analytics:1.0.0');
    expect(c.resources).toEqual({ limits: { cpu: '500m', memory: '1Gi' }, requests: { cpu: '100m', memory: '256Mi' } });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(dep.spec.template.metadata.labels).toMatchObject({
      'app.kubernetes.io/name': 'advanced-analytics',
      'app.kubernetes.io/instance': 'advanced-analytics',
      'app.kubernetes.io/version': '1.0.0',
      'app.kubernetes.io/managed-by': 'plexichat-plugin',
    });
    expect(dep.spec.replicas).toBe(2);
    expect((staging.find((o) => o.kind === 'Deployment') as any).spec.replicas).toBe(1);
    const cm = production.find((o) => o.kind === 'ConfigMap') as any;
    expect(JSON.parse(cm.data['manifest.json']).settings).toEqual({ enable_real_time: true, retention_days: 90, batch_size: 1000 });
  });

  it('every rendered Kubernetes object validates against the Kubernetes and Prometheus Operator schemas', () => {
    let n = 0;
    for (const { files } of Object.values(cases)) {
      for (const [f, text] of files) {
        if (!f.startsWith('k8s/')) continue;
        for (const obj of yamlObjects(text)) {
          expect(['v1', 'apps/v1', 'networking.k8s.io/v1', 'monitoring.coreos.com/v1']).toContain(obj.apiVersion);
          expect(() => validateObject(obj), `${f} ${String(obj.kind)}`).not.toThrow();
          n++;
        }
      }
    }
    // 3 cases x 2 environments x (ConfigMap, Deployment, Service, NetworkPolicy) + the runbook's PrometheusRule and ServiceMonitor x 2
    expect(n).toBe(28);
  });

  it('the schema check has teeth: a bad object is refused', () => {
    const dep = yamlObjects(cases.runbook.files.get('k8s/staging-deployment.yaml')!).find((o) => o.kind === 'Deployment') as any;
    dep.spec.replicas = 'two';
    expect(() => validateObject(dep)).toThrow(/replicas/);
  });

  it('the Helm chart renders (Go text/template) to the same objects as k8s/<env>-*.yaml', async () => {
    for (const [name, { dir, files }] of Object.entries(cases)) {
      const chart = [...files.keys()].find((f) => f.endsWith('/Chart.yaml'))!;
      expect(chart, name).toMatch(/^helm\/[a-z0-9-]+\/Chart\.yaml$/);
      expect(parseYaml(files.get(chart)!)).toMatchObject({ apiVersion: 'v2', type: 'application' });
      for (const env of ['staging', 'production']) {
        const plain = [
          ...yamlObjects(files.get(`k8s/${env}-deployment.yaml`)!),
          ...(files.has(`k8s/${env}-monitoring.yaml`) ? yamlObjects(files.get(`k8s/${env}-monitoring.yaml`)!) : []),
        ];
        const release = (plain[0].metadata as any).labels['app.kubernetes.io/instance'];
        const fromChart = await renderChart(path.join(dir, path.dirname(chart)), release, env);
        for (const o of fromChart) {
          // The one intended difference: Helm manages what it installs.
          expect((o.metadata as any).labels['app.kubernetes.io/managed-by']).toBe('Helm');
          (o.metadata as any).labels['app.kubernetes.io/managed-by'] = 'plexichat-plugin';
          const tpl = (o.spec as any)?.template?.metadata?.labels;
          if (tpl) tpl['app.kubernetes.io/managed-by'] = 'plexichat-plugin';
        }
        const key = (o: Record<string, unknown>) => `${String(o.kind)}/${(o.metadata as { name: string }).name}`;
        expect(fromChart.map(key).sort(), `${name} ${env}`).toEqual(plain.map(key).sort());
        for (const o of plain)
          expect(
            fromChart.find((c) => key(c) === key(o)),
            `${name} ${env} ${key(o)}`,
          ).toEqual(o);
      }
    }
  });

  it('the Dockerfile parses and follows the rules: pinned base, non-root USER, HEALTHCHECK, the host as entrypoint', () => {
    for (const [name, { files }] of Object.entries(cases)) {
      const text = files.get('Dockerfile')!;
      const df = DockerfileParser.parse(text);
      const ins = df.getInstructions();
      const args = new Map(df.getInitialARGs().map((a) => [a.getProperty()!.getName(), a.getProperty()!.getValue() ?? '']));
      expect(df.getFROMs().length).toBe(2);
      for (const from of df.getFROMs()) {
        const ref = from
          .getArgumentsContent()!
          .split(/\s+/)[0]
          .replace(/\$\{(\w+)\}/g, (_, n: string) => args.get(n) ?? '');
        expect(ref, name).toMatch(/^[a-z0-9./-]+:[\w][\w.-]*$/);
        expect(ref, name).not.toMatch(/:latest$/);
      }
      const users = ins.filter((i) => i.getKeyword() === 'USER');
      const lastUser = users[users.length - 1].getArgumentsContent()!;
      expect(lastUser).toMatch(/^[1-9]\d*:[1-9]\d*$/);
      // USER comes after the last RUN of the final stage and before the entrypoint
      const kw = ins.map((i) => i.getKeyword());
      expect(kw.lastIndexOf('USER')).toBeGreaterThan(kw.lastIndexOf('RUN'));
      expect(kw).toContain('HEALTHCHECK');
      const hc = ins.find((i) => i.getKeyword() === 'HEALTHCHECK')!.getArgumentsContent()!;
      expect(hc).toContain('/healthz');
      const ep = JSON.parse(ins.find((i) => i.getKeyword() === 'ENTRYPOINT')!.getArgumentsContent()!);
      expect(ep.slice(0, 3)).toEqual(['python3', '-m', 'plexichat_plugin_sdk.host']);
      expect(ep).toEqual(expect.arrayContaining(['--no-reload', '--no-console', '--host', '0.0.0.0', '--auth-secret-file', '/etc/plexichat-auth/secret']));
      // Never header trust on 0.0.0.0: the host checks the platform's signatures.
      expect(ep).not.toContain('--allow-remote');
    }
    const rb = cases.runbook.files.get('Dockerfile')!;
    expect(rb).toContain('"pandas>=1.3.0", "scikit-learn>=1.0.0", "numpy>=1.21.0"');
    expect(cases.minimal.files.get('Dockerfile')).not.toContain('pip');
  });

  it('the image copies exactly what build packs, plus the SDK (byte for byte)', async () => {
    // The runbook's own plugin fails build's code checks (it requires analytics_read without
    // declaring it), so its list is spelled out; the templates are compared with build --dry-run.
    const expected: Record<string, string[]> = { runbook: ['config/monitoring.yaml', 'config/plugin.yaml', 'src/__init__.py', 'src/plugin.py'] };
    for (const [name, { dir, files }] of Object.entries(cases)) {
      if (name === 'runbook') {
        expect(
          files
            .get('.dockerignore')!
            .split('\n')
            .filter((l) => l.startsWith('!')),
        ).toEqual([...expected.runbook.map((f) => `!${f}`), '!.plexichat/sdk']);
        continue;
      }
      const dry = await runMain(['--json', 'build', '--dry-run'], { cwd: dir });
      expect(dry.exitCode, dry.stderr).toBe(0);
      const packed: string[] = JSON.parse(dry.stdout).list.map((f: { path: string }) => f.path);
      const own = packed.filter((f) => cases[name].own.has(f));
      const allowed = files
        .get('.dockerignore')!
        .split('\n')
        .filter((l) => l.startsWith('!'))
        .map((l) => l.slice(1));
      expect(allowed, name).toEqual([...own, '.plexichat/sdk']);
      expect(own).toContain('config/plugin.yaml');
      expect(own.some((f) => f.startsWith('tests/'))).toBe(false);
    }
    const sdkFiles = [...cases.runbook.files.keys()].filter((f) => f.startsWith(SDK_DIR));
    expect(sdkFiles).toContain('.plexichat/sdk/plexichat_plugin_sdk/__init__.py');
    for (const f of sdkFiles) {
      expect(headerless(cases.runbook.files.get(f)!)).toBe(await fs.readFile(path.join(SDK, f.slice(SDK_DIR.length)), 'utf8'));
    }
  });

  it('the rendered alert rules pass promtool check rules, with the host metric names, scoped to the plugin and environment', async (ctx) => {
    requires(ctx, 'promtool');
    const { files } = cases.runbook;
    for (const env of ['staging', 'production']) {
      const [rule, monitor] = yamlObjects(files.get(`k8s/${env}-monitoring.yaml`)!) as any[];
      expect(rule.kind).toBe('PrometheusRule');
      const dir = await tempDir();
      const rulesFile = path.join(dir, 'rules.yaml');
      await fs.writeFile(rulesFile, JSON.stringify(rule.spec));
      const r = await execa('promtool', ['check', 'rules', rulesFile], { reject: false });
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/SUCCESS: 3 rules found/);
      const exprs = Object.fromEntries(rule.spec.groups[0].rules.map((x: any) => [x.alert, x.expr]));
      expect(exprs).toEqual({
        PluginDown: `(up{plugin='advanced_analytics', environment="${env}"} == 0) or absent(up{plugin="advanced_analytics", environment="${env}"})`,
        HighErrorRate: `rate(plugin_errors_total{plugin="advanced_analytics", environment="${env}"}[5m]) > 0.1`,
        PerformanceDegradation: `histogram_quantile(0.95, sum by (le) (rate(plugin_response_time_seconds_bucket{plugin="advanced_analytics", environment="${env}"}[5m]))) > 2.0`,
      });
      expect(rule.spec.groups[0].rules[0].labels).toEqual({ severity: 'critical', plugin: 'advanced_analytics', environment: env });
      expect(monitor.kind).toBe('ServiceMonitor');
      const ep = monitor.spec.endpoints[0];
      expect(ep).toMatchObject({ port: 'http', path: '/metrics' });
      expect(ep.relabelings).toEqual([
        { action: 'replace', targetLabel: 'plugin', replacement: 'advanced_analytics' },
        { action: 'replace', targetLabel: 'environment', replacement: env },
      ]);
      expect(ep.metricRelabelings[0].regex).toContain('plugin_errors_total');
    }
  });

  it('is reproducible: a second render writes nothing, and another checkout renders the same bytes', async () => {
    const { dir, files } = cases.runbook;
    const again = await runMain(['--json', 'deploy', 'render', '--helm'], { cwd: dir });
    expect(again.exitCode, again.stderr).toBe(0);
    const doc = JSON.parse(again.stdout);
    expect(doc.files.every((f: { status: string }) => f.status === 'unchanged')).toBe(true);
    const other = await runbookProject();
    const own = new Set((await readTree(other)).keys());
    expect((await render(other, '--helm')).exitCode).toBe(0);
    expect(await renderedTree(other, own)).toEqual(files);
  });

  it('--check: exit 0 when up to date; exit 1 with a diff after the manifest changed, writing nothing', async () => {
    const dir = await runbookProject();
    expect((await render(dir)).exitCode).toBe(0);
    const ok = await render(dir, '--check');
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/up to date/);

    const manifest = path.join(dir, 'config/plugin.yaml');
    await fs.writeFile(manifest, (await fs.readFile(manifest, 'utf8')).replace('version: "1.0.0"', 'version: "1.1.0"').replace('cpu: "500m"', 'cpu: "750m"'));
    const before = await readTree(dir);
    const stale = await render(dir, '--check');
    expect(stale.exitCode).toBe(1);
    expect(stale.stdout).toContain('--- a/k8s/production-deployment.yaml');
    expect(stale.stdout).toMatch(/^-\s+image: plexichat\/advanced-analytics:1\.0\.0$/m);
    expect(stale.stdout).toMatch(/^\+\s+image: plexichat\/advanced-analytics:1\.1\.0$/m);
    expect(stale.stdout).toMatch(/^\+\s+cpu: 750m$/m);
    expect(stale.stderr).toMatch(/k8s\/staging-deployment\.yaml: stale/);
    expect(stale.stderr).toMatch(/run `plexichat-plugin deploy render`/);
    expect(await readTree(dir)).toEqual(before);

    const json = await runMain(['--json', 'deploy', 'render', '--check', '--helm'], { cwd: dir });
    expect(json.exitCode).toBe(1);
    const doc = JSON.parse(json.stdout);
    expect(doc.upToDate).toBe(false);
    expect(doc.files.find((f: any) => f.path === 'helm/advanced-analytics/Chart.yaml').status).toBe('missing');
    expect(doc.diff).toContain('+++ b/k8s/staging-deployment.yaml');

    // a new source file makes the image's file list stale too
    expect((await render(dir)).exitCode).toBe(0);
    await fs.writeFile(path.join(dir, 'src/helpers.py'), 'X = 1\n');
    const added = await render(dir, '--check');
    expect(added.exitCode).toBe(1);
    expect(added.stdout).toMatch(/^\+!src\/helpers\.py$/m);
  });

  it('a hand edit is detected and kept (exit 1, nothing written) until --force', async () => {
    const dir = await runbookProject();
    expect((await render(dir)).exitCode).toBe(0);
    const file = path.join(dir, 'k8s/production-deployment.yaml');
    const edited = (await fs.readFile(file, 'utf8')).replace('replicas: 2', 'replicas: 5');
    await fs.writeFile(file, edited);
    const manifest = path.join(dir, 'config/plugin.yaml');
    await fs.writeFile(manifest, (await fs.readFile(manifest, 'utf8')).replace('version: "1.0.0"', 'version: "1.0.1"'));
    const staging = await fs.readFile(path.join(dir, 'k8s/staging-deployment.yaml'), 'utf8');

    const r = await render(dir);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/k8s\/production-deployment\.yaml: edited by hand since it was rendered/);
    expect(r.stderr).toMatch(/nothing was written/);
    expect(r.stderr).toMatch(/--force/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(await fs.readFile(file, 'utf8')).toBe(edited);
    // nothing else either, although it was ours and stale
    expect(await fs.readFile(path.join(dir, 'k8s/staging-deployment.yaml'), 'utf8')).toBe(staging);

    const check = await render(dir, '--check');
    expect(check.exitCode).toBe(1);
    expect(check.stderr).toMatch(/k8s\/production-deployment\.yaml: edited by hand/);

    const forced = await render(dir, '--force');
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(await fs.readFile(file, 'utf8')).toContain('replicas: 2');
    expect(await fs.readFile(file, 'utf8')).toContain(':1.0.1');
  });

  it('a Dockerfile it did not write is never overwritten without --force', async () => {
    const dir = await runbookProject();
    await fs.writeFile(path.join(dir, 'Dockerfile'), 'FROM python:3.12\n');
    const r = await render(dir);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Dockerfile: not made by deploy render/);
    expect(await fs.readFile(path.join(dir, 'Dockerfile'), 'utf8')).toBe('FROM python:3.12\n');
    expect(await fs.readdir(path.join(dir))).not.toContain('k8s');
  });

  it('a FIFO or symlink where a file goes is never opened nor replaced without --force; a FIFO monitoring.yaml is refused', async () => {
    const dir = await runbookProject();
    await execa('mkfifo', [path.join(dir, 'Dockerfile')]);
    await fs.mkdir(path.join(dir, 'k8s'));
    await fs.writeFile(path.join(dir, 'k8s/mine.yaml'), 'kind: Mine\n');
    await fs.symlink('mine.yaml', path.join(dir, 'k8s/staging-deployment.yaml'));
    const r = await render(dir);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Dockerfile: not a regular file/);
    expect(r.stderr).toMatch(/k8s\/staging-deployment\.yaml: not a regular file/);
    expect((await fs.lstat(path.join(dir, 'Dockerfile'))).isFIFO()).toBe(true);
    const forced = await render(dir, '--force');
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect((await fs.lstat(path.join(dir, 'k8s/staging-deployment.yaml'))).isFile()).toBe(true);
    expect(await fs.readFile(path.join(dir, 'k8s/mine.yaml'), 'utf8')).toBe('kind: Mine\n');
    expect(await fs.readFile(path.join(dir, 'Dockerfile'), 'utf8')).toContain('ENTRYPOINT');

    await fs.rm(path.join(dir, 'config/monitoring.yaml'));
    await execa('mkfifo', [path.join(dir, 'config/monitoring.yaml')]);
    const fifo = await render(dir);
    expect(fifo.exitCode).toBe(1);
    expect(fifo.stderr).toMatch(/config\/monitoring\.yaml is not a regular file/);
  });

  it('--env, --out, --image and --base-image', async () => {
    const dir = await runbookProject();
    const r = await runMain(
      [
        '--json',
        'deploy',
        'render',
        '--env',
        'staging',
        '--out',
        'deploy',
        '--image',
        'registry.example.com:5000/team/aa',
        '--base-image',
        'python:3.11.9-slim-bookworm',
      ],
      { cwd: dir },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.image).toBe('registry.example.com:5000/team/aa:1.0.0');
    const written = doc.files.map((f: { path: string }) => f.path).filter((p: string) => !p.includes('.plexichat/sdk/'));
    expect(written).toEqual([
      'deploy/Dockerfile',
      'deploy/Dockerfile.dockerignore',
      'deploy/k8s/staging-deployment.yaml',
      'deploy/k8s/staging-monitoring.yaml',
    ]);
    const df = await fs.readFile(path.join(dir, 'deploy/Dockerfile'), 'utf8');
    expect(df).toContain('ARG BASE_IMAGE=python:3.11.9-slim-bookworm');
    expect(df).toContain('mv /context/deploy/.plexichat/sdk /out/sdk');
    const ignore = await fs.readFile(path.join(dir, 'deploy/Dockerfile.dockerignore'), 'utf8');
    expect(ignore).toContain('!deploy/.plexichat/sdk\n');
    const dep = yamlObjects(await fs.readFile(path.join(dir, 'deploy/k8s/staging-deployment.yaml'), 'utf8'))[1] as any;
    expect(dep.spec.template.spec.containers[0].image).toBe('registry.example.com:5000/team/aa:1.0.0');
  });

  it('bad flags are usage errors (exit 2) with one line and nothing written', async () => {
    const dir = await runbookProject();
    const bad: [string[], RegExp][] = [
      [['--env', 'qa'], /--env qa: unknown environment/],
      [['--base-image', 'python'], /no tag, so it means :latest/],
      [['--base-image', 'python:latest'], /latest tag/],
      [['--base-image', 'python:3.12\nRUN curl x'], /not an image reference/],
      [['--image', 'plexichat/aa:2.0'], /the tag is always the plugin's version/],
      [['--image', 'Bad Name'], /not an image repository/],
      [['--out', '../elsewhere'], /outside the project/],
      [['--out', 'my deploy'], /use a folder name/],
      [['--check', '--force'], /do not go together/],
    ];
    for (const [args, msg] of bad) {
      const r = await render(dir, ...args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
    expect((await fs.readdir(dir)).sort()).toEqual(['config', 'src', 'tests']);
  });

  it('bad inputs: a request above its limit, a bad monitoring.yaml, no manifest (exit 1, file:line, nothing written)', async () => {
    const dir = await runbookProject();
    const manifest = path.join(dir, 'config/plugin.yaml');
    const text = await fs.readFile(manifest, 'utf8');
    await fs.writeFile(manifest, text.replace('memory: "256Mi"', 'memory: "2Gi"'));
    let r = await render(dir);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/config\/plugin\.yaml:\d+:\d+ error REQUEST_OVER_LIMIT resources\.requests\.memory is larger than resources\.limits\.memory/);
    await fs.writeFile(manifest, text);

    const mon = path.join(dir, 'config/monitoring.yaml');
    const monText = await fs.readFile(mon, 'utf8');
    const badMonitoring: [string, RegExp][] = [
      [monText.replace('rate(plugin_errors[5m]) > 0.1', 'rate(plugin_errors[5m] > '), /config\/monitoring\.yaml:15:\d+: .*not valid PromQL/],
      [monText.replace('plugin_errors[5m]', 'plugin_erors[5m]'), /config\/monitoring\.yaml:15:\d+: .*'plugin_erors' is not a metric the plugin host exports/],
      [monText.replace('- plugin_performance', '- plugin_speed'), /config\/monitoring\.yaml:7:\d+: .*'plugin_speed' is not a metric/],
      [monText.replace('severity: "critical"', 'severity: "page"'), /severity 'page' is not one of critical, warning, info/],
      [monText.replace('monitoring:', 'monitor:'), /must hold a `monitoring:` block/],
      [monText.replace('  alerts:', '  alerts:\n    - name: "Plugin Down"\n      condition: "up == 0"'), /two alerts are named PluginDown/],
    ];
    for (const [content, msg] of badMonitoring) {
      await fs.writeFile(mon, content);
      r = await render(dir);
      expect(r.exitCode, content).toBe(1);
      expect(r.stderr).toMatch(msg);
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
    await fs.rm(manifest);
    r = await render(dir);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/config\/plugin\.yaml not found/);
    expect((await fs.readdir(dir)).sort()).toEqual(['config', 'src', 'tests']);
  });

  it('refuses a project build refuses (a secret would go into the image)', async () => {
    const dir = await runbookProject();
    await fs.writeFile(path.join(dir, 'src/keys.py'), 'AWS = "AKIAIOSFODNN7EXAMPLE"\n');
    const r = await render(dir);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/src\/keys\.py:1 \[aws-access-key\]|src\/keys\.py:1 \[/);
    expect(r.stderr).toMatch(/build` refuses this project/);
    expect(r.stderr).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(await fs.readdir(dir)).not.toContain('Dockerfile');
  });
});
