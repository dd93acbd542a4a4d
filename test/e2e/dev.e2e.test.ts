/**
 * `plexichat-plugin dev` as a real process on a fixture plugin: real HTTP,
 * real files rewritten the way editors do, NDJSON events, signals and
 * process groups.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasStackTrace, runCli } from '../helpers/run-cli.js';
import { MANIFEST, atomicWrite, cleanupAll, counterProject, groupGone, http, pluginSource, startCli, type DevEvent, type EventProcess } from './dev-fixture.js';

afterAll(cleanupAll);

type Ready = DevEvent & { url: string; port: number };

async function startDev(dir: string, args: string[] = []): Promise<{ dev: EventProcess; ready: Ready }> {
  const dev = startCli(dir, ['dev', '--port', '0', '--json', ...args]);
  const ready = (await dev.waitFor((e) => e.event === 'ready')) as Ready;
  return { dev, ready };
}

const COUNT = '/api/v1/dev_counter/count';
const asReader = { 'X-PlexiChat-User': 'alice', 'X-PlexiChat-Permissions': 'message_read' };

async function count(url: string): Promise<{ count: number; version: string }> {
  const r = await http(`${url}${COUNT}`, { headers: asReader });
  expect(r.status).toBe(200);
  return r.json();
}

/** The next reloaded/reload_failed event after index `from`. */
function nextReload(dev: EventProcess, from: number): Promise<DevEvent> {
  return dev.waitFor((e) => e.event === 'reloaded' || e.event === 'reload_failed', { from });
}

describe('plexichat-plugin dev --json', () => {
  it('serves endpoints with identity from headers, fires hooks, and reloads on save keeping the last good version', async () => {
    const dir = await counterProject('v1');
    const { dev, ready } = await startDev(dir);
    expect(ready).toMatchObject({ loaded: true, plugin: 'dev_counter', version: '1.0.0', hooks: ['message_sent'] });
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // Every line of stdout is one JSON event.
    for (const line of dev.stdoutText.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();

    // 200 with the permission, 403 without: exactly what require_permission answers.
    expect(await count(ready.url)).toMatchObject({ count: 0, version: 'v1', user: 'alice' });
    const denied = await http(`${ready.url}${COUNT}`, { headers: { 'X-PlexiChat-User': 'bob', 'X-PlexiChat-Permissions': '' } });
    expect(denied.status).toBe(403);
    expect(denied.json()).toEqual({ error: 'forbidden', message: "permission 'message_read' is required", permission: 'message_read' });
    // Without headers: dev_user with the manifest's permissions.
    expect((await http(`${ready.url}${COUNT}`)).json()).toMatchObject({ user: 'dev_user' });

    // A hook changes state that an endpoint then shows; an empty body sends the sample payload.
    const fired = await http(`${ready.url}/__dev/hooks/message_sent`, { method: 'POST' });
    expect(fired.status).toBe(200);
    expect(fired.json()).toEqual({ hook: 'message_sent', handlers: 1, results: [1] });
    await http(`${ready.url}/__dev/hooks/message_sent`, { method: 'POST', body: JSON.stringify({ user_id: 'u2', content: 'x' }) });
    expect((await count(ready.url)).count).toBe(2);
    const hookEvent = await dev.waitFor((e) => e.event === 'hook');
    expect(hookEvent).toMatchObject({ hook: 'message_sent', status: 'ok', handlers: 1 });
    await dev.waitFor((e) => e.event === 'log' && e.message === 'counted message 1' && e.level === 'info');
    await dev.waitFor((e) => e.event === 'request' && e.status === 403 && e.user === 'bob');

    // An unknown hook is a 404 naming the near matches.
    const typo = await http(`${ready.url}/__dev/hooks/mesage_sent`, { method: 'POST' });
    expect(typo.status).toBe(404);
    expect(typo.json()).toMatchObject({ error: 'unknown_hook', near: expect.arrayContaining(['message_sent']) as unknown });
    expect(typo.json<{ message: string }>().message).toMatch(/did you mean 'message_sent'/);

    // Save through temp + rename: one reloaded event, then the new answer (state is fresh without --keep-state).
    let mark = dev.events.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), pluginSource('v2'));
    const reloaded = await nextReload(dev, mark);
    expect(reloaded).toMatchObject({ event: 'reloaded', plugin: 'dev_counter', generation: 2, changed: ['src/plugin.py'], keptState: false });
    expect(await count(ready.url)).toMatchObject({ version: 'v2', count: 0 });
    expect(dev.count('reloaded', mark)).toBe(1);

    // A syntax error keeps v2 serving and says where; the fix recovers.
    mark = dev.events.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), `${pluginSource('v3')}\n\ndef broken(:\n    pass\n`);
    const bad = await nextReload(dev, mark);
    const brokenLine = pluginSource('v3').split('\n').length + 2;
    expect(bad).toMatchObject({ event: 'reload_failed', error: { file: 'src/plugin.py', line: brokenLine }, serving: { version: '1.0.0', generation: 2 } });
    expect((await count(ready.url)).version).toBe('v2');
    expect((await http(`${ready.url}/healthz`)).status).toBe(200);
    mark = dev.events.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), pluginSource('v3'));
    expect(await nextReload(dev, mark)).toMatchObject({ event: 'reloaded' });
    expect((await count(ready.url)).version).toBe('v3');

    // An import error: the host reports the import line; v3 keeps serving.
    mark = dev.events.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), pluginSource('v4').replace('import logging\n', 'import logging\nimport no_such_module_here\n'));
    const imp = await nextReload(dev, mark);
    expect(imp).toMatchObject({ event: 'reload_failed', error: { kind: 'import', file: 'src/plugin.py', line: 2 } });
    expect(String((imp.error as { message: string }).message)).toMatch(/No module named 'no_such_module_here'/);
    expect((await count(ready.url)).version).toBe('v3');

    // The manifest made invalid: the diagnostic validate gives, the old version still serving.
    mark = dev.events.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), pluginSource('v5'));
    await nextReload(dev, mark);
    mark = dev.events.length;
    await atomicWrite(path.join(dir, 'config', 'plugin.yaml'), MANIFEST.replace('version: "1.0.0"', 'version: "1.0"'));
    const invalid = await nextReload(dev, mark);
    expect(invalid).toMatchObject({
      event: 'reload_failed',
      error: { kind: 'validation', file: 'config/plugin.yaml', line: 3 },
      changed: ['config/plugin.yaml'],
    });
    const diags = invalid.diagnostics as Array<{ code: string; file: string; line: number; severity: string }>;
    expect(diags).toContainEqual(expect.objectContaining({ code: 'INVALID_VERSION', file: 'config/plugin.yaml', line: 3, severity: 'error' }));
    expect((await count(ready.url)).version).toBe('v5');
    const validate = await runCli(['validate', '--json'], { cwd: dir });
    expect(JSON.parse(validate.stdout).errors.map((d: { code: string }) => d.code)).toEqual(diags.filter((d) => d.severity === 'error').map((d) => d.code));
    mark = dev.events.length;
    await atomicWrite(path.join(dir, 'config', 'plugin.yaml'), MANIFEST.replace('greeting: "hello"', 'greeting: "hi again"'));
    expect(await nextReload(dev, mark)).toMatchObject({ event: 'reloaded' });
    expect((await count(ready.url)) as unknown).toMatchObject({ greeting: 'hi again' });

    // 50 rapid saves: at most two reloads, and the last write is what serves.
    mark = dev.events.length;
    const file = path.join(dir, 'src', 'plugin.py');
    // Synchronous saves, as editors make them (temp file + rename): the burst stays rapid however
    // loaded the machine is (an awaited loop can be descheduled past the debounce), and no reload
    // can read a half-written file.
    for (let i = 1; i <= 50; i++) {
      writeFileSync(`${file}.tmp`, pluginSource(`burst${i}`));
      renameSync(`${file}.tmp`, file);
    }
    const deadline = Date.now() + 20_000;
    while ((await http(`${ready.url}${COUNT}`, { headers: asReader })).json<{ version: string }>().version !== 'burst50') {
      if (Date.now() > deadline)
        throw new Error(
          `burst50 never served; events: ${dev.events
            .slice(mark)
            .map((e) => e.event)
            .join(',')}`,
        );
      await nextReload(dev, dev.events.length).catch(() => undefined);
    }
    // Let a reload that is still queued arrive before counting (bounded).
    await new Promise((r) => setTimeout(r, 800));
    const reloads = dev.events.slice(mark).filter((e) => e.event === 'reloaded' || e.event === 'reload_failed');
    expect(reloads.length).toBeGreaterThanOrEqual(1);
    expect(reloads.length).toBeLessThanOrEqual(2);
    expect(reloads.every((e) => e.event === 'reloaded')).toBe(true);

    const stop = await dev.stop('SIGTERM');
    expect(stop).toEqual({ code: 0, signal: null });
    expect(dev.events.at(-1)).toMatchObject({ event: 'stopped' });
    expect(await groupGone(dev.child.pid!)).toBe(true);
  });

  it('--keep-state carries storage across a reload; without it the new version starts empty', async () => {
    const dir = await counterProject('v1');
    const { dev, ready } = await startDev(dir, ['--keep-state']);
    for (let i = 0; i < 3; i++) expect((await http(`${ready.url}/__dev/hooks/message_sent`, { method: 'POST' })).status).toBe(200);
    const mark = dev.events.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), pluginSource('v2'));
    expect(await nextReload(dev, mark)).toMatchObject({ event: 'reloaded', keptState: true });
    expect(await count(ready.url)).toMatchObject({ version: 'v2', count: 3 });
    expect((await dev.stop('SIGINT')).code).toBe(0);
  });

  it("reports validate's code cross-checks after a reload without holding it up (validated event)", async () => {
    const dir = await counterProject('v1');
    const { dev, ready } = await startDev(dir);
    const first = await dev.waitFor((e) => e.event === 'validated');
    expect(first.diagnostics).toEqual([]);
    const mark = dev.events.length;
    // An undeclared permission: validate reports an error, but the plugin runs.
    await atomicWrite(
      path.join(dir, 'src', 'plugin.py'),
      pluginSource('v2').replace('require_permission("message_read")', 'require_permission("analytics_read")'),
    );
    expect(await nextReload(dev, mark)).toMatchObject({ event: 'reloaded' });
    const validated = await dev.waitFor((e) => e.event === 'validated', { from: mark });
    expect(validated.diagnostics).toContainEqual(expect.objectContaining({ severity: 'error', code: 'UNDECLARED_PERMISSION', file: 'src/plugin.py' }));
    const r = await http(`${ready.url}${COUNT}`, { headers: { 'X-PlexiChat-Permissions': 'analytics_read' } });
    expect(r.json()).toMatchObject({ version: 'v2' });
    await dev.stop();
  });

  it('SIGINT stops dev and its Python host: exit 0, no process left in the group', async () => {
    const dir = await counterProject('v1');
    const { dev, ready } = await startDev(dir);
    const pgid = dev.child.pid!;
    const hostPid = Number(ready.pid);
    expect(hostPid).toBeGreaterThan(0);
    process.kill(hostPid, 0); // the host is alive and ours
    dev.child.kill('SIGINT'); // only the CLI gets the signal: it must stop the host itself
    expect(await dev.exited).toEqual({ code: 0, signal: null });
    expect(await groupGone(pgid)).toBe(true);
    expect(() => process.kill(hostPid, 0)).toThrow();
  });

  it('is watching by the time it prints ready: a save right after ready reloads', async () => {
    const dir = await counterProject('v1');
    const { dev, ready } = await startDev(dir);
    const mark = dev.events.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), pluginSource('v2'));
    expect(await nextReload(dev, mark)).toMatchObject({ event: 'reloaded' });
    expect((await count(ready.url)).version).toBe('v2');
    await dev.stop();
  });

  it('stops quietly when the reader of --json goes away (exit 141, no process left)', async () => {
    const dir = await counterProject('v1');
    const { dev, ready } = await startDev(dir);
    dev.child.stdout!.destroy(); // like `dev --json | head -1`
    // Traffic makes dev write events to the closed pipe.
    await http(`${ready.url}/healthz`).catch(() => undefined);
    await http(`${ready.url}${COUNT}`).catch(() => undefined);
    expect(await dev.exited).toEqual({ code: 141, signal: null });
    expect(await groupGone(dev.child.pid!)).toBe(true);
    expect(hasStackTrace(dev.stderr)).toBe(false);
    expect(dev.stderr).not.toMatch(/error:|EPIPE/);
  });

  it('the Python host does not outlive a CLI killed with SIGKILL', async () => {
    const dir = await counterProject('v1');
    const { dev, ready } = await startDev(dir);
    dev.child.kill('SIGKILL');
    await dev.exited;
    expect(await groupGone(dev.child.pid!)).toBe(true);
    await expect(http(`${ready.url}/healthz`)).rejects.toThrow();
  });
});

describe('plexichat-plugin dev (human output)', () => {
  it('prints the URL, hooks, endpoints and the caller, then one line per request and reload', async () => {
    const dir = await counterProject('v1');
    const dev = startCli(dir, ['dev', '--user', 'carol', '--permissions', 'message_read,analytics_read']);
    await dev.waitForStderr(/watching src\/ and config\/; Ctrl-C stops/);
    const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(dev.stdoutText)![1];
    expect(dev.stdoutText).toContain('dev_counter 1.0.0 on ');
    expect(dev.stdoutText).toContain(`${url}/api/v1/dev_counter/count`);
    expect(dev.stdoutText).toMatch(/hooks\s+message_sent/);
    expect(dev.stdoutText).toMatch(/caller\s+carol with message_read, analytics_read/);
    expect((await http(`${url}${COUNT}`)).json()).toMatchObject({ user: 'carol' });
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), pluginSource('v2'));
    const deadline = Date.now() + 20_000;
    while (!/reloaded dev_counter 1\.0\.0 in [\d.]+ ms after src\/plugin\.py/.test(dev.stdoutText)) {
      if (Date.now() > deadline) throw new Error(`no reloaded line:\n${dev.stdoutText}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(dev.stdoutText).toMatch(/GET \/api\/v1\/dev_counter\/count 200 [\d.]+ ms \(carol\)/);
    expect((await dev.stop('SIGINT')).code).toBe(0);
    expect(dev.stderr).toMatch(/stopped \(1 reload\)/);
    expect(hasStackTrace(dev.stderr)).toBe(false);
  });
});

describe('plexichat-plugin dev: bad input', () => {
  it('refuses a non-loopback --host without --allow-remote (exit 2)', async () => {
    const dir = await counterProject();
    const r = await runCli(['dev', '--host', '0.0.0.0'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--host 0\.0\.0\.0 is not a loopback address, and the dev host has no authentication/);
    expect(r.stderr).toMatch(/--allow-remote/);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('refuses an unknown permission with a did-you-mean (exit 2)', async () => {
    const dir = await counterProject();
    const r = await runCli(['dev', '--permissions', 'message_read,mesage_write'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown permission 'mesage_write' in --permissions \(did you mean 'message_write'\?\)/);
  });

  it('refuses a --python that does not run (exit 2)', async () => {
    const dir = await counterProject();
    const r = await runCli(['dev', '--python', path.join(dir, 'no-such-python')], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--python .*no-such-python is not a runnable Python interpreter/);
  });

  it('says so outside a plugin project (exit 1)', async () => {
    const dir = await counterProject();
    await fs.rm(path.join(dir, 'config'), { recursive: true });
    const r = await runCli(['dev'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/config\/plugin\.yaml not found in /);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('does not start on an invalid manifest, listing the diagnostics (exit 1, JSON error)', async () => {
    const dir = await counterProject();
    await fs.writeFile(path.join(dir, 'config', 'plugin.yaml'), MANIFEST.replace('name: "dev_counter"', 'name: "Dev Counter"'));
    const human = await runCli(['dev'], { cwd: dir });
    expect(human.exitCode).toBe(1);
    expect(human.stdout).toMatch(/config\/plugin\.yaml:2:\d+ error INVALID_NAME/);
    expect(human.stderr).toMatch(/config\/plugin\.yaml has 1 error; the plugin cannot be loaded/);
    const json = await runCli(['dev', '--json'], { cwd: dir });
    expect(json.exitCode).toBe(1);
    const doc = JSON.parse(json.stdout) as { error: { code: string; diagnostics: Array<{ code: string }> } };
    expect(doc.error.code).toBe('MANIFEST_INVALID');
    expect(doc.error.diagnostics.map((d) => d.code)).toEqual(['INVALID_NAME']);
  });

  it('reports a port in use (exit 1)', async () => {
    const dir = await counterProject();
    const { dev, ready } = await startDev(dir);
    const r = await runCli(['dev', '--port', String(ready.port)], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`port ${ready.port} on 127\\.0\\.0\\.1 is already in use`));
    await dev.stop();
  });
});

/** A plugin that, on load, starts each kind of process that could outlive `dev` or hold its pipes and port. */
const SPAWNING_PLUGIN = `import os
import subprocess
import sys
import time

from plexichat_plugin_sdk import Plugin, endpoint

PIDS = os.path.join(os.getcwd(), "pids.txt")


def record(kind, pid):
    with open(PIDS, "a") as fh:
        fh.write("%s %d\\n" % (kind, pid))


class SpawningPlugin(Plugin):
    def on_load(self):
        # An ordinary child in the host's process group (it holds the output pipes).
        record("child", subprocess.Popen(["sleep", "300"]).pid)
        # One that ignores SIGTERM.
        stubborn = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
        record("stubborn", stubborn.pid)
        # One in a session of its own (setsid).
        record("setsid", subprocess.Popen(["sleep", "301"], start_new_session=True).pid)
        # A fork without exec: it holds the host's listening socket, so the port.
        pid = os.fork()
        if pid == 0:
            time.sleep(300)
            os._exit(0)
        record("fork", pid)
        # A daemon: fork, setsid, fork again; the middle one exits, the grandchild is orphaned.
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.setsid()
            grandchild = os.fork()
            if grandchild == 0:
                os.execvp("sleep", ["sleep", "302"])
            os.write(w, str(grandchild).encode())
            os._exit(0)
        os.waitpid(pid, 0)
        record("daemon", int(os.read(r, 32)))

    @endpoint("/api/v1/dev_counter/count", methods=["GET"])
    def count(self, request):
        return {"count": 0}
`;

/** True while the process exists and is not a zombie. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /s.test(stat);
  } catch {
    return false;
  }
}

async function allEnded(pids: number[], timeoutMs = 3_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(running);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('dev stops whatever the plugin started', () => {
  for (const how of ['SIGINT', 'SIGTERM', 'reader gone'] as const) {
    it(`${how}: a child, a child ignoring SIGTERM, a setsid child, a fork holding the port and a double-forked daemon all end; dev exits`, async () => {
      const dir = await counterProject('v1');
      await fs.writeFile(path.join(dir, 'src', 'plugin.py'), SPAWNING_PLUGIN);
      await fs.writeFile(path.join(dir, 'config', 'plugin.yaml'), MANIFEST.replace('  - /api/v1/dev_counter/boom\n', ''));
      const { dev, ready } = await startDev(dir);
      expect(ready).toMatchObject({ loaded: true });
      const lines = (await fs.readFile(path.join(dir, 'pids.txt'), 'utf8')).trim().split('\n');
      const pids = Object.fromEntries(lines.map((l) => [l.split(' ')[0], Number(l.split(' ')[1])]));
      expect(Object.keys(pids).sort()).toEqual(['child', 'daemon', 'fork', 'setsid', 'stubborn']);
      for (const pid of Object.values(pids)) expect(running(pid)).toBe(true);

      const started = Date.now();
      if (how === 'reader gone') {
        dev.child.stdout!.destroy();
        // A call of the plugin's endpoint is a `request` event: dev's next write finds the reader gone.
        await http(`${ready.url}/api/v1/dev_counter/count`).catch(() => undefined);
      } else dev.child.kill(how);
      const exit = await dev.exited;
      const took = Date.now() - started;
      expect(exit).toEqual({ code: how === 'reader gone' ? 141 : 0, signal: null });
      expect(await allEnded([...Object.values(pids), Number(ready.pid)])).toEqual([]);
      expect(await portFree(ready.port)).toBe(true);
      // For the report, not an assertion (no timed assertions): how long dev took to end.
      console.log(`dev ended ${took} ms after ${how}`);
    });
  }

  it('a CLI killed with SIGKILL: the host ends what the plugin started when its stdin closes', async () => {
    const dir = await counterProject('v1');
    await fs.writeFile(path.join(dir, 'src', 'plugin.py'), SPAWNING_PLUGIN);
    await fs.writeFile(path.join(dir, 'config', 'plugin.yaml'), MANIFEST.replace('  - /api/v1/dev_counter/boom\n', ''));
    const { dev, ready } = await startDev(dir);
    const pids = (await fs.readFile(path.join(dir, 'pids.txt'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => Number(l.split(' ')[1]));
    dev.child.kill('SIGKILL');
    await dev.exited;
    expect(await allEnded([...pids, Number(ready.pid)], 5_000)).toEqual([]);
    expect(await portFree(ready.port)).toBe(true);
  });
});
