/**
 * The rendered entrypoint is real: the Dockerfile's ENTRYPOINT, ENV and
 * HEALTHCHECK and the Deployment's env, ConfigMap, Secret and probes, run
 * directly (no docker) on a fixture plugin with the vendored SDK. Two changes
 * to the command, both only so the test stays on this machine's loopback with
 * a free port: `--host 0.0.0.0` becomes 127.0.0.1 and `--port 8080` becomes 0.
 * The Secret the Deployment mounts gets a value made here; requests are signed
 * as docs/sdk.md ("Request signatures") says the platform signs them, by code
 * of this test (node:crypto), not the SDK's.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
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
/** The request-signing secret, as written into the Secret's mount. */
const SECRET = randomBytes(48).toString('base64');
/** The host command as rendered (paths mapped), and its environment, to start more hosts. */
let hostArgs: string[];
let hostEnv: Record<string, string>;
const extraHosts: ResultPromise[] = [];
let dockerfile: ReturnType<typeof DockerfileParser.parse>;
let container: any;
let configMap: any;

/** Image paths → this machine's. */
let mapPath: (p: string) => string;

function instruction(keyword: string) {
  const all = dockerfile.getInstructions().filter((i) => i.getKeyword() === keyword);
  return all[all.length - 1];
}

async function get(p: string, headers: Record<string, string> = {}, at = base) {
  const r = await fetch(`${at}${p}`, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: r.status, text: await r.text() };
}

interface Call {
  method?: string;
  user?: string;
  permissions?: string;
  body?: string;
  secret?: string;
  timestamp?: number;
  nonce?: string;
}

/** The platform's headers for a call (docs/sdk.md, "Request signatures"). */
function signature(target: string, c: Call): Record<string, string> {
  const timestamp = String(c.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = c.nonce ?? randomBytes(12).toString('hex');
  const canonical = [
    'PLEXICHAT-HMAC-SHA256-V1',
    (c.method ?? 'GET').toUpperCase(),
    target,
    timestamp,
    nonce,
    c.user ?? '',
    c.permissions ?? '',
    createHash('sha256')
      .update(c.body ?? '')
      .digest('hex'),
  ].join('\n');
  const headers: Record<string, string> = {
    'X-PlexiChat-Timestamp': timestamp,
    'X-PlexiChat-Nonce': nonce,
    'X-PlexiChat-Signature': `v1=${createHmac('sha256', c.secret ?? SECRET)
      .update(canonical)
      .digest('hex')}`,
  };
  if (c.user !== undefined) headers['X-PlexiChat-User'] = c.user;
  if (c.permissions !== undefined) headers['X-PlexiChat-Permissions'] = c.permissions;
  return headers;
}

/** A request: its headers as given (signed or not), the body as given. */
async function send(target: string, headers: Record<string, string>, c: Pick<Call, 'method' | 'body'> = {}, at = base) {
  const r = await fetch(`${at}${target}`, {
    method: c.method ?? 'GET',
    headers: { ...(c.body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(c.body !== undefined ? { body: c.body } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  return { status: r.status, text, json: text ? JSON.parse(text) : undefined };
}

/** A call the platform signed. */
function signed(target: string, c: Call = {}) {
  return send(target, signature(target, c), c);
}

/** Start a host (the rendered command with these changes); its ready line. */
async function startHost(args: string[], env = hostEnv): Promise<{ proc: ResultPromise; ready: any }> {
  const proc = execa(PYTHON, args, { cwd: project, env, extendEnv: false, reject: false, stdin: 'ignore', forceKillAfterDelay: 3000 });
  extraHosts.push(proc);
  const lines = createInterface({ input: proc.stdout });
  const ready = await new Promise<any>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the host printed no ready line in 30 s')), 30_000);
    lines.on('line', (l) => {
      const event = JSON.parse(l);
      if (event.event !== 'ready') return;
      clearTimeout(t);
      resolve(event);
    });
    void proc.then((r) => {
      clearTimeout(t);
      reject(new Error(`the host ended (exit ${String(r.exitCode)}): ${String(r.stderr)}`));
    });
  });
  return { proc, ready };
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
    if (v.secret) {
      // kubectl create secret generic deploy-probe-auth --from-file=secret=<file>, mounted.
      expect(v.secret.secretName).toBe(`${deployment.metadata.name}-auth`);
      for (const item of v.secret.items) await fs.writeFile(path.join(dir, item.path), `${SECRET}\n`);
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
  hostArgs = args;
  hostEnv = { ...env, HOME: mounts['/tmp'] };
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
  for (const p of [...(host ? [host] : []), ...extraHosts]) {
    p.kill('SIGTERM');
    await p;
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
    const ok = await signed('/api/v1/deploy_probe/status', { user: 'u1', permissions: 'message_read' });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.greeting).toBe('from the ConfigMap');
    const denied = await signed('/api/v1/deploy_probe/status', { user: 'u1', permissions: '' });
    expect(denied.status).toBe(403);
    // No dev console in the container (and nothing there for a caller who cannot sign).
    expect((await signed('/__dev/')).status).toBe(404);
    expect((await get('/__dev/')).status).toBe(401);
  });

  it('scrape /metrics and see counters move, under the names the rendered alerts use', async () => {
    const before = (await get('/metrics')).text;
    const status = { endpoint: '/api/v1/deploy_probe/status' };
    const hdr = { user: 'u2', permissions: 'message_read' };
    for (let i = 0; i < 3; i++) expect((await signed('/api/v1/deploy_probe/status', hdr)).status).toBe(200);
    expect((await signed('/api/v1/deploy_probe/fail', hdr)).status).toBe(500);
    const hook = await signed('/hooks/message_sent', { method: 'POST', body: '{"user_id": "u3"}' });
    expect(hook.status, hook.text).toBe(200);
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

describe('deploy render: the deployed host believes the caller only from a request the platform signed', () => {
  const WHO = '/api/v1/deploy_probe/whoami';

  it('a signed call is the signed user with exactly the signed permissions (none when the header is absent)', async () => {
    const r = await signed(WHO, { user: 'alice', permissions: 'message_read, admin' });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ user: 'alice', permissions: ['message_read', 'admin'] });
    const none = await signed(WHO, { user: 'bob' });
    expect(none.status, none.text).toBe(200);
    expect(none.json).toMatchObject({ user: 'bob', permissions: [] });
    const post = await signed(`${WHO}?x=1`, { method: 'POST', user: 'carol', permissions: 'message_read', body: '{"a": [1, 2]}' });
    expect(post.status, post.text).toBe(200);
    expect(post.json).toMatchObject({ user: 'carol', body: { a: [1, 2] } });
  });

  it('missing signature: identity headers alone get 401 from any route but /healthz and /metrics, even from loopback', async () => {
    const forged = { 'X-PlexiChat-User': 'admin', 'X-PlexiChat-Permissions': 'message_read,admin' };
    for (const [target, method, body] of [
      [WHO, 'GET', undefined],
      ['/api/v1/deploy_probe/status', 'GET', undefined],
      ['/hooks/message_sent', 'POST', '{"user_id": "x"}'],
      ['/api/v1/no/such/endpoint', 'DELETE', undefined],
    ] as const) {
      const r = await send(target, forged, { method, ...(body !== undefined ? { body } : {}) });
      expect(r.status, `${method} ${target}`).toBe(401);
      expect(r.json).toMatchObject({ error: 'unsigned' });
      expect(r.text).not.toContain('admin');
    }
    // One of the three headers missing is as unsigned.
    for (const drop of ['X-PlexiChat-Signature', 'X-PlexiChat-Timestamp', 'X-PlexiChat-Nonce']) {
      const h = signature(WHO, { user: 'alice' });
      delete h[drop];
      const r = await send(WHO, h);
      expect(r.status, drop).toBe(401);
      expect(r.json.error).toBe('unsigned');
      expect(r.json.message).toContain(drop);
    }
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/metrics')).status).toBe(200);
  });

  it('wrong secret: 401 bad_signature', async () => {
    for (const secret of [randomBytes(48).toString('base64'), SECRET.slice(0, -1), `${SECRET}\n`, '']) {
      const r = await signed(WHO, { user: 'alice', secret });
      expect(r.status).toBe(401);
      expect(r.json.error).toBe('bad_signature');
    }
  });

  it('a signed request changed in any signed part is refused: user, permissions, path, query, method, body, timestamp, nonce', async () => {
    const base1 = { method: 'POST', user: 'alice', permissions: 'message_read', body: '{"n": 1}' };
    const target = `${WHO}?q=1`;
    const h = () => signature(target, base1);
    const changes: [string, () => Promise<{ status: number; json: any }>][] = [
      ['user', () => send(target, { ...h(), 'X-PlexiChat-User': 'mallory' }, base1)],
      ['user removed', () => send(target, Object.fromEntries(Object.entries(h()).filter(([k]) => k !== 'X-PlexiChat-User')), base1)],
      ['permissions', () => send(target, { ...h(), 'X-PlexiChat-Permissions': 'message_read,admin' }, base1)],
      ['permissions removed', () => send(target, Object.fromEntries(Object.entries(h()).filter(([k]) => k !== 'X-PlexiChat-Permissions')), base1)],
      ['path', () => send('/api/v1/deploy_probe/status?q=1', h(), base1)],
      ['query', () => send(`${WHO}?q=2`, h(), base1)],
      ['method', () => send(target, h(), { ...base1, method: 'PUT' })],
      ['body', () => send(target, h(), { ...base1, body: '{"n": 2}' })],
      ['timestamp', () => send(target, { ...h(), 'X-PlexiChat-Timestamp': String(Math.floor(Date.now() / 1000) - 1) }, base1)],
      ['nonce', () => send(target, { ...h(), 'X-PlexiChat-Nonce': 'another-nonce' }, base1)],
    ];
    for (const [what, call] of changes) {
      const r = await call();
      expect(r.status, what).toBe(401);
      expect(r.json.error, what).toBe('bad_signature');
    }
    // Unchanged, it passes.
    const ok = await send(target, h(), base1);
    expect(ok.status).toBe(200);
  });

  it('a second X-PlexiChat-User (or Permissions, Signature) beside a signed one gets 401 duplicate_header', async () => {
    const { connect } = await import('node:net');
    const url = new URL(base);
    for (const extra of ['X-PlexiChat-User', 'X-PlexiChat-Permissions', 'X-PlexiChat-Signature', 'X-PlexiChat-Nonce']) {
      const h = signature(WHO, { user: 'alice', permissions: 'message_read' });
      // Raw HTTP: a client library would fold the two values into one line.
      const lines = [`GET ${WHO} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close', ...Object.entries(h).map(([k, v]) => `${k}: ${v}`)];
      lines.push(`${extra}: ${extra === 'X-PlexiChat-Signature' ? `v1=${'a'.repeat(64)}` : 'admin'}`);
      const text = await new Promise<string>((resolve, reject) => {
        const sock = connect(Number(url.port), url.hostname, () => sock.end(`${lines.join('\r\n')}\r\n\r\n`));
        let got = '';
        sock.on('data', (c: Buffer) => (got += c.toString()));
        sock.on('end', () => resolve(got));
        sock.on('error', reject);
      });
      const got = { status: Number(/^HTTP\/1\.[01] (\d+)/.exec(text)?.[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) };
      expect(got.status, extra).toBe(401);
      expect(JSON.parse(got.body).error, extra).toBe('duplicate_header');
    }
  });

  it('replay: the same signed request a second time gets 401 replayed (also with another body or on another connection)', async () => {
    const c = { user: 'alice', permissions: 'message_read', nonce: `replay-${Date.now()}` };
    const h = signature(WHO, c);
    const first = await send(WHO, h);
    expect(first.status, first.text).toBe(200);
    const again = await send(WHO, h);
    expect(again.status).toBe(401);
    expect(again.json.error).toBe('replayed');
    // A new signature with the used nonce (only the secret's holder could make it) is a replay too.
    const reused = await signed(WHO, { ...c, timestamp: Math.floor(Date.now() / 1000) - 5 });
    expect(reused.json.error).toBe('replayed');
    // A refused (badly signed) request does not use up a nonce.
    const fresh = `fresh-${Date.now()}`;
    expect((await signed(WHO, { user: 'alice', nonce: fresh, secret: 'wrong-secret-wrong-secret-wrong-secret' })).status).toBe(401);
    expect((await signed(WHO, { user: 'alice', nonce: fresh })).status).toBe(200);
  });

  it('stale or future timestamps outside the 300 s window get 401 stale; inside it pass', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const ts of [now - 400, now + 400, 0, now - 86_400]) {
      const r = await signed(WHO, { user: 'alice', timestamp: ts });
      expect(r.status, String(ts - now)).toBe(401);
      expect(r.json.error).toBe('stale');
    }
    for (const ts of [now - 200, now + 200]) expect((await signed(WHO, { user: 'alice', timestamp: ts })).status, String(ts - now)).toBe(200);
  });

  it('malformed signature, timestamp or nonce headers get 401', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ 'X-PlexiChat-Signature': 'v2=00' }, 'bad_signature'],
      [{ 'X-PlexiChat-Signature': `v1=${'0'.repeat(64)}` }, 'bad_signature'],
      [{ 'X-PlexiChat-Signature': 'sha256=abc' }, 'bad_signature'],
      [{ 'X-PlexiChat-Timestamp': '12.5' }, 'bad_timestamp'],
      [{ 'X-PlexiChat-Timestamp': '-5' }, 'bad_timestamp'],
      [{ 'X-PlexiChat-Nonce': 'a b' }, 'bad_nonce'],
      [{ 'X-PlexiChat-Nonce': 'x'.repeat(129) }, 'bad_nonce'],
    ];
    for (const [over, code] of cases) {
      const r = await send(WHO, { ...signature(WHO, { user: 'alice' }), ...over });
      expect(r.status, JSON.stringify(over)).toBe(401);
      expect(r.json.error, JSON.stringify(over)).toBe(code);
    }
  });

  it('the host does not start without a usable secret (exit 2, what to do); a non-loopback address needs one or --allow-remote', async () => {
    const dir = await tempDir();
    const short = path.join(dir, 'short');
    await fs.writeFile(short, 'too-short\n');
    const at = hostArgs.indexOf('--auth-secret-file') + 1;
    for (const [file, msg] of [
      [path.join(dir, 'missing'), /cannot read the request-signing secret .*missing.*create the plugin's Secret/],
      [short, /must hold 32 to 65536 bytes \(it has 9\)/],
    ] as const) {
      const args = [...hostArgs];
      args[at] = file;
      const r = await execa(PYTHON, args, { cwd: project, env: hostEnv, extendEnv: false, reject: false, stdin: 'ignore', timeout: 30_000 });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    const noSecret = hostArgs.filter((_, i) => i !== at && i !== at - 1);
    noSecret[noSecret.indexOf('--host') + 1] = '0.0.0.0';
    const r = await execa(PYTHON, noSecret, { cwd: project, env: hostEnv, extendEnv: false, reject: false, stdin: 'ignore', timeout: 30_000 });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/not a loopback address.*--auth-secret-file.*--allow-remote/);
  });

  it('dev mode (no secret, loopback): the identity headers of a loopback caller are believed, unsigned', async () => {
    const at = hostArgs.indexOf('--auth-secret-file');
    const dev = hostArgs.filter((_, i) => i !== at && i !== at + 1);
    const { ready } = await startHost(dev);
    expect(ready.host).toBe('127.0.0.1');
    const at2 = `http://127.0.0.1:${ready.port}`;
    const r = await send(WHO, { 'X-PlexiChat-User': 'dev_alice', 'X-PlexiChat-Permissions': 'message_read' }, {}, at2);
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ user: 'dev_alice', permissions: ['message_read'] });
    // No headers: the host's default caller, with the permissions the manifest declares.
    const d = await send(WHO, {}, {}, at2);
    expect(d.json).toMatchObject({ user: 'dev_user', permissions: ['message_read'] });
  });
});
