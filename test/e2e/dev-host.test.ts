/**
 * The Python plugin host started directly (`python3 -m plexichat_plugin_sdk.host`),
 * the way a container runs it: the ready line, /healthz, /metrics counted from
 * real traffic (checked with promtool), errors, loopback rules, and stopping.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { requires } from '../helpers/requires.js';
import { cleanupAll, counterProject, groupGone, http, startHost, type DevEvent } from './dev-fixture.js';

const run = promisify(execFile);
afterAll(cleanupAll);

async function ready(p: ReturnType<typeof startHost>): Promise<DevEvent & { url: string; port: number }> {
  return (await p.waitFor((e) => e.event === 'ready')) as DevEvent & { url: string; port: number };
}

/** Run promtool's linter over an exposition text. */
async function promtoolCheck(text: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
    child.stdin!.end(text);
  });
}

function sample(metrics: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of metrics.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const kv of (m[3] ?? '').match(/[a-z_]+="(?:[^"\\]|\\.)*"/g) ?? []) {
      const i = kv.indexOf('=');
      got[kv.slice(0, i)] = JSON.parse(kv.slice(i + 1)) as string;
    }
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return undefined;
}

describe('plugin host (python3 -m plexichat_plugin_sdk.host)', () => {
  it('prints one ready line, answers /healthz, serves endpoints, and counts traffic in /metrics', async (ctx) => {
    const dir = await counterProject();
    const host = startHost(dir, ['--no-console']);
    const r = await ready(host);
    expect(r.url).toBe(`http://127.0.0.1:${r.port}`);
    expect(r).toMatchObject({ loaded: true, plugin: 'dev_counter', version: '1.0.0', hooks: ['message_sent'] });
    expect(host.events[0].event).toBe('ready');

    const health = await http(`${r.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.json()).toEqual({ status: 'ok', plugin: 'dev_counter', version: '1.0.0' });

    const before = (await http(`${r.url}/metrics`)).body;
    expect(sample(before, 'plugin_loaded')).toBe(1);
    expect(sample(before, 'plugin_info', { plugin: 'dev_counter', version: '1.0.0' })).toBe(1);
    expect(sample(before, 'plugin_active_users')).toBe(0);

    // Real traffic: two users, a hook, a 403, a 500, a 404.
    expect((await http(`${r.url}/hooks/message_sent`, { method: 'POST', body: JSON.stringify({ user_id: 'u9', content: 'hi' }) })).status).toBe(200);
    const ok = await http(`${r.url}/api/v1/dev_counter/count`, { headers: { 'X-PlexiChat-User': 'alice', 'X-PlexiChat-Permissions': 'message_read' } });
    expect(ok.status).toBe(200);
    expect(ok.json()).toMatchObject({ count: 1, user: 'alice', greeting: 'hello' });
    const denied = await http(`${r.url}/api/v1/dev_counter/count`, { headers: { 'X-PlexiChat-User': 'bob', 'X-PlexiChat-Permissions': '' } });
    expect(denied.status).toBe(403);
    expect(denied.json()).toMatchObject({ error: 'forbidden', permission: 'message_read' });
    const boom = await http(`${r.url}/api/v1/dev_counter/boom`);
    expect(boom.status).toBe(500);
    expect(boom.body).not.toMatch(/Traceback|plugin\.py/);
    expect((await http(`${r.url}/api/v1/dev_counter/nothing`)).status).toBe(404);

    const after = (await http(`${r.url}/metrics`)).body;
    const ep = '/api/v1/dev_counter/count';
    expect(sample(after, 'plugin_api_calls_total', { endpoint: ep, method: 'GET', status: '200' })).toBe(1);
    expect(sample(after, 'plugin_api_calls_total', { endpoint: ep, method: 'GET', status: '403' })).toBe(1);
    expect(sample(after, 'plugin_api_calls_total', { endpoint: '/api/v1/dev_counter/boom', method: 'GET', status: '500' })).toBe(1);
    expect(sample(after, 'plugin_api_calls_total', { endpoint: 'unmatched', method: 'GET', status: '404' })).toBe(1);
    expect(sample(after, 'plugin_errors_total', { kind: 'endpoint' })).toBe(1);
    expect(sample(after, 'plugin_hook_calls_total', { hook: 'message_sent' })).toBe(1);
    // u9 (hook payload), alice, bob, and dev_user (the default caller of /boom and the 404).
    expect(sample(after, 'plugin_active_users')).toBe(4);
    expect(sample(after, 'plugin_response_time_seconds_count', { endpoint: ep })).toBe(2);
    expect(sample(after, 'plugin_response_time_seconds_bucket', { endpoint: ep, le: '+Inf' })).toBe(2);
    expect(sample(after, 'plugin_response_time_seconds_bucket', { endpoint: ep, le: '2.0' })).toBe(2);

    // The traceback of the 500 is in the log events, not in the body: the plugin's own frames, file:line and function.
    const log = await host.waitFor((e) => e.event === 'log' && String(e.message).includes('boom went the handler'));
    expect(String(log.message)).toMatch(/src\/plugin\.py:\d+ in boom[\s\S]*RuntimeError: boom went the handler/);
    const reqs = host.events.filter((e) => e.event === 'request').map((e) => [e.path, e.status, e.user]);
    expect(reqs).toContainEqual(['/api/v1/dev_counter/count', 403, 'bob']);

    expect((await http(`${r.url}/__dev/`)).status).toBe(404); // --no-console
    const stop = await host.stop('SIGTERM');
    expect(stop).toEqual({ code: 0, signal: null });
    expect(await groupGone(host.child.pid!)).toBe(true);

    // Last, as it needs a tool the machine may lack: promtool's linter accepts the exposition.
    requires(ctx, 'promtool');
    const lint = await promtoolCheck(after);
    expect(lint.out).toBe('');
    expect(lint.code).toBe(0);
  });

  it('answers 503 on /healthz when the plugin fails to load, naming file and line', async () => {
    const dir = await counterProject();
    await fs.writeFile(
      path.join(dir, 'src', 'plugin.py'),
      'from plexichat_plugin_sdk import Plugin\n\nclass Broken(Plugin):\n    def __init__(self):\n        super().__init__()\n        raise ValueError("no database configured")\n',
    );
    const host = startHost(dir, ['--no-console']);
    const failed = await host.waitFor((e) => e.event === 'reload_failed');
    expect(failed).toMatchObject({ initial: true, error: { kind: 'init', file: 'src/plugin.py', line: 6 } });
    const r = await ready(host);
    expect(r.loaded).toBe(false);
    const health = await http(`${r.url}/healthz`);
    expect(health.status).toBe(503);
    expect(health.json()).toMatchObject({ status: 'unavailable', failure: { message: 'ValueError: no database configured' } });
    const metrics = (await http(`${r.url}/metrics`)).body;
    expect(sample(metrics, 'plugin_loaded')).toBe(0);
    expect(sample(metrics, 'plugin_errors_total', { kind: 'load' })).toBe(1);
    expect((await http(`${r.url}/api/v1/dev_counter/count`)).status).toBe(503);
    expect(await host.stop('SIGINT')).toEqual({ code: 0, signal: null });
  });

  it('refuses a non-loopback --host without --allow-remote (exit 2), and warns with it', async () => {
    const dir = await counterProject();
    const refused = await run('python3', ['-m', 'plexichat_plugin_sdk.host', '--project', dir, '--host', '0.0.0.0'], {
      env: { ...process.env, PYTHONPATH: (await import('../../src/python/pytest.js')).sdkPythonPath() },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--host 0\.0\.0\.0 is not a loopback address.*--allow-remote/);

    const host = startHost(dir, ['--host', '0.0.0.0', '--allow-remote', '--no-console']);
    const r = await ready(host);
    expect(host.stderr).toMatch(/warning: listening on 0\.0\.0\.0: the plugin host has no authentication/);
    expect((await http(`http://127.0.0.1:${r.port}/healthz`)).status).toBe(200);
    expect(await host.stop()).toEqual({ code: 0, signal: null });
  });

  it('refuses cross-site browser requests and foreign Host headers on loopback', async () => {
    const dir = await counterProject();
    const host = startHost(dir);
    const r = await ready(host);
    const cross = await http(`${r.url}/__dev/hooks/message_sent`, { method: 'POST', headers: { Origin: 'http://example.test' } });
    expect(cross.status).toBe(403);
    expect(cross.json()).toMatchObject({ error: 'forbidden_origin' });
    const same = await http(`${r.url}/__dev/hooks/message_sent`, { method: 'POST', headers: { Origin: r.url } });
    expect(same.status).toBe(200);
    await host.waitFor((e) => e.event === 'hook' && e.hook === 'message_sent');
    const rebound = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: r.port, path: '/healthz', headers: { Host: `attacker.test:${r.port}` } }, (res) => {
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ error: 'forbidden_host' });
    expect(await host.stop()).toEqual({ code: 0, signal: null });
  });

  it('says when the port is taken (exit 1, a fatal event)', async () => {
    const dir = await counterProject();
    const first = startHost(dir, ['--no-console']);
    const r = await ready(first);
    const second = startHost(dir, ['--port', String(r.port), '--no-console']);
    const fatal = await second.waitFor((e) => e.event === 'fatal');
    expect(fatal).toMatchObject({ error: { code: 'PORT_IN_USE' } });
    expect((await second.exited).code).toBe(1);
    await first.stop();
  });
});

describe('hook sample payloads', () => {
  it('exist for exactly the hooks of the catalogue, and docs/dev.md lists the same ones', async () => {
    const { HOOK_NAMES } = await import('../../src/core/catalog.js');
    const { sdkPythonPath } = await import('../../src/python/pytest.js');
    const { stdout } = await run('python3', ['-c', 'import json; from plexichat_plugin_sdk.host_samples import SAMPLE_PAYLOADS as S; print(json.dumps(S))'], {
      env: { ...process.env, PYTHONPATH: sdkPythonPath() },
    });
    const samples = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(samples).sort()).toEqual([...HOOK_NAMES].sort());
    const doc = await fs.readFile(new URL('../../docs/dev.md', import.meta.url), 'utf8');
    const rows = new Map([...doc.matchAll(/^\| `([a-z_]+)` \| `(\{.*\})` \|$/gm)].map((m) => [m[1], JSON.parse(m[2]) as unknown]));
    expect(Object.fromEntries(rows)).toEqual(samples);
  });
});
