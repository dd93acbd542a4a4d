#!/usr/bin/env node
// Start-up benchmark: `--help` and `--version` against bare `node -e 0` and a
// minimal commander program, interleaved runs, medians. Usage:
//   npm run build && node bench/startup.mjs [runs]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.argv[2] ?? 30);
const bin = path.join(root, 'bin/plexichat-plugin.js');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'pxp-bench-'));
symlinkSync(path.join(root, 'node_modules'), path.join(tmp, 'node_modules'));
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
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${name} exited ${r.status}`);
    times.get(name).push(ms);
  }
}
rmSync(tmp, { recursive: true, force: true });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const base = median(times.get('node -e 0'));
console.log(`start-up, median of ${runs} interleaved runs (node ${process.version}, ${os.cpus().length} cores)`);
console.log('case'.padEnd(32), 'median ms'.padStart(10), 'vs node -e 0'.padStart(14));
for (const [name] of cases) {
  const m = median(times.get(name));
  console.log(name.padEnd(32), m.toFixed(1).padStart(10), `${(m / base).toFixed(2)}x`.padStart(14));
}
