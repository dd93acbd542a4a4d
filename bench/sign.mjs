#!/usr/bin/env node
// What signing costs: `build --no-sign` against `build --sign`, `verify` against `verify --key`,
// and `keys generate`, on a generated plugin with a <MB>-MiB incompressible payload, with
// `node -e 0` and `sha256sum` of the archive as baselines. Interleaved runs, medians. Usage:
//   npm run build && node bench/sign.mjs [runs] [MB]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN as bin, benchEnv, loadAverage, median, requireBuild, tempRoot } from './lib.mjs';

const runs = Number(process.argv[2] ?? 5);
const mb = Number(process.argv[3] ?? 64);
requireBuild();

const temp = tempRoot('pxp-bench-sign-');
const tmp = temp.dir;
const home = path.join(tmp, 'home');
const proj = path.join(tmp, 'bench_plugin');
mkdirSync(path.join(proj, 'config'), { recursive: true });
mkdirSync(path.join(proj, 'src'), { recursive: true });
writeFileSync(
  path.join(proj, 'config/plugin.yaml'),
  'plugin:\n  name: bench_plugin\n  version: "1.0.0"\n  author: Bench\n  description: Signing benchmark\nmetadata:\n  category: utility\n  license: MIT\n',
);
writeFileSync(path.join(proj, 'src/__init__.py'), '');
writeFileSync(path.join(proj, 'src/plugin.py'), 'from plexichat_plugin_sdk import Plugin\n\n\nclass BenchPlugin(Plugin):\n    pass\n');
writeFileSync(path.join(proj, 'src/data.bin'), randomBytes(mb * 1024 * 1024));

const env = benchEnv({ XDG_CONFIG_HOME: home, PLEXICHAT_CACHE_DIR: 'off', PLEXICHAT_SIGNING_KEY: '' });
const cli = (...args) => [process.execPath, bin, ...args];
const once = (cmd) => {
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd: proj, env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd.slice(1).join(' ')} exited ${r.status}: ${r.stderr}`);
};
once(cli('keys', 'generate'));
once(cli('build', '--sign'));
const archive = path.join(proj, 'dist/bench_plugin-1.0.0.zip');
const pub = path.join(home, 'plexichat-plugin/signing-key.pem.pub');

const cases = [
  ['node -e 0', [process.execPath, '-e', '0']],
  ['sha256sum <archive>', ['sha256sum', archive]],
  ['build --no-sign', cli('build', '--no-sign')],
  ['build --sign', cli('build', '--sign')],
  // Without a .sig (--signature names a file that does not exist): the archive checks alone.
  ['verify <archive>', cli('verify', archive, '--signature', path.join(tmp, 'none.sig'))],
  ['verify <archive> --key', cli('verify', archive, '--key', pub)],
  ['keys generate --force', cli('keys', 'generate', '--out', path.join(tmp, 'k.pem'), '--force')],
];
const times = new Map(cases.map(([name]) => [name, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, cmd] of cases) {
    const t0 = process.hrtime.bigint();
    once(cmd);
    times.get(name).push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}
temp.remove();

console.log(`signing, ${mb} MiB payload, median of ${runs} interleaved runs (node ${process.version}, ${os.cpus().length} cores, load ${loadAverage()})`);
console.log('case'.padEnd(28), 'median ms'.padStart(10));
for (const [name] of cases) console.log(name.padEnd(28), median(times.get(name)).toFixed(0).padStart(10));
