#!/usr/bin/env node
// `dev` speed on the analytics template: time from start to the `ready` event,
// from a save (temp file + rename) to the `reloaded` event, and the latency of
// an endpoint over HTTP against calling the same endpoint through the harness
// in-process. Baselines measured in the same run: `node -e 0`, `python3 -c pass`,
// and the host started directly (no CLI). Interleaved runs, medians.
//   npm run build && node bench/dev.mjs [runs]
// bench/gate.mjs imports measureDev: start -> ready and save -> reloaded alone.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { BIN as bin, REPO, isMain, loadAverage, median, requireBuild, tempRoot, timeSync } from './lib.mjs';

const sdk = path.join(REPO, 'sdk/python');
const python = process.env.PLEXICHAT_PYTHON || 'python3';
const REQUESTS = 500;
const SAVES = 15;

// The project every run uses: made by setUp(), in a temp dir removed by temp.remove().
let temp;
let tmp;
let project;
let pluginFile;
let original;

/** A plugin from the analytics template in a fresh temp dir. */
function setUp() {
  temp = tempRoot('pxp-bench-dev-');
  tmp = temp.dir;
  project = path.join(tmp, 'bench_plugin');
  const init = spawnSync(process.execPath, [bin, 'init', project, '--name', 'bench_plugin', '--category', 'analytics', '--template', 'analytics', '--yes'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, CI: '1' },
  });
  if (init.status !== 0) {
    temp.remove();
    throw new Error('init failed');
  }
  pluginFile = path.join(project, 'src', 'plugin.py');
  original = fs.readFileSync(pluginFile, 'utf8');
}
const ENDPOINT = '/api/v1/bench_plugin/dashboard';

const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];
const now = () => Number(process.hrtime.bigint()) / 1e6;

const timeSpawn = (cmd, args) => timeSync(cmd, args, { env: process.env, stdio: 'ignore' }).ms;

// The processes started and not yet exited (killed when a measurement fails half-way).
const live = new Set();

/** Start a process whose stdout is NDJSON; resolves when an event matches. */
function startEvents(cmd, args, env) {
  const child = spawn(cmd, args, { cwd: project, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  live.add(child);
  child.on('exit', () => live.delete(child));
  const waiters = [];
  const events = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let e;
    try {
      e = JSON.parse(line);
    } catch {
      return;
    }
    events.push({ e, at: now() });
    for (const w of [...waiters])
      if (w.match(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve({ e, at: now() });
      }
  });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    next(match, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('timed out waiting for an event')), timeoutMs);
        waiters.push({ match, resolve: (v) => (clearTimeout(t), resolve(v)) });
      });
    },
  };
}

async function readyTime(kind, cache) {
  const t0 = now();
  const p =
    kind === 'dev'
      ? startEvents(process.execPath, [bin, 'dev', '--port', '0', '--json'], { NO_COLOR: '1', PLEXICHAT_CACHE_DIR: cache })
      : startEvents(python, ['-m', 'plexichat_plugin_sdk.host', '--project', project, '--no-console'], { PYTHONPATH: sdk });
  const { e, at } = await p.next((x) => x.event === 'ready');
  return { ms: at - t0, proc: p, ready: e };
}

async function stop(p) {
  const t0 = now();
  if (process.env.BENCH_DEBUG)
    p.next((x) => x.event === 'stopped').then(
      ({ at }) => console.error(`stopped after ${(at - t0).toFixed(1)} ms`),
      () => undefined,
    );
  p.child.kill('SIGINT');
  const code = await p.exited;
  if (code !== 0) throw new Error(`exit ${code} after SIGINT`);
  return now() - t0;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function get(port, p) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent, headers: { 'X-PlexiChat-User': 'user_1' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

const harness = () => `
import json, sys, time
sys.path.insert(0, ${JSON.stringify(project)})
from plexichat_plugin_sdk.testing import PluginTestHarness
from src.plugin import BenchPlugin
h = PluginTestHarness()
h.load_plugin(BenchPlugin())
perms = list(h.plugin.declared_permissions)
for _ in range(50):
    h.call_endpoint(${JSON.stringify(ENDPOINT)}, user_permissions=perms, user_id="user_1")
out = []
for _ in range(${REQUESTS}):
    t = time.perf_counter()
    r = h.call_endpoint(${JSON.stringify(ENDPOINT)}, user_permissions=perms, user_id="user_1")
    out.append((time.perf_counter() - t) * 1000)
    assert r.status_code == 200, r.status_code
print(json.dumps(out))
`;

/**
 * `n` saves of src/plugin.py (temp file + rename, 150 ms apart) in a running
 * dev session: per save, the ms from the rename to the `reloaded` event and the
 * host's own durationMs. Throws on a `reload_failed`.
 */
async function saveReloads(proc, n, tag) {
  const out = [];
  for (let s = 0; s < n; s++) {
    const text = original.replace('"total_events"', `"total_events_${tag}_${s}"`);
    const tmpFile = path.join(project, 'src', `.plugin.py.tmp-${s}`);
    fs.writeFileSync(tmpFile, text);
    const waiting = proc.next((x) => x.event === 'reloaded' || x.event === 'reload_failed');
    const t0 = now();
    fs.renameSync(tmpFile, pluginFile);
    if (process.env.BENCH_DEBUG) console.error(`save ${s}`);
    const { e, at } = await waiting;
    if (e.event !== 'reloaded') throw new Error(`reload failed: ${JSON.stringify(e.error)}`);
    out.push({ ms: at - t0, hostMs: e.durationMs });
    await new Promise((r) => setTimeout(r, 150));
  }
  return out;
}

/**
 * The gate's dev figures on the analytics template: `starts` starts to the
 * `ready` event with the scan cache off (as a first `dev` in a project), then
 * one session (scan cache warm) with `saves` saves to `reloaded`; ms each.
 */
export async function measureDev({ starts = 3, saves = 10 } = {}) {
  setUp();
  try {
    const ready = [];
    for (let i = 0; i < starts; i++) {
      const cold = await readyTime('dev', 'off');
      ready.push(cold.ms);
      await stop(cold.proc);
    }
    const cache = path.join(tmp, 'cache');
    await stop((await readyTime('dev', cache)).proc);
    const warm = await readyTime('dev', cache);
    const reloads = await saveReloads(warm.proc, saves, 'gate');
    await stop(warm.proc);
    return { ready, warmReady: warm.ms, reload: reloads.map((r) => r.ms), hostReload: reloads.map((r) => r.hostMs) };
  } finally {
    for (const child of live) child.kill('SIGKILL');
    temp.remove();
  }
}

async function main() {
  const runs = Number(process.argv[2] ?? 7);
  requireBuild();
  setUp();
  const cacheDir = path.join(tmp, 'cache');
  const rows = new Map();
  const add = (name, ms) => (rows.has(name) ? rows.get(name) : rows.set(name, []).get(name)).push(ms);
  const hostReload = [];
  let httpLatency = [];
  let harnessLatency = [];

  for (let i = 0; i < runs; i++) {
    if (process.env.BENCH_DEBUG) console.error(`run ${i + 1}/${runs}`);
    add('node -e 0', timeSpawn(process.execPath, ['-e', '0']));
    add('python3 -c pass', timeSpawn(python, ['-c', 'pass']));
    const dbg = (m) => process.env.BENCH_DEBUG && console.error(m);
    dbg('host');
    const host = await readyTime('host');
    add('host alone: start -> ready', host.ms);
    add('SIGINT -> exit: host alone', await stop(host.proc));
    dbg('dev cold');
    const cold = await readyTime('dev', 'off');
    add('dev: start -> ready (scan cache off)', cold.ms);
    add('SIGINT -> exit: dev (idle)', await stop(cold.proc));
    dbg('dev warm');
    const warm = await readyTime('dev', cacheDir);
    add('dev: start -> ready (scan cache warm)', warm.ms);
    if (i === 0) {
      // One session for the save -> reloaded and latency figures.
      const port = warm.ready.port;
      for (const r of await saveReloads(warm.proc, SAVES, i)) {
        add('dev: save -> reloaded', r.ms);
        hostReload.push(r.hostMs);
      }
      for (let r = 0; r < 50; r++) await get(port, ENDPOINT);
      for (let r = 0; r < REQUESTS; r++) {
        const t0 = now();
        await get(port, ENDPOINT);
        httpLatency.push(now() - t0);
      }
      fs.writeFileSync(pluginFile, original);
    }
    add(i === 0 ? 'SIGINT -> exit: dev (after the saves)' : 'SIGINT -> exit: dev (idle)', await stop(warm.proc));
  }
  const h = spawnSync(python, ['-c', harness()], { cwd: project, env: { ...process.env, PYTHONPATH: sdk }, encoding: 'utf8' });
  if (h.status !== 0) throw new Error(`harness run failed: ${h.stderr}`);
  harnessLatency = JSON.parse(h.stdout);
  agent.destroy();
  temp.remove();

  const pyVersion = spawnSync(python, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { encoding: 'utf8' }).stdout.trim();
  console.log(
    `dev on the analytics template; node ${process.version}, python ${pyVersion}, ${os.cpus().length} cores, load ${loadAverage()}; medians of ${runs} interleaved runs (${SAVES} saves, ${REQUESTS} requests)`,
  );
  console.log('case'.padEnd(40), 'median ms'.padStart(10));
  for (const [name, xs] of rows) console.log(name.padEnd(40), median(xs).toFixed(1).padStart(10), `  max ${Math.max(...xs).toFixed(1)}`);
  console.log('  of which the host loading the new code'.padEnd(40), median(hostReload).toFixed(1).padStart(10));
  console.log('');
  console.log('endpoint latency'.padEnd(40), 'median ms'.padStart(10), 'p95 ms'.padStart(10));
  console.log(`GET ${ENDPOINT} over HTTP (keep-alive)`.padEnd(40), median(httpLatency).toFixed(3).padStart(10), p95(httpLatency).toFixed(3).padStart(10));
  console.log('harness.call_endpoint in-process'.padEnd(40), median(harnessLatency).toFixed(3).padStart(10), p95(harnessLatency).toFixed(3).padStart(10));
}

if (isMain(import.meta.url)) await main();
