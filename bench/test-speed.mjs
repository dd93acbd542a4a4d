#!/usr/bin/env node
/**
 * `plexichat-plugin test` against a bare `python3 -m pytest -q` on a plugin
 * made from the analytics template (run after `npm run build`):
 *
 *   node bench/test-speed.mjs [--runs N] [--template analytics]
 *
 * Both run with the interpreter `test` chooses (printed), the bare pytest
 * with the bundled SDK on PYTHONPATH (what the template's conftest.py asks
 * for), exactly `python -m pytest -q` otherwise. Interleaved, one warm-up each,
 * medians of N (default 7) wall-clock runs; `node -e 0` as the floor.
 * The plugin goes to a temp dir and is removed at the end.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const BIN = path.join(repo, 'bin', 'plexichat-plugin.js');
const SDK = path.join(repo, 'sdk', 'python');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i === -1 ? dflt : args[i + 1];
};
const RUNS = Number(opt('--runs', '7'));
const TEMPLATE = opt('--template', 'analytics');
if (!fs.existsSync(path.join(repo, 'dist', 'cli', 'main.js'))) {
  console.error('run `npm run build` first');
  process.exit(1);
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pxp-bench-test-'));
const dir = path.join(root, `bench_${TEMPLATE}`);
const env = { ...process.env, NO_COLOR: '1', CI: '1', PLEXICHAT_CACHE_DIR: path.join(root, 'cache') };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function run(cmd, argv, extraEnv = {}, cwd = dir) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { cwd, env: { ...env, ...extraEnv }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return { ms, stdout: r.stdout };
}

try {
  run(process.execPath, [BIN, 'init', dir, '--name', `bench_${TEMPLATE}`, '--category', 'utility', '--template', TEMPLATE, '--yes'], {}, root);
  const chosen = JSON.parse(run(process.execPath, [BIN, '--json', 'test']).stdout).python;
  const bareEnv = { PYTHONPATH: [SDK, dir, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
  const bare = () => run(chosen.path, ['-m', 'pytest', '-q'], bareEnv).ms;
  const ours = () => run(process.execPath, [BIN, 'test']).ms;
  const node = () => run(process.execPath, ['-e', '0']).ms;
  bare();
  ours();
  const t = { node: [], bare: [], ours: [] };
  for (let i = 0; i < RUNS; i++) {
    t.node.push(node());
    t.bare.push(bare());
    t.ours.push(ours());
  }
  const b = median(t.bare);
  console.log(`template ${TEMPLATE}, python ${chosen.path} (${chosen.version}, pytest ${chosen.pytest}), medians of ${RUNS}, load ${os.loadavg()[0].toFixed(2)}`);
  console.log(`node -e 0                          ${median(t.node).toFixed(0).padStart(6)} ms`);
  console.log(`python -m pytest -q (bare)         ${b.toFixed(0).padStart(6)} ms  1.00x`);
  console.log(`plexichat-plugin test              ${median(t.ours).toFixed(0).padStart(6)} ms  ${(median(t.ours) / b).toFixed(2)}x`);
  console.log(`runs (ms): bare ${t.bare.map((x) => x.toFixed(0)).join(' ')} | test ${t.ours.map((x) => x.toFixed(0)).join(' ')}`);
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
