/**
 * deploy render under hostile input (issue 20, classes 4 and 9): text of the
 * plugin's own stays a value in every format render writes (Helm templates,
 * YAML, Prometheus annotations, PromQL), every vector selector of an alert is
 * scoped to the plugin and environment whatever its form, and no output path
 * leads outside the project through a symbolic link.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parser as promql } from '@prometheus-io/lezer-promql';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as goTemplate } from '@evertdespiegeleer/go-template';
import { stringify as yamlStringify } from 'yaml';
import { DockerfileParser } from 'dockerfile-ast';
import { hasStackTrace } from '../helpers/run-cli.js';
import { requires } from '../helpers/requires.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { FIXTURES, readTree, renderChart, validateObject, yamlObjects } from './deploy-helpers.js';

const PLUGIN = 'deploy_probe';
/** Text that is a Go template action, a comment, a trim marker, a raw string, or spells the writer's placeholders. */
const AUTHOR = 'Eve zzhelm0q0zz zzhelm1q3zz zzhelm9zz {{ .Release.Name }} {{- fail `x` -}} $HOME ${PATH} "q" \\ \\';
const DESCRIPTION = 'Hostile {{/* c */}} `tick` }} {{ "{{" }} {{ printf "%s" .Values }} {{';
const GREETING = '{{ .Values.environment }}{{';

const TITLE = 'Hostile {{ $value }} {{- fail `x` }} zzhelm0q0zz';
const HOSTILE_CONDITION = 'plugin_hook_calls_total{hook="{{ .x }}"} >= 0';

/** Selector forms: each rendered expression must scope every selector. */
const CONDITIONS: Record<string, string> = {
  NameMatcher: '{__name__="plugin_errors_total"} > 0',
  NameMatcherAlias: '{__name__="plugin_errors"} > 0',
  NameRegex: '{__name__=~"plugin_.*_total"} > 100',
  Aggregated: 'sum by (kind) (rate(plugin_errors_total[5m])) > 1',
  ExistingMatchers: 'rate(plugin_errors_total{kind="endpoint"}[5m]) > 0',
  SetOperators: 'plugin_errors_total > 0 or plugin_api_calls_total > 0 unless plugin_loaded == 0',
  OtherPlugin: `plugin_errors_total{plugin!="${PLUGIN}"} > 0`,
  Subquery: 'max_over_time(plugin_active_users[10m:1m]) > 5',
  Offset: 'plugin_errors_total offset 5m > 0',
  ForeignMetric: 'process_cpu_seconds_total > 100',
  Absent: 'absent(plugin_loaded) == 1 and on() vector(0) == 1',
  PluginDown: 'up == 0',
};

function monitoringYaml(): string {
  const alerts = Object.entries(CONDITIONS).map(([name, condition]) => ({
    name: name.replace(/([a-z])([A-Z])/g, '$1 $2'),
    condition,
    severity: name === 'PluginDown' ? 'critical' : 'warning',
  }));
  alerts.push({ name: TITLE, condition: HOSTILE_CONDITION, severity: 'info' });
  return yamlStringify({ monitoring: { metrics: ['plugin_errors', 'plugin_api_calls'], alerts } });
}

async function hostileProject(): Promise<string> {
  const dir = path.join(await tempDir(), 'plugin');
  await fs.cp(path.join(FIXTURES, 'plugin'), dir, { recursive: true });
  const manifest = path.join(dir, 'config/plugin.yaml');
  const text = (await fs.readFile(manifest, 'utf8'))
    .replace('author: "Deploy Tests"', `author: ${JSON.stringify(AUTHOR)}`)
    .replace('description: "A plugin the deploy tests run in the plugin host"', `description: ${JSON.stringify(DESCRIPTION)}`)
    .replace('greeting: "from the ConfigMap"', `greeting: ${JSON.stringify(GREETING)}`);
  await fs.writeFile(manifest, text);
  await fs.writeFile(path.join(dir, 'config/monitoring.yaml'), monitoringYaml());
  return dir;
}

let project: string;
let files: Map<string, string>;

beforeAll(async () => {
  project = await hostileProject();
  const r = await runMain(['deploy', 'render', '--helm'], { cwd: project });
  expect(r.exitCode, r.stderr).toBe(0);
  files = await readTree(project);
}, 120_000);

/** The writer's own template actions; anything else in a template came from text that should have been escaped. */
const WRITER_ACTION =
  /^(- if \.Values\.monitoring\.enabled|- end|\.Release\.(Name|Service)|(\.Values(\.[A-Za-z_]+)+|index \.Values( "[^"]+")+|printf "%s:%s" \.Values\.image\.repository \.Values\.image\.tag)( \| printf "%q")?)$/;

describe('deploy render: the plugin text stays a value', () => {
  it("Helm templates: every action is the escape of `{{` or one of the writer's own; no placeholder spelt by the text became an action", () => {
    const templates = [...files].filter(([f]) => /^helm\/[^/]+\/templates\//.test(f));
    expect(templates.length).toBeGreaterThanOrEqual(6);
    for (const [f, text] of templates) {
      for (const m of text.matchAll(/\{\{(.*?)\}\}/gs)) {
        const inner = m[1].trim();
        if (inner === '"{{"') continue;
        expect(inner, `${f}: ${m[0]}`).toMatch(WRITER_ACTION);
      }
      // The writer's own placeholders, substituted as Helm would (any value), leave YAML that parses.
      const substituted = text
        .replace(/\{\{ "\{\{" \}\}/g, '{{')
        .replace(/\{\{- (if|end)[^}]*\}\}/g, '')
        .replace(/\{\{ [^{}]*?\}\}/g, (a) => (a.includes('printf "%q"') ? '"x"' : 'x'));
      expect(() => yamlObjects(substituted), f).not.toThrow();
    }
    const cm = files.get('helm/deploy-probe/templates/configmap.yaml')!;
    expect(cm).toContain('zzhelm0q0zz zzhelm1q3zz zzhelm9zz');
    expect(cm).not.toContain('"author": "Eve zzhelm0q0zz zzhelm1q3zz zzhelm9zz {{ .Release');
  });

  it('Helm templates rendered by Go text/template give exactly the k8s/ objects: the ConfigMap holds the manifest text as written', async () => {
    for (const env of ['staging', 'production']) {
      const plain = [...yamlObjects(files.get(`k8s/${env}-deployment.yaml`)!), ...yamlObjects(files.get(`k8s/${env}-monitoring.yaml`)!)];
      const release = (plain[0].metadata as any).labels['app.kubernetes.io/instance'];
      const fromChart = await renderChart(path.join(project, 'helm/deploy-probe'), release, env);
      for (const o of fromChart) {
        (o.metadata as any).labels['app.kubernetes.io/managed-by'] = 'plexichat-plugin';
        const tpl = (o.spec as any)?.template?.metadata?.labels;
        if (tpl) tpl['app.kubernetes.io/managed-by'] = 'plexichat-plugin';
      }
      const key = (o: Record<string, unknown>) => `${String(o.kind)}/${(o.metadata as { name: string }).name}`;
      expect(fromChart.map(key).sort()).toEqual(plain.map(key).sort());
      for (const o of plain)
        expect(
          fromChart.find((c) => key(c) === key(o)),
          `${env} ${key(o)}`,
        ).toEqual(o);
      const manifest = JSON.parse((fromChart.find((o) => o.kind === 'ConfigMap') as any).data['manifest.json']);
      expect(manifest.plugin).toMatchObject({ author: AUTHOR, description: DESCRIPTION });
      expect(manifest.settings.greeting).toBe(GREETING);
      for (const o of plain) expect(() => validateObject(o), key(o)).not.toThrow();
    }
    const chart = yamlObjects(files.get('helm/deploy-probe/Chart.yaml')!)[0];
    expect(chart.description).toBe(DESCRIPTION);
  });

  it('Dockerfile: the author is one double-quoted LABEL value (no expansion, no new instruction)', () => {
    const text = files.get('Dockerfile')!;
    const df = DockerfileParser.parse(text);
    expect(df.getInstructions().map((i) => i.getKeyword())).toEqual([
      'ARG',
      'FROM',
      'COPY',
      'RUN',
      'FROM',
      'LABEL',
      'ENV',
      'COPY',
      'COPY',
      'WORKDIR',
      'USER',
      'EXPOSE',
      'HEALTHCHECK',
      'ENTRYPOINT',
    ]);
    const label = df
      .getInstructions()
      .find((i) => i.getKeyword() === 'LABEL')!
      .getArgumentsContent()!;
    const escaped = AUTHOR.replace(/[\\"$]/g, (c) => `\\${c}`);
    expect(label).toContain(`org.opencontainers.image.authors="${escaped}"`);
  });

  it('Prometheus annotations: a title with template actions is shown as written (Go text/template run over them)', async () => {
    const [rule] = yamlObjects(files.get('k8s/staging-monitoring.yaml')!) as any[];
    const hostile = rule.spec.groups[0].rules.find((r: any) => r.annotations.summary.includes('Hostile'));
    expect(await goTemplate(hostile.annotations.summary, {})).toBe(TITLE);
    expect(await goTemplate(hostile.annotations.description, {})).toBe(`${TITLE}: ${PLUGIN} in staging (${HOSTILE_CONDITION})`);
  });
});

/** The matchers of every vector selector of a PromQL expression. */
function selectors(expr: string): string[] {
  const out: string[] = [];
  promql.parse(expr).iterate({
    enter(n) {
      if (n.type.isError) throw new Error(`not PromQL: ${expr}`);
      if (n.name === 'VectorSelector') out.push(expr.slice(n.from, n.to));
      return undefined;
    },
  });
  return out;
}

describe('deploy render: every selector of an alert is scoped to the plugin and the environment', () => {
  for (const env of ['staging', 'production']) {
    it(`${env}: each selector form carries plugin="${PLUGIN}" and environment="${env}"; promtool checks the rules`, async (ctx) => {
      const [rule] = yamlObjects(files.get(`k8s/${env}-monitoring.yaml`)!) as any[];
      const rules: any[] = rule.spec.groups[0].rules;
      expect(rules.length).toBe(Object.keys(CONDITIONS).length + 1);
      for (const r of rules) {
        const sels = selectors(r.expr);
        expect(sels.length, r.alert).toBeGreaterThan(0);
        for (const s of sels) {
          expect(s, `${r.alert}: ${r.expr}`).toMatch(new RegExp(`\\{.*plugin=["']${PLUGIN}["']`));
          expect(s, `${r.alert}: ${r.expr}`).toContain(`environment="${env}"`);
        }
      }
      const by = Object.fromEntries(rules.map((r) => [r.alert, r.expr]));
      expect(by.NameMatcherAlias).toBe(`plugin_errors_total{plugin="${PLUGIN}", environment="${env}"} > 0`);
      expect(by.OtherPlugin).toBe(`plugin_errors_total{plugin!="${PLUGIN}", plugin="${PLUGIN}", environment="${env}"} > 0`);
      expect(by.PluginDown).toBe(`(up{plugin="${PLUGIN}", environment="${env}"} == 0) or absent(up{plugin="${PLUGIN}", environment="${env}"})`);
      requires(ctx, 'promtool');
      const file = path.join(await tempDir(), 'rules.yaml');
      await fs.writeFile(file, JSON.stringify(rule.spec));
      const check = await execa('promtool', ['check', 'rules', file], { reject: false });
      expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    });
  }

  it("promtool test rules: another plugin's series (and this plugin in production) fire nothing in staging; a gone target fires PluginDown; the hostile title is shown as written", async (ctx) => {
    requires(ctx, 'promtool');
    const [rule] = yamlObjects(files.get('k8s/staging-monitoring.yaml')!) as any[];
    const dir = await tempDir();
    await fs.writeFile(path.join(dir, 'rules.yaml'), JSON.stringify(rule.spec));
    const other = (name: string, values: string, labels = '') => ({
      series: `${name}{plugin="other_plugin", environment="staging"${labels}}`,
      values,
    });
    const hostileRule = rule.spec.groups[0].rules.find((r: any) => r.labels.severity === 'info');
    const tests = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            other('plugin_errors_total', '0+10x30', ', kind="endpoint"'),
            other('plugin_api_calls_total', '0+10x30'),
            other('plugin_active_users', '10x30'),
            other('plugin_loaded', '0x30'),
            other('process_cpu_seconds_total', '1000x30'),
            other('up', '0x30'),
            { series: `plugin_errors_total{plugin="${PLUGIN}", environment="production", kind="endpoint"}`, values: '0+10x30' },
            { series: `plugin_hook_calls_total{plugin="${PLUGIN}", environment="staging", hook="{{ .x }}"}`, values: '1x30' },
          ],
          alert_rule_test: [
            ...Object.keys(CONDITIONS)
              .filter((a) => a !== 'PluginDown')
              .map((alertname) => ({ eval_time: '15m', alertname, exp_alerts: [] })),
            {
              eval_time: '15m',
              alertname: 'PluginDown',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', plugin: PLUGIN, environment: 'staging' },
                  exp_annotations: { summary: 'Plugin Down', description: `Plugin Down: ${PLUGIN} in staging (up == 0)` },
                },
              ],
            },
            {
              eval_time: '15m',
              alertname: hostileRule.alert,
              exp_alerts: [
                {
                  exp_labels: { severity: 'info', plugin: PLUGIN, environment: 'staging', hook: '{{ .x }}' },
                  exp_annotations: { summary: TITLE, description: `${TITLE}: ${PLUGIN} in staging (${HOSTILE_CONDITION})` },
                },
              ],
            },
          ],
        },
      ],
    };
    await fs.writeFile(path.join(dir, 'tests.yaml'), JSON.stringify(tests));
    const r = await execa('promtool', ['test', 'rules', 'tests.yaml'], { cwd: dir, reject: false });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS/);
  });

  it('a condition that selects on environment is refused (exit 1, file:line, nothing written)', async () => {
    for (const cond of ['up{environment="production"} == 0', 'rate({__name__="plugin_errors", environment=~".+"}[5m]) > 0']) {
      const dir = await hostileProject();
      await fs.writeFile(
        path.join(dir, 'config/monitoring.yaml'),
        yamlStringify({ monitoring: { alerts: [{ name: 'Env', condition: cond, severity: 'warning' }] } }),
      );
      const r = await runMain(['deploy', 'render'], { cwd: dir });
      expect(r.exitCode, cond).toBe(1);
      expect(r.stderr).toMatch(/config\/monitoring\.yaml:\d+:\d+: the condition selects on the label 'environment'/);
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect(await fs.readdir(dir)).not.toContain('k8s');
    }
  });
});

/** What is in a folder, links not followed: path → content, or → link target. */
async function snapshot(dir: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isSymbolicLink()) out.set(r, `-> ${await fs.readlink(path.join(dir, r))}`);
    else if (e.isDirectory()) for (const [k, v] of await snapshot(dir, r)) out.set(k, v);
    else out.set(r, await fs.readFile(path.join(dir, r), 'utf8'));
  }
  return out;
}

describe('deploy render: no output path leads outside the project', () => {
  async function outside(): Promise<string> {
    return tempDir({ 'keep.txt': 'mine\n' });
  }

  const cases: [string, (dir: string, out: string) => Promise<void>, string[]][] = [
    ['k8s/ is a link to a folder outside', (dir, out) => fs.symlink(out, path.join(dir, 'k8s')), []],
    ['the --out folder is a link outside', (dir, out) => fs.symlink(out, path.join(dir, 'deploy')), ['--out', 'deploy']],
    [
      'a folder under --out is a link outside',
      async (dir, out) => {
        await fs.mkdir(path.join(dir, 'deploy'));
        await fs.symlink(out, path.join(dir, 'deploy/k8s'));
      },
      ['--out', 'deploy'],
    ],
    ['helm/ is a link outside', (dir, out) => fs.symlink(out, path.join(dir, 'helm')), ['--helm']],
    [
      'the chart folder is a link outside',
      async (dir, out) => {
        await fs.mkdir(path.join(dir, 'helm'));
        await fs.symlink(out, path.join(dir, 'helm/deploy-probe'));
      },
      ['--helm'],
    ],
    ['.plexichat/ (the vendored SDK) is a link outside', (dir, out) => fs.symlink(out, path.join(dir, '.plexichat')), []],
    ['k8s/ is a relative link up and out', (dir, out) => fs.symlink(path.relative(dir, out), path.join(dir, 'k8s')), []],
    ['k8s/ is a link that leads nowhere', (dir) => fs.symlink(path.join(dir, 'no', 'such'), path.join(dir, 'k8s')), []],
  ];
  for (const [name, make, args] of cases) {
    it(`${name}: refused (exit 1, OUTSIDE_PROJECT), nothing written anywhere, also with --force and --check`, async () => {
      const dir = await hostileProject();
      const out = await outside();
      await make(dir, out);
      const before = await snapshot(dir);
      for (const extra of [[], ['--force'], ['--check']]) {
        const r = await runMain(['deploy', 'render', ...args, ...extra], { cwd: dir });
        expect(r.exitCode, `${extra.join(' ')}: ${r.stderr}`).toBe(1);
        expect(r.stderr).toMatch(
          /is a symbolic link (to .*, outside the project|that leads nowhere): deploy render writes only inside the project; nothing was written/,
        );
        expect(hasStackTrace(r.stderr)).toBe(false);
        expect(await readTree(out)).toEqual(new Map([['keep.txt', 'mine\n']]));
        expect(await snapshot(dir)).toEqual(before);
      }
      const json = await runMain(['--json', 'deploy', 'render', ...args], { cwd: dir });
      expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'OUTSIDE_PROJECT', exitCode: 1 });
    });
  }

  it('a link to a folder inside the project is followed (its writes stay inside)', async () => {
    const dir = await hostileProject();
    await fs.mkdir(path.join(dir, 'manifests'));
    await fs.symlink('manifests', path.join(dir, 'k8s'));
    const r = await runMain(['deploy', 'render'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await fs.readdir(path.join(dir, 'manifests'))).sort()).toEqual([
      'production-deployment.yaml',
      'production-monitoring.yaml',
      'staging-deployment.yaml',
      'staging-monitoring.yaml',
    ]);
  });

  it('a rendered file that is a link to a file outside: refused without --force; with --force the link is replaced, the outside file untouched', async () => {
    const dir = await hostileProject();
    const out = await outside();
    await fs.mkdir(path.join(dir, 'k8s'));
    await fs.symlink(path.join(out, 'keep.txt'), path.join(dir, 'k8s/staging-deployment.yaml'));
    await fs.symlink(path.join(out, 'keep.txt'), path.join(dir, 'Dockerfile'));
    const r = await runMain(['deploy', 'render'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Dockerfile: not a regular file/);
    expect(r.stderr).toMatch(/k8s\/staging-deployment\.yaml: not a regular file/);
    const forced = await runMain(['deploy', 'render', '--force'], { cwd: dir });
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(await fs.readFile(path.join(out, 'keep.txt'), 'utf8')).toBe('mine\n');
    expect((await fs.lstat(path.join(dir, 'Dockerfile'))).isFile()).toBe(true);
    expect((await fs.lstat(path.join(dir, 'k8s/staging-deployment.yaml'))).isFile()).toBe(true);
  });
});

describe('deploy render: who may reach the deployed plugin', () => {
  it('each environment gets a NetworkPolicy admitting only the platform and the scraper, on the host port; the Deployment mounts the Secret by name, no rendered file holds a secret', () => {
    for (const env of ['staging', 'production']) {
      const objects = yamlObjects(files.get(`k8s/${env}-deployment.yaml`)!) as any[];
      const np = objects.find((o) => o.kind === 'NetworkPolicy');
      const dep = objects.find((o) => o.kind === 'Deployment');
      expect(np.spec.podSelector.matchLabels).toEqual(dep.spec.selector.matchLabels);
      expect(np.spec.policyTypes).toEqual(['Ingress']);
      expect(np.spec.ingress).toEqual([
        {
          from: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'plexichat' } },
              podSelector: { matchLabels: { 'app.kubernetes.io/name': 'plexichat' } },
            },
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
              podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
            },
          ],
          ports: [{ port: 'http', protocol: 'TCP' }],
        },
      ]);
      const auth = dep.spec.template.spec.volumes.find((v: any) => v.name === 'auth');
      expect(auth.secret).toMatchObject({ secretName: `${dep.metadata.name}-auth`, items: [{ key: 'secret', path: 'secret' }] });
      expect(auth.secret.optional).toBeUndefined();
      const c = dep.spec.template.spec.containers[0];
      expect(c.volumeMounts).toContainEqual({ name: 'auth', mountPath: '/etc/plexichat-auth', readOnly: true });
    }
    for (const [f, text] of files) {
      if (f.startsWith('src/') || f.startsWith('config/') || f.startsWith('tests/')) continue;
      expect(text, f).not.toMatch(/^kind: Secret$/m);
      expect(text, f).not.toMatch(/stringData|secretKeyRef/);
    }
    expect(files.get('helm/deploy-probe/templates/networkpolicy.yaml')).toContain('kind: NetworkPolicy');
  });

  it('values.yaml defaults to staging (the least): a release installed without -f is not production', () => {
    const values = yamlObjects(files.get('helm/deploy-probe/values.yaml')!)[0];
    expect(values).toMatchObject({ environment: 'staging', replicaCount: 1 });
    expect(yamlObjects(files.get('helm/deploy-probe/values-production.yaml')!)[0]).toMatchObject({ environment: 'production', replicaCount: 2 });
  });

  it('--platform-namespace/-pods and --scraper-namespace/-pods set who is admitted; bad values are usage errors (exit 2, nothing written)', async () => {
    const dir = await hostileProject();
    const bad: [string[], RegExp][] = [
      [['--platform-namespace', 'Bad_NS'], /--platform-namespace Bad_NS: not a namespace name/],
      [['--scraper-namespace', ''], /--scraper-namespace : not a namespace name/],
      [['--platform-pods', 'novalue'], /--platform-pods: 'novalue' is not a label name=value pair/],
      [['--scraper-pods', 'app=a b'], /--scraper-pods: 'app=a b' is not a label/],
      [['--scraper-pods', 'app=x,'], /--scraper-pods: '' is not a label/],
    ];
    for (const [args, msg] of bad) {
      const r = await runMain(['deploy', 'render', ...args], { cwd: dir });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
    expect(await fs.readdir(dir)).not.toContain('k8s');
    const r = await runMain(
      [
        'deploy',
        'render',
        '--env',
        'staging',
        '--platform-namespace',
        'chat',
        '--platform-pods',
        'app=chat, tier=core',
        '--scraper-namespace',
        'obs',
        '--scraper-pods',
        'app.kubernetes.io/name=vmagent',
      ],
      { cwd: dir },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const np = yamlObjects(await fs.readFile(path.join(dir, 'k8s/staging-deployment.yaml'), 'utf8')).find((o) => o.kind === 'NetworkPolicy') as any;
    expect(np.spec.ingress[0].from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'chat' } }, podSelector: { matchLabels: { app: 'chat', tier: 'core' } } },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'obs' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'vmagent' } } },
    ]);
    expect(() => validateObject(np)).not.toThrow();
  });
});
