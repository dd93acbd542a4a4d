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
 * The plugin goes to a temp dir and is removed at the end. bench/gate.mjs
 * imports measureTestVsPytest (the same runs, in alternating pairs), and
 * bench/check.mjs the project set-up.
 */
import path from 'node:path';
import { BIN, REPO, benchEnv, cliArgs, interleave, isMain, loadAverage, median, nodeFloor, requireBuild, tempRoot, timeSync } from './lib.mjs';

const SDK = path.join(REPO, 'sdk', 'python');

/**
 * A plugin from `template` in a temp dir, with the scan cache in the same dir:
 * `run(cmd, argv, extraEnv, cwd)` times a run there (throws when it fails),
 * `python` is the interpreter `test` chooses ({ path, version, pytest }),
 * `bare()` one bare `python -m pytest -q` (the SDK and the plugin on
 * PYTHONPATH), `ours()` one `plexichat-plugin test`; remove() at the end.
 */
export function analyticsProject(template = 'analytics') {
  const temp = tempRoot('pxp-bench-test-');
  const root = temp.dir;
  const dir = path.join(root, `bench_${template}`);
  const env = benchEnv({ PLEXICHAT_CACHE_DIR: path.join(root, 'cache') });
  const run = (cmd, argv, extraEnv = {}, cwd = dir) => timeSync(cmd, argv, { cwd, env: { ...env, ...extraEnv } });
  try {
    run(process.execPath, [BIN, 'init', dir, '--name', `bench_${template}`, '--category', 'utility', '--template', template, '--yes'], {}, root);
    const python = JSON.parse(run(process.execPath, [BIN, '--json', 'test']).stdout).python;
    const bareEnv = { PYTHONPATH: [SDK, dir, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
    return {
      dir,
      env,
      python,
      run,
      bare: () => run(python.path, ['-m', 'pytest', '-q'], bareEnv).ms,
      ours: () => run(process.execPath, [BIN, 'test']).ms,
      remove: () => temp.remove(),
    };
  } catch (err) {
    temp.remove();
    throw err;
  }
}

/**
 * The gate's test figure: on the analytics template, `pairs` interleaved pairs
 * of bare `python -m pytest -q` and `plexichat-plugin test`, one warm-up each;
 * wall ms per run, and the interpreter used.
 */
export async function measureTestVsPytest({ pairs = 7, template = 'analytics' } = {}) {
  const p = analyticsProject(template);
  try {
    const r = await interleave(pairs, p.bare, p.ours);
    return { python: p.python, bare: r.base, test: r.ours };
  } finally {
    p.remove();
  }
}

function main() {
  const { opt } = cliArgs();
  const RUNS = Number(opt('--runs', '7'));
  const TEMPLATE = opt('--template', 'analytics');
  requireBuild();
  const p = analyticsProject(TEMPLATE);
  try {
    const { bare, ours, python: chosen } = p;
    const node = () => nodeFloor({ cwd: p.dir, env: p.env });
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
    p.remove();
  }
}

if (isMain(import.meta.url)) main();
