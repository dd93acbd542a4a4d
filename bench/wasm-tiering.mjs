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
import path from 'node:path';
import { BIN, REPO, benchEnv, median, requireBuild, requireGnuTime, startMarketplace, tempRoot, time } from './lib.mjs';

const MAIN = path.join(REPO, 'dist', 'cli', 'main.js');
const ROUNDS = Math.max(1, Number(process.argv[2]) || 10);
requireBuild();
requireGnuTime();

const data = tempRoot('pxp-bench-wasm-');
const server = await startMarketplace(data.dir);
const env = benchEnv({ PLEXICHAT_MARKETPLACE_URL: server.url, PLEXICHAT_TOKEN: server.doc.tokens.developer[0] });

const runner = `import { main } from ${JSON.stringify(MAIN)}; process.exitCode = await main(['node', 'plexichat-plugin', ...process.argv.slice(1)]);`;
const cases = [
  ['node -e 0', [process.execPath, '-e', '0']],
  ['whoami, --liftoff-only (the bin)', [process.execPath, BIN, 'marketplace', 'whoami']],
  ['whoami, default tiering', [process.execPath, '--input-type=module', '-e', runner, 'marketplace', 'whoami']],
];

/** Wall ms and peak RSS KiB of one run. */
async function measure([cmd, ...argv]) {
  const { ms, rssKiB } = await time(cmd, argv, { env, rss: true });
  return { ms, rss: rssKiB };
}

const results = new Map(cases.map(([name]) => [name, []]));
try {
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, argv] of cases) results.get(name).push(await measure(argv));
  }
} finally {
  await server.stop();
  data.remove();
}

console.log(`${ROUNDS} rounds, node ${process.version}`);
for (const [name, rs] of results) {
  const ms = median(rs.map((r) => r.ms));
  const mib = median(rs.map((r) => r.rss)) / 1024;
  console.log(`${name.padEnd(36)} ${ms.toFixed(0).padStart(5)} ms  ${mib.toFixed(1).padStart(6)} MiB peak RSS`);
}
