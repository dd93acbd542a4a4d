#!/usr/bin/env node
/**
 * bench/wasm-tiering: what `--liftoff-only` (src/cli/wasm-tiering.ts, set by
 * the bins at process entry) buys a marketplace command. Starts a local
 * `marketplace serve` on 127.0.0.1, then runs `marketplace whoami` against it,
 * interleaved: through the bin (flag set), through a runner that calls the
 * same main() without the flag, and bare `node -e 0` as the baseline. Reports
 * the median wall time and peak RSS (GNU time %M). Never part of `npm test`.
 *
 *   npm run build && node bench/wasm-tiering.mjs [rounds]   # default 10
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'plexichat-plugin.js');
const MAIN = path.join(ROOT, 'dist', 'cli', 'main.js');
const ROUNDS = Math.max(1, Number(process.argv[2]) || 10);

try {
  await run('/usr/bin/time', ['true']);
} catch {
  console.error('GNU time (/usr/bin/time) is needed for this benchmark');
  process.exit(1);
}

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pxp-bench-wasm-'));
const server = spawn(process.execPath, [BIN, '--json', 'marketplace', 'serve', '--data-dir', dataDir], {
  stdio: ['ignore', 'pipe', 'ignore'],
});
const started = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    try {
      resolve(JSON.parse(out));
    } catch {
      /* not the whole document yet */
    }
  });
  server.once('exit', (code) => reject(new Error(`marketplace serve exited with ${code}`)));
});
const env = { ...process.env, PLEXICHAT_MARKETPLACE_URL: started.url, PLEXICHAT_TOKEN: started.tokens.developer[0] };

const runner = `import { main } from ${JSON.stringify(MAIN)}; process.exitCode = await main(['node', 'plexichat-plugin', ...process.argv.slice(1)]);`;
const cases = [
  ['node -e 0', [process.execPath, '-e', '0']],
  ['whoami, --liftoff-only (the bin)', [process.execPath, BIN, 'marketplace', 'whoami']],
  ['whoami, default tiering', [process.execPath, '--input-type=module', '-e', runner, 'marketplace', 'whoami']],
];

/** Wall ms and peak RSS KiB of one run. */
async function measure(argv) {
  const t0 = process.hrtime.bigint();
  const { stderr } = await run('/usr/bin/time', ['-f', 'RSS %M', ...argv], { env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const rss = Number(/RSS (\d+)\s*$/.exec(stderr)?.[1]);
  return { ms, rss };
}

const results = new Map(cases.map(([name]) => [name, []]));
try {
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, argv] of cases) results.get(name).push(await measure(argv));
  }
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await fs.rm(dataDir, { recursive: true, force: true });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`${ROUNDS} rounds, node ${process.version}`);
for (const [name, rs] of results) {
  const ms = median(rs.map((r) => r.ms));
  const mib = median(rs.map((r) => r.rss)) / 1024;
  console.log(`${name.padEnd(36)} ${ms.toFixed(0).padStart(5)} ms  ${mib.toFixed(1).padStart(6)} MiB peak RSS`);
}
