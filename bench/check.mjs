#!/usr/bin/env node
// `check` against what it replaces in a CI script: the same steps as separate CLI runs
// (validate, test, build --dry-run, build into a temp dir, verify), and bare `node -e 0` and
// bare `python3 -m pytest -q` in the same project as baselines. Interleaved runs, medians. Usage:
//   npm run build && node bench/check.mjs [runs]
// bench/gate.mjs imports measureCheckVsTest: `check` against `test` alone on the analytics template.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN as bin, benchEnv, interleave, isMain, loadAverage, median, requireBuild, tempRoot } from './lib.mjs';
import { analyticsProject } from './test-speed.mjs';

/**
 * The gate's check figure: on the analytics template (the scan cache kept in
 * the project's temp dir, as a developer's would be), `pairs` interleaved pairs
 * of `plexichat-plugin test` and `plexichat-plugin check`, one warm-up each;
 * wall ms per run. `check` runs test among its steps, so this is what the
 * others cost on top.
 */
export async function measureCheckVsTest({ pairs = 5, template = 'analytics' } = {}) {
  const p = analyticsProject(template);
  try {
    const r = await interleave(pairs, p.ours, () => p.run(process.execPath, [bin, 'check']).ms);
    return { test: r.base, check: r.ours };
  } finally {
    p.remove();
  }
}

function main() {
  const runs = Number(process.argv[2] ?? 5);
  requireBuild();
  const env = benchEnv();
  delete env.PLEXICHAT_MARKETPLACE_URL;

  const temp = tempRoot('pxp-bench-check-');
  const tmp = temp.dir;
  const project = path.join(tmp, 'bench_plugin');
  const init = spawnSync(process.execPath, [bin, 'init', project, '--name', 'bench_plugin', '--category', 'utility', '--yes'], { env, stdio: 'ignore' });
  if (init.status !== 0) throw new Error('init failed');

  const cli = (...args) => [process.execPath, bin, ...args];
  const out = path.join(tmp, 'out');
  const cases = [
    ['node -e 0', [[process.execPath, '-e', '0']]],
    ['python3 -m pytest -q (bare)', [['python3', '-m', 'pytest', '-q', '-p', 'no:cacheprovider']]],
    ['check --profile pr', [cli('check')]],
    [
      'the same as 5 separate runs',
      [
        cli('validate'),
        cli('test'),
        cli('build', '--dry-run'),
        cli('build', '--out', out),
        () =>
          cli(
            'verify',
            path.join(
              out,
              readdirSync(out).find((f) => f.endsWith('.zip')),
            ),
          ),
      ],
    ],
  ];

  const times = new Map(cases.map(([name]) => [name, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, steps] of cases) {
      rmSync(out, { recursive: true, force: true });
      const t0 = process.hrtime.bigint();
      for (const step of steps) {
        const [cmd, ...args] = typeof step === 'function' ? step() : step;
        const r = spawnSync(cmd, args, { cwd: project, env, stdio: 'ignore' });
        // pytest without the SDK on the path fails to import; its time is still the bare baseline.
        if (r.status !== 0 && !name.startsWith('python3')) throw new Error(`${name}: ${args.join(' ')} exited ${r.status}`);
      }
      times.get(name).push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  temp.remove();

  const base = median(times.get('node -e 0'));
  console.log(`check on a fresh scaffold, median of ${runs} interleaved runs (node ${process.version}, ${os.cpus().length} cores, load ${loadAverage()})`);
  console.log('case'.padEnd(32), 'median ms'.padStart(10), 'vs node -e 0'.padStart(14));
  for (const [name] of cases) {
    const m = median(times.get(name));
    console.log(name.padEnd(32), m.toFixed(0).padStart(10), `${(m / base).toFixed(1)}x`.padStart(14));
  }
}

if (isMain(import.meta.url)) main();
