#!/usr/bin/env node
// Start-up benchmark: `--help` and `--version` against bare `node -e 0` and a
// minimal commander program, interleaved runs, medians. Usage:
//   npm run build && node bench/startup.mjs [runs]
import { writeFileSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN as bin, REPO, loadAverage, median, requireBuild, tempRoot, timeSync } from './lib.mjs';

const runs = Number(process.argv[2] ?? 30);
requireBuild();

const temp = tempRoot('pxp-bench-');
const tmp = temp.dir;
symlinkSync(path.join(REPO, 'node_modules'), path.join(tmp, 'node_modules'));
const minimal = path.join(tmp, 'minimal.mjs');
writeFileSync(minimal, "import { Command } from 'commander';\nnew Command('x').option('--json').command('a').action(() => {});\nnew Command('x').parse(['node', 'x', '--help']);\n");

const cases = [
  ['node -e 0', [process.execPath, '-e', '0']],
  ['minimal commander --help', [process.execPath, minimal, '--help']],
  ['plexichat-plugin --help', [process.execPath, bin, '--help']],
  ['plexichat-plugin --version', [process.execPath, bin, '--version']],
  ['plexichat-plugin build --help', [process.execPath, bin, 'build', '--help']],
];

const times = new Map(cases.map(([name]) => [name, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, [cmd, ...args]] of cases) {
    times.get(name).push(timeSync(cmd, args, { env: process.env, stdio: ['ignore', 'ignore', 'inherit'] }).ms);
  }
}
temp.remove();
const base = median(times.get('node -e 0'));
console.log(`start-up, median of ${runs} interleaved runs (node ${process.version}, ${os.cpus().length} cores, load ${loadAverage()})`);
console.log('case'.padEnd(32), 'median ms'.padStart(10), 'vs node -e 0'.padStart(14));
for (const [name] of cases) {
  const m = median(times.get(name));
  console.log(name.padEnd(32), m.toFixed(1).padStart(10), `${(m / base).toFixed(2)}x`.padStart(14));
}
