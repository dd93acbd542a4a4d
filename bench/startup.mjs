#!/usr/bin/env node
// Start-up benchmark: `--help` and `--version` against bare `node -e 0` and a
// minimal commander program, interleaved runs: median wall time, and (with GNU
// time) mean CPU time, user + system, which a loaded machine disturbs less. Usage:
//   npm run build && node bench/startup.mjs [runs]
// bench/gate.mjs imports measureHelp (`--help` against `node -e 0`, in pairs).
import { writeFileSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN as bin, GNU_TIME, REPO, interleave, isMain, loadAverage, median, requireBuild, tempRoot, timeSync } from './lib.mjs';

/** Wall ms of one run, its output discarded (as a shell script would). */
const wall = (cmd, args) => timeSync(cmd, args, { env: process.env, stdio: ['ignore', 'ignore', 'pipe'] }).ms;

/**
 * The gate's start-up figure: `pairs` interleaved pairs of `node -e 0` and
 * `plexichat-plugin --help`, one warm-up each; wall ms per run.
 */
export async function measureHelp({ pairs = 20 } = {}) {
  const r = await interleave(
    pairs,
    () => wall(process.execPath, ['-e', '0']),
    () => wall(process.execPath, [bin, '--help']),
  );
  return { node: r.base, help: r.ours };
}

function main() {
  const runs = Number(process.argv[2] ?? 30);
  requireBuild();

  const temp = tempRoot('pxp-bench-');
  const tmp = temp.dir;
  symlinkSync(path.join(REPO, 'node_modules'), path.join(tmp, 'node_modules'));
  const minimal = path.join(tmp, 'minimal.mjs');
  writeFileSync(
    minimal,
    "import { Command } from 'commander';\nnew Command('x').option('--json').command('a').action(() => {});\nnew Command('x').parse(['node', 'x', '--help']);\n",
  );

  const cases = [
    ['node -e 0', [process.execPath, '-e', '0']],
    ['minimal commander --help', [process.execPath, minimal, '--help']],
    ['plexichat-plugin --help', [process.execPath, bin, '--help']],
    ['plexichat-plugin --version', [process.execPath, bin, '--version']],
    ['plexichat-plugin build --help', [process.execPath, bin, 'build', '--help']],
  ];

  const times = new Map(cases.map(([name]) => [name, { wall: [], cpu: [] }]));
  for (let i = 0; i < runs; i++) {
    for (const [name, [cmd, ...args]] of cases) {
      const r = timeSync(cmd, args, { env: process.env, stdio: ['ignore', 'ignore', 'pipe'], rss: Boolean(GNU_TIME) });
      times.get(name).wall.push(r.ms);
      if (r.cpuMs !== undefined) times.get(name).cpu.push(r.cpuMs);
    }
  }
  temp.remove();
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const base = times.get('node -e 0');
  const baseWall = median(base.wall);
  const baseCpu = GNU_TIME ? mean(base.cpu) : NaN;
  console.log(`start-up, ${runs} interleaved runs (node ${process.version}, ${os.cpus().length} cores, load ${loadAverage()})`);
  console.log('case'.padEnd(32), 'median wall ms'.padStart(15), 'vs node -e 0'.padStart(13), 'mean CPU ms'.padStart(12), 'vs node -e 0'.padStart(13));
  for (const [name] of cases) {
    const { wall, cpu } = times.get(name);
    const w = median(wall);
    const c = GNU_TIME ? mean(cpu) : NaN;
    const cols = [w.toFixed(1).padStart(15), `${(w / baseWall).toFixed(2)}x`.padStart(13)];
    cols.push(GNU_TIME ? c.toFixed(1).padStart(12) : '-'.padStart(12), GNU_TIME ? `${(c / baseCpu).toFixed(2)}x`.padStart(13) : '-'.padStart(13));
    console.log(name.padEnd(32), ...cols);
  }
}

if (isMain(import.meta.url)) main();
