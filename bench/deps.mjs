#!/usr/bin/env node
/**
 * bench/deps: `deps lock` and `deps sync` with the real pip, offline.
 *
 *   npm run bench:deps                 # 3 rounds
 *   node bench/deps.mjs --rounds 5
 *
 * Makes a plugin that needs a small tree of real wheels (made by
 * test/helpers/wheels.py; pytest repacked from the interpreter's own
 * install) in a --find-links folder, then times, per round: `deps lock`
 * (a fresh lock: pip resolves), `deps lock` again (same resolution, the
 * file left alone), the first `deps sync` (makes .venv and installs) and
 * `deps sync` with everything installed, which must not run pip at all:
 * the goal is under 1 s. Reports the median of each. Never part of `npm test`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { BIN, REPO, cliArgs, execFileP, isMain, loadAverage, median, requireBuild, tempRoot, time } from './lib.mjs';

const WHEELS_PY = path.join(REPO, 'test', 'helpers', 'wheels.py');
const SYNC_GOAL_MS = 1000;

const MANIFEST = (packages) =>
  [
    'plugin:',
    '  name: deps_bench',
    '  version: 1.0.0',
    '  description: A plugin with dependencies',
    '  author: Bench',
    'metadata:',
    '  category: utility',
    '  license: MIT',
    'dependencies:',
    '  python: ">=3.8"',
    `  packages:\n${packages.map((p) => `    - "${p}"`).join('\n')}`,
    'permissions:',
    '  required: [message_read]',
    '',
  ].join('\n');

async function wheelhouse(python, dir) {
  await execFileP(python, [WHEELS_PY, 'repack', dir, 'pytest']);
  const make = (name, version, requires = []) => execFileP(python, [WHEELS_PY, 'make', dir, name, version, ...requires.flatMap((r) => ['--requires', r])]);
  await make('PyYAML', '6.0.9');
  for (let i = 0; i < 8; i++) await make(`lib${i}`, '1.0.0', i > 0 ? [`lib${i - 1}>=1`] : []);
  await make('app_core', '2.0.0', ['lib7>=1']);
}

async function project(root, n) {
  const dir = path.join(root, `plugin-${n}`);
  await fs.mkdir(path.join(dir, 'config'), { recursive: true });
  await fs.mkdir(path.join(dir, 'src'), { recursive: true });
  await fs.writeFile(path.join(dir, 'config', 'plugin.yaml'), MANIFEST(['app_core>=2', 'lib3']));
  await fs.writeFile(path.join(dir, 'src', 'main.py'), 'class BenchPlugin:\n    pass\n');
  return dir;
}

async function main() {
  requireBuild();
  const rounds = cliArgs().num('--rounds', 3);
  const python = process.env.PLEXICHAT_PYTHON || 'python3';
  const tmp = tempRoot('pxp-bench-deps-');
  try {
    const house = path.join(tmp.dir, 'wheels');
    await fs.mkdir(house);
    await wheelhouse(python, house);
    const index = ['--no-index', '--find-links', house];
    const t = { lock: [], relock: [], firstSync: [], sync: [], floor: [] };
    for (let r = 0; r < Number(rounds); r++) {
      const dir = await project(tmp.dir, r);
      const cli = (args) => time(process.execPath, [BIN, ...args], { cwd: dir });
      t.lock.push((await cli(['deps', 'lock', '--python', python, ...index])).ms);
      t.relock.push((await cli(['deps', 'lock', '--python', python, ...index])).ms);
      t.firstSync.push((await cli(['deps', 'sync', '--python', python, ...index])).ms);
      t.sync.push((await cli(['deps', 'sync', ...index])).ms);
      // The CLI's own start-up on this machine now, for scale (the machine may be loaded).
      t.floor.push((await cli(['--version'])).ms);
    }
    const f = (ms) => `${(median(ms) / 1000).toFixed(2)} s`;
    console.log(`deps bench: ${rounds} rounds, 11 locked packages + the dev group (pytest), load ${loadAverage()}`);
    console.log(`  deps lock (fresh)             ${f(t.lock)}`);
    console.log(`  deps lock (unchanged)         ${f(t.relock)}`);
    console.log(`  deps sync (make .venv)        ${f(t.firstSync)}`);
    console.log(`  --version (start-up floor)    ${f(t.floor)}`);
    console.log(`  deps sync (all installed)     ${f(t.sync)}  goal < ${SYNC_GOAL_MS / 1000} s: ${median(t.sync) < SYNC_GOAL_MS ? 'met' : 'NOT met'}`);
    if (median(t.sync) >= SYNC_GOAL_MS) process.exitCode = 1;
  } finally {
    tmp.remove();
  }
}

if (isMain(import.meta.url)) await main();
