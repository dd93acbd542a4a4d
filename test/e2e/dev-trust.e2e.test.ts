/**
 * Issue 20 against `dev` and its plugin host, as an attacker would try them:
 * foreign Host names with --host 0.0.0.0 --allow-remote, plugin code reading
 * stdin (the control channel), processes that outlive a reload or a crashed
 * host, a watched folder replaced under the watcher, a --json run that fails
 * before ready, --host spellings, and a JSON null hook body.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { hasStackTrace, runCli } from '../helpers/run-cli.js';
import { LOOPBACK, REMOTE } from '../helpers/loopback-cases.js';
import { sdkPythonPath } from '../../src/python/pytest.js';
import { MANIFEST, atomicWrite, cleanupAll, counterProject, http, pluginSource, startCli, startHost, type DevEvent, type EventProcess } from './dev-fixture.js';

const run = promisify(execFile);
afterAll(cleanupAll);

type Ready = DevEvent & { url: string; port: number; pid: number };

async function startDev(dir: string, args: string[] = []): Promise<{ dev: EventProcess; ready: Ready }> {
  const dev = startCli(dir, ['dev', '--port', '0', '--json', ...args]);
  const ready = (await dev.waitFor((e) => e.event === 'ready')) as Ready;
  return { dev, ready };
}

function nextReload(dev: EventProcess, from: number): Promise<DevEvent> {
  return dev.waitFor((e) => e.event === 'reloaded' || e.event === 'reload_failed', { from });
}

const COUNT = '/api/v1/dev_counter/count';
const asReader = { 'X-PlexiChat-User': 'alice', 'X-PlexiChat-Permissions': 'message_read' };

async function version(url: string): Promise<string> {
  const r = await http(`${url}${COUNT}`, { headers: asReader });
  return r.json<{ version: string }>().version;
}

/** A request with the Host (and other) headers as given: fetch would not send a foreign Host. */
function raw(
  port: number,
  pathname: string,
  headers: Record<string, string>,
  method = 'GET',
  body?: string,
  address = '127.0.0.1',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path: pathname, method, headers }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** True while the process exists and is not a zombie. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX] /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function allEnded(pids: number[], timeoutMs = 4_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(running);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The only JSON document on stdout (JSON.parse throws on a second one). */
function oneDocument(stdout: string): { schemaVersion: number; error: { code: string; message: string; exitCode: number } } {
  return JSON.parse(stdout) as { schemaVersion: number; error: { code: string; message: string; exitCode: number } };
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // A request that meets a connection the host closed meanwhile is tried again.
  while (!(await Promise.resolve(check()).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A local address of this machine that is not loopback, when it has one. */
function externalAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

describe('class 8: the dev host refuses foreign Host names on every address', () => {
  it("dev --host 0.0.0.0 --allow-remote: only this machine's names and addresses, and --allow-host names, are answered", async () => {
    const dir = await counterProject();
    const { dev, ready } = await startDev(dir, ['--host', '0.0.0.0', '--allow-remote', '--allow-host', 'dev.example.test']);
    const p = ready.port;
    const status = async (host: string, extra: Record<string, string> = {}) => (await raw(p, '/healthz', { Host: host, ...extra })).status;
    // DNS rebinding: a page at a name the attacker controls, now resolving to this machine.
    for (const foreign of [
      `attacker.test:${p}`,
      'attacker.test',
      `localhost.attacker.test:${p}`,
      `127.0.0.1.attacker.test:${p}`,
      `evil@127.0.0.1:${p}`,
      `203.0.113.7:${p}`,
      `[2001:db8::1]:${p}`,
      `dev.example.test.evil:${p}`,
    ]) {
      const r = await raw(p, '/healthz', { Host: foreign });
      expect([foreign, r.status]).toEqual([foreign, 403]);
      expect(JSON.parse(r.body)).toMatchObject({ error: 'forbidden_host' });
      expect(JSON.parse(r.body).message).toMatch(/--allow-host NAME/);
    }
    // The endpoints, the hooks and the console's API are behind the same rule.
    expect((await raw(p, COUNT, { Host: 'attacker.test', ...asReader })).status).toBe(403);
    expect((await raw(p, '/hooks/message_sent', { Host: 'attacker.test' }, 'POST')).status).toBe(403);
    expect((await raw(p, '/__dev/api/info', { Host: 'attacker.test' })).status).toBe(403);
    // This machine: loopback in any spelling, its host name, its own addresses, and the names the user listed.
    for (const own of [
      `127.0.0.1:${p}`,
      `localhost:${p}`,
      `LOCALHOST:${p}`,
      `[::1]:${p}`,
      '127.0.0.2',
      `${os.hostname()}:${p}`,
      `dev.example.test:${p}`,
      'DEV.EXAMPLE.TEST',
    ]) {
      expect([own, await status(own)]).toEqual([own, 200]);
    }
    const ext = externalAddress();
    if (ext) expect(await status(`${ext}:${p}`)).toBe(200);
    // A same-origin browser request from an allowed name passes; a cross-site one does not.
    expect(await status(`dev.example.test:${p}`, { Origin: `http://dev.example.test:${p}` })).toBe(200);
    expect(await status(`dev.example.test:${p}`, { Origin: 'http://attacker.test' })).toBe(403);
    expect(await status(`127.0.0.1:${p}`, { Origin: 'null' })).toBe(403);
    expect(dev.stderr).toMatch(/no authentication/);
    expect((await dev.stop('SIGINT')).code).toBe(0);
  });

  it('the host run by hand: the same rule with the console on; a container (--no-console, no --allow-host) is reached by its Service names', async () => {
    const dir = await counterProject();
    const hostPort = async (args: string[]) => {
      const h = startHost(dir, args);
      const r = (await h.waitFor((e) => e.event === 'ready')) as Ready;
      return { h, p: r.port };
    };
    const consoleOn = await hostPort(['--host', '0.0.0.0', '--allow-remote']);
    expect((await raw(consoleOn.p, '/healthz', { Host: 'attacker.test' })).status).toBe(403);
    expect((await raw(consoleOn.p, '/healthz', { Host: `localhost:${consoleOn.p}` })).status).toBe(200);
    await consoleOn.h.stop();
    const listed = await hostPort(['--host', '0.0.0.0', '--allow-remote', '--no-console', '--allow-host', 'plugin.ns.svc']);
    expect((await raw(listed.p, '/healthz', { Host: 'attacker.test' })).status).toBe(403);
    expect((await raw(listed.p, '/healthz', { Host: 'plugin.ns.svc:8080' })).status).toBe(200);
    await listed.h.stop();
    const container = await hostPort(['--host', '0.0.0.0', '--allow-remote', '--no-console']);
    expect((await raw(container.p, '/healthz', { Host: 'plugin.ns.svc.cluster.local:8080' })).status).toBe(200);
    await container.h.stop();
    const v6 = await hostPort(['--host', '::', '--allow-remote']);
    expect((await raw(v6.p, '/healthz', { Host: 'attacker.test' })).status).toBe(403);
    expect((await raw(v6.p, '/healthz', { Host: `[::1]:${v6.p}` }, 'GET', undefined, '::1')).status).toBe(200);
    await v6.h.stop();
    const loop = await hostPort(['--host', 'LOCALHOST', '--no-console']);
    expect((await raw(loop.p, '/healthz', { Host: 'attacker.test' })).status).toBe(403);
    expect((await raw(loop.p, '/healthz', { Host: `localhost:${loop.p}` })).status).toBe(200);
    await loop.h.stop();
  });

  it('refuses an --allow-host that is not a host name (exit 2, nothing started)', async () => {
    const dir = await counterProject();
    for (const bad of ['http://x.test', 'x.test:80', 'a b', '']) {
      const r = await runCli(['dev', '--allow-host', bad, '--json'], { cwd: dir });
      expect([bad, r.exitCode]).toEqual([bad, 2]);
      expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'USAGE', exitCode: 2 } });
      expect(JSON.parse(r.stdout).error.message).toMatch(/--allow-host .* is not a host name/);
    }
  });
});

/** A plugin that reads stdin every way it can, and records what its children hold. */
const STDIN_PLUGIN = `import json
import os
import subprocess
import sys

from plexichat_plugin_sdk import Plugin, endpoint

VERSION = "v1"


def links():
    out = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            out[fd] = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            pass
    return out


CHILD = "import json, os, sys; d = sys.stdin.read(); fds = {}\\nfor f in os.listdir('/proc/self/fd'):\\n    try: fds[f] = os.readlink('/proc/self/fd/' + f)\\n    except OSError: pass\\nprint(json.dumps({'read': d, 'fds': fds}))"


class StdinPlugin(Plugin):
    def on_load(self):
        report = {"version": VERSION}
        report["stdin_read"] = sys.stdin.read()
        report["fd0_read"] = os.read(0, 65536).decode("utf-8", "replace")
        report["fd0"] = os.readlink("/proc/self/fd/0")
        mine = links()
        # The host's Unix sockets besides stdout/stderr and its event stream: the control channel
        # (the HTTP server's sockets, which a fork without exec does inherit, are TCP).
        events = str(sys.stdout._bus._stream.fileno())
        with open("/proc/net/unix") as fh:
            unix = {"socket:[%s]" % line.split()[6] for line in fh.readlines()[1:] if len(line.split()) > 6}
        report["host_sockets"] = sorted({v for k, v in mine.items() if k not in ("1", "2", events) and v in unix})
        child = subprocess.run([sys.executable, "-c", CHILD], close_fds=False, stdout=subprocess.PIPE, timeout=20)
        report["exec_child"] = json.loads(child.stdout)
        report["cat"] = subprocess.run(["cat"], stdout=subprocess.PIPE, timeout=20).stdout.decode()
        report["shell"] = subprocess.run("cat; ls -l /proc/self/fd", shell=True, stdout=subprocess.PIPE, timeout=20).stdout.decode()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.write(w, json.dumps({"fds": links(), "stdin": os.read(0, 100).decode()}).encode())
            os._exit(0)
        os.close(w)
        data = b""
        while True:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)
        report["fork_child"] = json.loads(data)
        with open(os.path.join(os.getcwd(), "stdin-%s.json" % VERSION), "w") as fh:
            json.dump(report, fh)

    @endpoint("/api/v1/dev_counter/count", methods=["GET"])
    def count(self, request):
        return {"version": VERSION}
`;

describe('class 8: plugin code cannot read the control channel', () => {
  it('stdin is /dev/null (end-of-file for the plugin, cat, a shell, a forked child); no child holds the channel; reloads still work', async () => {
    const dir = await counterProject();
    await fs.writeFile(path.join(dir, 'src', 'plugin.py'), STDIN_PLUGIN);
    await fs.writeFile(path.join(dir, 'config', 'plugin.yaml'), MANIFEST.replace('  - /api/v1/dev_counter/boom\n', ''));
    const { dev, ready } = await startDev(dir);
    expect(ready).toMatchObject({ loaded: true });
    // The second version is loaded after a control command went over the channel.
    const mark = dev.events.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), STDIN_PLUGIN.replace('VERSION = "v1"', 'VERSION = "v2"'));
    expect(await nextReload(dev, mark)).toMatchObject({ event: 'reloaded' });
    expect(await version(ready.url)).toBe('v2');
    for (const v of ['v1', 'v2']) {
      const report = JSON.parse(await fs.readFile(path.join(dir, `stdin-${v}.json`), 'utf8')) as {
        stdin_read: string;
        fd0_read: string;
        fd0: string;
        host_sockets: string[];
        exec_child: { read: string; fds: Record<string, string> };
        cat: string;
        shell: string;
        fork_child: { fds: Record<string, string>; stdin: string };
      };
      expect([v, report.stdin_read, report.fd0_read, report.cat, report.exec_child.read, report.fork_child.stdin]).toEqual([v, '', '', '', '', '']);
      expect(report.fd0).toBe('/dev/null');
      expect(report.exec_child.fds['0']).toBe('/dev/null');
      expect(report.fork_child.fds['0']).toBe('/dev/null');
      // The channel is in the host (a socket besides stdout/stderr) and in none of its children.
      expect(report.host_sockets.length).toBeGreaterThan(0);
      for (const s of report.host_sockets) {
        expect(Object.values(report.exec_child.fds)).not.toContain(s);
        expect(Object.values(report.fork_child.fds)).not.toContain(s);
        expect(report.shell).not.toContain(s);
      }
      expect(report.shell).not.toMatch(/"op"|"manifest"/);
    }
    expect((await dev.stop()).code).toBe(0);
  });

  it('the host run by hand with --control stdin moves the channel off stdin too; a bad --control is refused (exit 2)', async () => {
    const dir = await counterProject();
    await fs.writeFile(path.join(dir, 'src', 'plugin.py'), STDIN_PLUGIN);
    await fs.writeFile(path.join(dir, 'config', 'plugin.yaml'), MANIFEST.replace('  - /api/v1/dev_counter/boom\n', ''));
    const env = { ...process.env, PYTHONPATH: sdkPythonPath() };
    const { spawn } = await import('node:child_process');
    const child = spawn('python3', ['-m', 'plexichat_plugin_sdk.host', '--project', dir, '--control', 'stdin', '--no-console'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stdin.write(`${JSON.stringify({ op: 'validated', event: { event: 'validated', diagnostics: [] } })}\n`);
    await until('ready', () => out.includes('"ready"'));
    const report = JSON.parse(await fs.readFile(path.join(dir, 'stdin-v1.json'), 'utf8')) as { stdin_read: string; fd0: string };
    expect(report).toMatchObject({ stdin_read: '', fd0: '/dev/null' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.stdin.end(); // the end of the channel stops the host
    expect(await exited).toBe(0);
    for (const bad of ['fd:1', 'fd:x', 'socket', 'fd:40']) {
      const r = await run('python3', ['-m', 'plexichat_plugin_sdk.host', '--project', dir, '--control', bad], { env }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect([bad, r.code]).toEqual([bad, 2]);
      expect(r.stderr).toMatch(/--control/);
    }
  });
});

/** A plugin that starts, on load, each kind of process that could outlive its version. */
const SPAWNER = `import os
import subprocess
import sys
import time

from plexichat_plugin_sdk import Plugin, endpoint

VERSION = "v1"
FAIL = False


def record(kind, pid):
    with open(os.path.join(os.getcwd(), "pids.txt"), "a") as fh:
        fh.write("%s %s %d %d\\n" % (VERSION, kind, pid, os.getpid()))


class Spawner(Plugin):
    def on_load(self):
        record("child", subprocess.Popen(["sleep", "300"]).pid)
        record("setsid", subprocess.Popen(["sleep", "301"], start_new_session=True).pid)
        stubborn = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"]
        record("stubborn", subprocess.Popen(stubborn, start_new_session=True).pid)
        pid = os.fork()
        if pid == 0:
            os.setsid()
            time.sleep(300)
            os._exit(0)
        record("forksetsid", pid)
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
        if FAIL:
            raise RuntimeError("on_load failed after starting its processes")

    @endpoint("/api/v1/dev_counter/count", methods=["GET"])
    def count(self, request):
        return {"version": VERSION}

    @endpoint("/api/v1/dev_counter/boom", methods=["GET"])
    def boom(self, request):
        if request.query.get("spawn"):
            # Started by a request, not by on_load: a child in a session of its own.
            record("requested", subprocess.Popen(["sleep", "303"], start_new_session=True).pid)
            return {"spawned": True}
        os._exit(3)
`;

function spawner(version: string, fail = false): string {
  return SPAWNER.replace('VERSION = "v1"', `VERSION = "${version}"`).replace('FAIL = False', `FAIL = ${fail ? 'True' : 'False'}`);
}

async function pidsOf(dir: string, version: string): Promise<Record<string, number>> {
  const text = await fs.readFile(path.join(dir, 'pids.txt'), 'utf8').catch(() => '');
  const out: Record<string, number> = {};
  for (const line of text.trim().split('\n')) {
    const [v, kind, pid] = line.split(' ');
    if (v === version) out[kind] = Number(pid);
  }
  return out;
}

describe('class 12: every process the plugin started ends with its version', () => {
  it("a reload ends the previous version's child, setsid child, child ignoring SIGTERM, forked setsid child, double-forked daemon and a request's child; the new version's run on", async () => {
    const dir = await counterProject();
    await fs.writeFile(path.join(dir, 'src', 'plugin.py'), spawner('v1'));
    const { dev, ready } = await startDev(dir);
    expect((await http(`${ready.url}/api/v1/dev_counter/boom?spawn=1`)).json()).toEqual({ spawned: true });
    const v1 = await pidsOf(dir, 'v1');
    expect(Object.keys(v1).sort()).toEqual(['child', 'daemon', 'forksetsid', 'requested', 'setsid', 'stubborn']);
    let mark = dev.events.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), spawner('v2'));
    expect(await nextReload(dev, mark)).toMatchObject({ event: 'reloaded' });
    expect(await allEnded(Object.values(v1))).toEqual([]);
    const v2 = await pidsOf(dir, 'v2');
    expect(Object.values(v2).filter(running)).toHaveLength(5);

    // A version that fails in on_load: what it started ends; the serving version's processes stay.
    mark = dev.events.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), spawner('v3', true));
    expect(await nextReload(dev, mark)).toMatchObject({ event: 'reload_failed', serving: { generation: 2 } });
    const v3 = await pidsOf(dir, 'v3');
    expect(Object.keys(v3)).toHaveLength(5);
    expect(await allEnded(Object.values(v3))).toEqual([]);
    expect(Object.values(v2).filter(running)).toHaveLength(5);
    expect(await version(ready.url)).toBe('v2');

    expect((await dev.stop('SIGTERM')).code).toBe(0);
    expect(await allEnded([...Object.values(v2), ready.pid])).toEqual([]);
  });

  it('a host that dies (os._exit): its daemons, reparented away from it, end before it starts again; then SIGINT ends the rest', async () => {
    const dir = await counterProject();
    await fs.writeFile(path.join(dir, 'src', 'plugin.py'), spawner('v1'));
    const { dev, ready } = await startDev(dir);
    const first = await pidsOf(dir, 'v1');
    const firstHost = ready.pid;
    const mark = dev.events.length;
    await http(`${ready.url}/api/v1/dev_counter/boom`).catch(() => undefined);
    expect(await dev.waitFor((e) => e.event === 'host_exited', { from: mark })).toMatchObject({ code: 3, restarting: true });
    const again = (await dev.waitFor((e) => e.event === 'ready', { from: mark })) as Ready;
    expect(again.pid).not.toBe(firstHost);
    expect(await allEnded([...Object.values(first), firstHost])).toEqual([]);
    const all = (await fs.readFile(path.join(dir, 'pids.txt'), 'utf8')).trim().split('\n');
    const second = all.filter((l) => l.endsWith(` ${again.pid}`)).map((l) => Number(l.split(' ')[2]));
    expect(second).toHaveLength(5);
    expect(second.filter(running)).toHaveLength(5);
    dev.child.kill('SIGINT');
    expect((await dev.exited).code).toBe(0);
    expect(await allEnded([...second, again.pid])).toEqual([]);
  });
});

async function git(cwd: string, ...args: string[]): Promise<void> {
  await run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.test', '-c', 'init.defaultBranch=main', ...args], { cwd });
}

describe('class 12: dev keeps watching when src/ or config/ is replaced', () => {
  it('src/ moved away and back, deleted and created again, config/ moved away and back: each reloads, and later saves still do', async () => {
    const dir = await counterProject('v1');
    const { dev, ready } = await startDev(dir);
    const src = path.join(dir, 'src');
    const expectServes = async (v: string) => until(`${v} serving`, async () => (await version(ready.url)) === v);

    // mv src src.bak && (edit) && mv src.bak src
    await fs.rename(src, `${src}.bak`);
    await fs.writeFile(path.join(`${src}.bak`, 'plugin.py'), pluginSource('v2'));
    await fs.rename(`${src}.bak`, src);
    await expectServes('v2');
    await atomicWrite(path.join(src, 'plugin.py'), pluginSource('v3'));
    await expectServes('v3');

    // rm -rf src, wait for the failure, create it again
    let mark = dev.events.length;
    await fs.rm(src, { recursive: true });
    expect(await nextReload(dev, mark)).toMatchObject({ event: 'reload_failed' });
    expect(await version(ready.url)).toBe('v3');
    await fs.mkdir(src);
    await fs.writeFile(path.join(src, '__init__.py'), '');
    await fs.writeFile(path.join(src, 'plugin.py'), pluginSource('v4'));
    await expectServes('v4');
    await atomicWrite(path.join(src, 'plugin.py'), pluginSource('v5'));
    await expectServes('v5');

    // A new package under the new src/ is watched too.
    await fs.mkdir(path.join(src, 'pkg'));
    await fs.writeFile(path.join(src, 'pkg', '__init__.py'), 'WHO = "pkg1"\n');
    await atomicWrite(path.join(src, 'plugin.py'), pluginSource('v6').replace('VERSION = "v6"', 'from src.pkg import WHO\nVERSION = "v6-" + WHO'));
    await expectServes('v6-pkg1');
    await atomicWrite(path.join(src, 'pkg', '__init__.py'), 'WHO = "pkg2"\n');
    await expectServes('v6-pkg2');

    // config/ moved away, changed, moved back
    const config = path.join(dir, 'config');
    await fs.rename(config, `${config}.old`);
    await fs.writeFile(path.join(`${config}.old`, 'plugin.yaml'), MANIFEST.replace('greeting: "hello"', 'greeting: "moved back"'));
    await fs.rename(`${config}.old`, config);
    await until(
      'the new greeting',
      async () => (await http(`${ready.url}${COUNT}`, { headers: asReader })).json<{ greeting: string }>().greeting === 'moved back',
    );
    mark = dev.events.length;
    await atomicWrite(path.join(config, 'plugin.yaml'), MANIFEST.replace('greeting: "hello"', 'greeting: "saved"'));
    await dev.waitFor((e) => e.event === 'reloaded' && JSON.stringify(e.changed) === '["config/plugin.yaml"]', { from: mark });
    await until(
      'the saved greeting',
      async () => (await http(`${ready.url}${COUNT}`, { headers: asReader })).json<{ greeting: string }>().greeting === 'saved',
    );
    expect((await dev.stop()).code).toBe(0);
  });

  it("git checkout of another branch (and of one without src/) and back: dev serves each branch's code", async () => {
    const dir = await counterProject('main-code');
    await git(dir, 'init', '-q');
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-qm', 'main');
    await git(dir, 'checkout', '-qb', 'feature');
    await fs.writeFile(path.join(dir, 'src', 'plugin.py'), pluginSource('feature-code'));
    await fs.writeFile(path.join(dir, 'src', 'extra.py'), 'X = 1\n');
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-qm', 'feature');
    await git(dir, 'checkout', '-qb', 'nosrc', 'main');
    await git(dir, 'rm', '-rq', 'src');
    await git(dir, 'commit', '-qm', 'no src');
    await git(dir, 'checkout', '-q', 'main');
    const { dev, ready } = await startDev(dir);
    const expectServes = async (v: string) => until(`${v} serving`, async () => (await version(ready.url)) === v);
    expect(await version(ready.url)).toBe('main-code');
    await git(dir, 'checkout', '-q', 'feature');
    await expectServes('feature-code');
    await git(dir, 'checkout', '-q', 'main');
    await expectServes('main-code');
    const mark = dev.events.length;
    await git(dir, 'checkout', '-q', 'nosrc');
    await dev.waitFor((e) => e.event === 'reload_failed', { from: mark });
    expect(await version(ready.url)).toBe('main-code');
    await git(dir, 'checkout', '-q', 'feature');
    await expectServes('feature-code');
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), pluginSource('after-checkouts'));
    await expectServes('after-checkouts');
    expect((await dev.stop()).code).toBe(0);
  });

  it('the project folder renamed: a clear message; renamed back: watching again, and a save reloads', async () => {
    const dir = await counterProject('v1');
    const { dev, ready } = await startDev(dir);
    const mark = dev.events.length;
    await fs.rename(dir, `${dir}-renamed`);
    const lost = await dev.waitFor((e) => e.event === 'log' && e.logger === 'watcher' && e.level === 'error', { from: mark });
    expect(lost.message).toContain(dir);
    expect(lost.message).toMatch(/was moved or deleted: saves are not seen .*start it in the folder's new place/);
    expect(await version(ready.url)).toBe('v1'); // the last loaded version serves on
    await fs.rename(`${dir}-renamed`, dir);
    await dev.waitFor((e) => e.event === 'log' && e.logger === 'watcher' && /is back: watching it again/.test(String(e.message)), { from: mark });
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), pluginSource('v2'));
    await until('v2 serving', async () => (await version(ready.url)) === 'v2');
    expect((await dev.stop()).code).toBe(0);
  });

  it('human output says the project folder went away', async () => {
    const dir = await counterProject('v1');
    const dev = startCli(dir, ['dev', '--port', '0']);
    await dev.waitForStderr(/watching src\/ and config\/; Ctrl-C stops/);
    await fs.rename(dir, `${dir}-gone`);
    await until('the message', () => /was moved or deleted/.test(dev.stdoutText + dev.stderr));
    await fs.rename(`${dir}-gone`, dir);
    expect((await dev.stop('SIGINT')).code).toBe(0);
    expect(hasStackTrace(dev.stderr)).toBe(false);
  });
});

describe('class 15: dev --json, --host, and null hook bodies', () => {
  it('dev --json that fails before ready prints exactly one document (port in use; a host that dies printing)', async () => {
    const dir = await counterProject();
    const { dev, ready } = await startDev(dir);
    const taken = await runCli(['dev', '--json', '--port', String(ready.port)], { cwd: dir });
    expect(taken.exitCode).toBe(1);
    expect(oneDocument(taken.stdout)).toMatchObject({ schemaVersion: 1, error: { code: 'PORT_IN_USE', exitCode: 1 } });
    await dev.stop();

    const dying = await counterProject();
    await fs.writeFile(
      path.join(dying, 'src', 'plugin.py'),
      'import logging, os, sys\nfrom plexichat_plugin_sdk import Plugin\n\nclass Dying(Plugin):\n    def on_load(self):\n        print("about to go")\n        logging.getLogger("x").warning("going")\n        sys.stdout.flush()\n        os._exit(7)\n',
    );
    const died = await runCli(['dev', '--json', '--port', '0'], { cwd: dying });
    expect(died.exitCode).toBe(1);
    expect(oneDocument(died.stdout)).toMatchObject({ schemaVersion: 1, error: { code: 'DEV_HOST_FAILED', exitCode: 1 } });
    expect(hasStackTrace(died.stderr)).toBe(false);
  });

  it('--host: one loopback rule: LOCALHOST, ::1 spelled out, [::1] and 127.0.0.2 serve, on the canonical spelling', async () => {
    const dir = await counterProject();
    for (const [given, shown, address] of [
      ['LOCALHOST', 'localhost', '127.0.0.1'],
      ['0:0:0:0:0:0:0:1', '[::1]', '::1'],
      ['[::1]', '[::1]', '::1'],
      ['127.0.0.2', '127.0.0.2', '127.0.0.2'],
    ] as const) {
      const { dev, ready } = await startDev(dir, ['--host', given, '--no-reload']);
      expect(ready.url).toBe(`http://${shown}:${ready.port}`);
      expect((await raw(ready.port, '/healthz', { Host: `${shown}:${ready.port}` }, 'GET', undefined, address)).status).toBe(200);
      expect((await raw(ready.port, '/healthz', { Host: 'attacker.test' }, 'GET', undefined, address)).status).toBe(403);
      expect((await dev.stop()).code).toBe(0);
    }
  }, 180_000);

  it('--host: a value that is neither an address nor a name exits 2 before anything starts; a remote one needs --allow-remote', async () => {
    const dir = await counterProject();
    for (const bad of ['', 'a b', '127.1', '999.1.1.1', 'http://localhost', 'localhost:8080', '[::1']) {
      const r = await runCli(['dev', '--json', '--host', bad], { cwd: dir });
      expect([bad, r.exitCode]).toEqual([bad, 2]);
      const doc = oneDocument(r.stdout);
      expect(doc.error.code).toBe('USAGE');
      expect(doc.error.message).toMatch(/is not an IP address or a host name/);
    }
    for (const bad of ['127.1', 'a b']) {
      const human = await runCli(['dev', '--host', bad], { cwd: dir });
      expect(human.exitCode).toBe(2);
      expect(human.stderr).toMatch(/^error: --host .* is not an IP address or a host name$/m);
      expect(human.stderr).not.toMatch(/usage: python3|argparse/);
    }
    const remote = await runCli(['dev', '--host', '10.0.0.1'], { cwd: dir });
    expect(remote.exitCode).toBe(2);
    expect(remote.stderr).toMatch(/--host 10\.0\.0\.1 is not a loopback address/);
  }, 180_000);

  it('the Python host applies the same loopback rule as the CLI', () => {
    const cases = [...LOOPBACK, ...REMOTE];
    const out = execFileSync(
      'python3',
      [
        '-c',
        'import json, sys; from plexichat_plugin_sdk.host_net import is_loopback; print(json.dumps([is_loopback(h) for h in json.loads(sys.argv[1])]))',
        JSON.stringify(cases),
      ],
      { env: { ...process.env, PYTHONPATH: sdkPythonPath() }, encoding: 'utf8' },
    );
    const python = JSON.parse(out) as boolean[];
    expect(cases.map((h, i) => [h, python[i]])).toEqual(cases.map((h) => [h, LOOPBACK.includes(h)]));
  });

  it('a JSON null hook body is delivered as null; only a request without a body gets the sample (or {})', async () => {
    const dir = await counterProject();
    await fs.writeFile(
      path.join(dir, 'src', 'plugin.py'),
      `${pluginSource('v1')}\n    @hook("user_login")\n    def on_login(self, data):\n        return {"got": data}\n`.replace(
        'from plexichat_plugin_sdk import Plugin, endpoint, hook',
        'from plexichat_plugin_sdk import Plugin, endpoint, hook',
      ),
    );
    await fs.writeFile(path.join(dir, 'config', 'plugin.yaml'), MANIFEST.replace('  - message_sent\n', '  - message_sent\n  - user_login\n'));
    const { dev, ready } = await startDev(dir);
    const fire = async (route: string, body?: string) => {
      const r = await http(`${ready.url}${route}`, { method: 'POST', ...(body === undefined ? {} : { body }) });
      expect(r.status).toBe(200);
      return r.json<{ results: Array<{ got: unknown }> }>().results[0].got;
    };
    expect(await fire('/__dev/hooks/user_login', 'null')).toBeNull();
    expect(await fire('/hooks/user_login', 'null')).toBeNull();
    expect(await fire('/__dev/hooks/user_login', ' null\n')).toBeNull();
    for (const v of ['0', 'false', '""', '[]', '{}']) expect(await fire('/__dev/hooks/user_login', v)).toEqual(JSON.parse(v));
    expect(await fire('/__dev/hooks/user_login')).toMatchObject({ user_id: 'user_1', ip_address: '127.0.0.1' });
    expect(await fire('/__dev/hooks/user_login', '  ')).toMatchObject({ user_id: 'user_1' });
    expect(await fire('/hooks/user_login')).toEqual({});
    expect((await dev.stop()).code).toBe(0);
  });
});
