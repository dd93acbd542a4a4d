/**
 * The rendered entrypoint is real: the Dockerfile's ENTRYPOINT, ENV and
 * HEALTHCHECK and the Deployment's env, ConfigMap and probes, run directly
 * (no docker) on a fixture plugin with the vendored SDK. Two changes to the
 * command, both only so the test stays on this machine's loopback with a
 * free port: `--host 0.0.0.0` becomes 127.0.0.1 and `--port 8080` becomes 0.
 */
import { execa, type ResultPromise } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerfileParser } from 'dockerfile-ast';
import { requires } from '../helpers/requires.js';
import { runCli } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-project.js';
import { FIXTURES, yamlObjects } from './deploy-helpers.js';

const PYTHON = '/usr/bin/python3';

let project: string;
let host: ResultPromise | undefined;
let base: string;
let dockerfile: ReturnType<typeof DockerfileParser.parse>;
let container: any;
let configMap: any;

/** Image paths → this machine's. */
let mapPath: (p: string) => string;

function instruction(keyword: string) {
  const all = dockerfile.getInstructions().filter((i) => i.getKeyword() === keyword);
  return all[all.length - 1];
}

async function get(p: string, headers: Record<string, string> = {}) {
  const r = await fetch(`${base}${p}`, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: r.status, text: await r.text() };
}

/** The value of one sample in Prometheus text format (0 when absent). */
function sample(metrics: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of metrics.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return 0;
}

beforeAll(async () => {
  const root = await tempDir();
  project = path.join(root, 'plugin');
  await fs.cp(path.join(FIXTURES, 'plugin'), project, { recursive: true });
  const r = await runCli(['deploy', 'render'], { cwd: project });
  expect(r.exitCode, r.stderr).toBe(0);

  dockerfile = DockerfileParser.parse(await fs.readFile(path.join(project, 'Dockerfile'), 'utf8'));
  const objects = yamlObjects(await fs.readFile(path.join(project, 'k8s/production-deployment.yaml'), 'utf8')) as any[];
  configMap = objects.find((o) => o.kind === 'ConfigMap');
  const deployment = objects.find((o) => o.kind === 'Deployment');
  container = deployment.spec.template.spec.containers[0];

  // The ConfigMap, mounted as the Deployment mounts it.
  const volumes = deployment.spec.template.spec.volumes;
  const mounts: Record<string, string> = {};
  for (const m of container.volumeMounts) {
    const dir = await tempDir();
    const v = volumes.find((x: any) => x.name === m.name);
    if (v.configMap) {
      expect(v.configMap.name).toBe(configMap.metadata.name);
      for (const [k, text] of Object.entries(configMap.data)) await fs.writeFile(path.join(dir, k), text as string);
    }
    mounts[m.mountPath] = dir;
  }
  const sdkCopy = (dockerfile.getInstructions().filter((i) => i.getKeyword() === 'COPY') as any[])
    .map((c) => c.getArgumentsContent() as string)
    .find((a) => a.includes('/out/sdk/'))!;
  const sdkInImage = sdkCopy.split(/\s+/).pop()!.replace(/\/$/, '');
  const pluginInImage = instruction('WORKDIR').getArgumentsContent()!;
  // As the Dockerfile's first stage does: the vendored SDK moves out of the plugin's folder.
  const sdk = path.join(root, 'sdk');
  expect(instruction('RUN').getArgumentsContent()).toContain('mv /context/.plexichat/sdk /out/sdk');
  await fs.rename(path.join(project, '.plexichat/sdk'), sdk);
  await fs.rmdir(path.join(project, '.plexichat'));
  mapPath = (p: string) => {
    for (const [from, to] of [[pluginInImage, project], [sdkInImage, sdk], ...Object.entries(mounts)] as [string, string][]) {
      if (p === from || p.startsWith(`${from}/`)) return to + p.slice(from.length);
    }
    return p;
  };

  const env: Record<string, string> = {};
  for (const e of dockerfile.getInstructions().filter((i) => i.getKeyword() === 'ENV') as any[]) {
    for (const prop of e.getProperties()) env[prop.getName()] = mapPath(prop.getValue());
  }
  for (const e of container.env) env[e.name] = mapPath(e.value);
  expect(env.PYTHONPATH).toBe(sdk);
  expect(env.PLEXICHAT_PLUGIN_MANIFEST_JSON).toBe(path.join(mounts['/etc/plexichat'], 'manifest.json'));

  const entry: string[] = JSON.parse(instruction('ENTRYPOINT').getArgumentsContent()!);
  expect(entry[0]).toBe('python3');
  const args = entry.slice(1).map(mapPath);
  args[args.indexOf('--host') + 1] = '127.0.0.1';
  args[args.indexOf('--port') + 1] = '0';
  host = execa(PYTHON, args, {
    cwd: project,
    env: { ...env, HOME: mounts['/tmp'] },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    forceKillAfterDelay: 3000,
  });
  const lines = createInterface({ input: host.stdout! });
  const ready = await new Promise<any>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the host printed no ready line in 30 s')), 30_000);
    lines.on('line', (l) => {
      const event = JSON.parse(l);
      if (event.event !== 'ready') return;
      clearTimeout(t);
      resolve(event);
    });
    host!.catch(reject);
  });
  expect(ready, JSON.stringify(ready)).toMatchObject({ event: 'ready', loaded: true });
  base = `http://127.0.0.1:${ready.port}`;
}, 90_000);

afterAll(async () => {
  if (host) {
    host.kill('SIGTERM');
    await host;
  }
});

describe('deploy render: the generated entrypoint, run directly', () => {
  it('serves the plugin and answers the probes the Dockerfile and the Deployment use', async () => {
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
      const port = container.ports.find((p: any) => p.name === probe.httpGet.port);
      expect(String(port.containerPort)).toBe(instruction('EXPOSE').getArgumentsContent());
      const r = await get(probe.httpGet.path);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text)).toMatchObject({ status: 'ok', plugin: 'deploy_probe', version: '2.1.0' });
    }
    // The HEALTHCHECK command itself, against this host's port.
    const hc: string[] = JSON.parse(
      instruction('HEALTHCHECK')
        .getArgumentsContent()!
        .replace(/^.*?CMD\s+/, ''),
    );
    const port = new URL(base).port;
    const r = await execa(
      PYTHON,
      hc.slice(1).map((a) => a.replace(':8080/', `:${port}/`)),
      { reject: false },
    );
    expect(r.exitCode, r.stderr).toBe(0);

    // The endpoint, with the settings from the ConfigMap's manifest.
    const ok = await get('/api/v1/deploy_probe/status', { 'X-PlexiChat-User': 'u1', 'X-PlexiChat-Permissions': 'message_read' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text).greeting).toBe('from the ConfigMap');
    const denied = await get('/api/v1/deploy_probe/status', { 'X-PlexiChat-User': 'u1', 'X-PlexiChat-Permissions': '' });
    expect(denied.status).toBe(403);
    // No dev console in the container.
    expect((await get('/__dev/')).status).toBe(404);
  });

  it('scrape /metrics and see counters move, under the names the rendered alerts use', async () => {
    const before = (await get('/metrics')).text;
    const status = { endpoint: '/api/v1/deploy_probe/status' };
    const hdr = { 'X-PlexiChat-User': 'u2', 'X-PlexiChat-Permissions': 'message_read' };
    for (let i = 0; i < 3; i++) expect((await get('/api/v1/deploy_probe/status', hdr)).status).toBe(200);
    expect((await get('/api/v1/deploy_probe/fail', hdr)).status).toBe(500);
    const hook = await fetch(`${base}/hooks/message_sent`, { method: 'POST', body: '{"user_id": "u3"}', headers: { 'content-type': 'application/json' } });
    expect(hook.status).toBe(200);
    const after = (await get('/metrics')).text;

    expect(sample(after, 'plugin_api_calls_total', status) - sample(before, 'plugin_api_calls_total', status)).toBe(3);
    expect(sample(after, 'plugin_errors_total', { kind: 'endpoint' }) - sample(before, 'plugin_errors_total', { kind: 'endpoint' })).toBe(1);
    expect(sample(after, 'plugin_hook_calls_total', { hook: 'message_sent' }) - sample(before, 'plugin_hook_calls_total', { hook: 'message_sent' })).toBe(1);
    expect(sample(after, 'plugin_response_time_seconds_count', status) - sample(before, 'plugin_response_time_seconds_count', status)).toBe(3);
    expect(sample(after, 'plugin_active_users')).toBeGreaterThanOrEqual(2);

    // Every metric the rendered alert rules and the ServiceMonitor's keep-list name is one the host serves.
    const monitoring = yamlObjects(await fs.readFile(path.join(project, 'k8s/production-monitoring.yaml'), 'utf8')) as any[];
    const rule = monitoring.find((o) => o.kind === 'PrometheusRule');
    const names = new Set<string>();
    for (const r of rule.spec.groups[0].rules) for (const m of r.expr.matchAll(/\b(plugin_[a-z_]+)\b/g)) names.add(m[1]);
    const monitor = monitoring.find((o) => o.kind === 'ServiceMonitor');
    for (const n of monitor.spec.endpoints[0].metricRelabelings[0].regex.replace(/[()]/g, '').split('|')) names.add(n);
    expect([...names].sort()).toEqual(
      expect.arrayContaining(['plugin_api_calls_total', 'plugin_errors_total', 'plugin_response_time_seconds_bucket', 'plugin_active_users']),
    );
    const served = new Set(
      after
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(/[{ ]/)[0]),
    );
    for (const n of names) expect(served, n).toContain(n);
  });
  it('its alert rules (for:, compound conditions) pass promtool check rules', async (ctx) => {
    requires(ctx, 'promtool');
    const monitoring = yamlObjects(await fs.readFile(path.join(project, 'k8s/staging-monitoring.yaml'), 'utf8')) as any[];
    const rule = monitoring.find((o) => o.kind === 'PrometheusRule');
    const file = path.join(await tempDir(), 'rules.yaml');
    await fs.writeFile(file, JSON.stringify(rule.spec));
    const r = await execa('promtool', ['check', 'rules', file], { reject: false });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 4 rules found/);
    const nobody = rule.spec.groups[0].rules.find((x: any) => x.alert === 'NobodyHome');
    expect(nobody.expr).toBe(
      'plugin_active_users{plugin="deploy_probe", environment="staging"} == 0 and rate(plugin_api_calls_total{plugin="deploy_probe", environment="staging"}[10m]) > 0',
    );
    expect(rule.spec.groups[0].rules.find((x: any) => x.alert === 'HighErrorRate').for).toBe('5m');
  });
});
