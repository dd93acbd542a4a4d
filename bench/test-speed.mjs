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
import path from 'node:path';
import { BIN, REPO, benchEnv, cliArgs, loadAverage, median, nodeFloor, requireBuild, tempRoot, timeSync } from './lib.mjs';

const SDK = path.join(REPO, 'sdk', 'python');
const { opt } = cliArgs();
const RUNS = Number(opt('--runs', '7'));
const TEMPLATE = opt('--template', 'analytics');
requireBuild();

const temp = tempRoot('pxp-bench-test-');
const root = temp.dir;
const dir = path.join(root, `bench_${TEMPLATE}`);
const env = benchEnv({ PLEXICHAT_CACHE_DIR: path.join(root, 'cache') });

const run = (cmd, argv, extraEnv = {}, cwd = dir) => timeSync(cmd, argv, { cwd, env: { ...env, ...extraEnv } });

try {
  run(process.execPath, [BIN, 'init', dir, '--name', `bench_${TEMPLATE}`, '--category', 'utility', '--template', TEMPLATE, '--yes'], {}, root);
  const chosen = JSON.parse(run(process.execPath, [BIN, '--json', 'test']).stdout).python;
  const bareEnv = { PYTHONPATH: [SDK, dir, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
  const bare = () => run(chosen.path, ['-m', 'pytest', '-q'], bareEnv).ms;
  const ours = () => run(process.execPath, [BIN, 'test']).ms;
  const node = () => nodeFloor({ cwd: dir, env });
  bare();
  ours();
  const t = { node: [], bare: [], ours: [] };
  for (let i = 0; i < RUNS; i++) {
    t.node.push(node());
    t.bare.push(bare());
    t.ours.push(ours());
  }
  const b = median(t.bare);
  console.log(`template ${TEMPLATE}, python ${chosen.path} (${chosen.version}, pytest ${chosen.pytest}), medians of ${RUNS}, load ${loadAverage()}`);
  console.log(`node -e 0                          ${median(t.node).toFixed(0).padStart(6)} ms`);
  console.log(`python -m pytest -q (bare)         ${b.toFixed(0).padStart(6)} ms  1.00x`);
  console.log(`plexichat-plugin test              ${median(t.ours).toFixed(0).padStart(6)} ms  ${(median(t.ours) / b).toFixed(2)}x`);
  // Each test run beside the bare run just before it: the machine's drift cancels out.
  const pairs = t.ours.map((x, i) => x / t.bare[i]);
  const extra = t.ours.map((x, i) => x - t.bare[i]);
  console.log(`  paired with the bare run before it: median ratio ${median(pairs).toFixed(2)}x, median extra ${median(extra).toFixed(0)} ms`);
  console.log(`runs (ms): bare ${t.bare.map((x) => x.toFixed(0)).join(' ')} | test ${t.ours.map((x) => x.toFixed(0)).join(' ')}`);
} finally {
  temp.remove();
}
