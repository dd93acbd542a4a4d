#!/usr/bin/env node
/**
 * bench/submit: upload a large plugin archive to the development
 * marketplace on loopback, with `plexichat-plugin marketplace submit` and
 * with `curl -F` to the same endpoint, in the same run.
 *
 *   npm run bench:submit                 # 100 MB and 300 MB, 3 rounds each
 *   node bench/submit.mjs 100 --rounds 5 # sizes in MB
 *   node bench/submit.mjs 100 --verbose  # also the CLI's own hash/upload timings
 *
 * For each size it starts a fresh `marketplace serve` (its own data dir,
 * --max-upload-mb above the size) and, for every round, makes two plugin
 * projects whose archives hold that many random bytes (valid zips with an
 * integrity listing, so the server accepts, verifies and stores both; the
 * names differ, so neither is a re-submission). It submits one archive with
 * `curl -F` and the other with `plexichat-plugin marketplace submit`,
 * alternating which goes first, and reports the median wall time and the
 * peak RSS (`/usr/bin/time` %M for curl and the CLI, VmHWM of the server
 * process over all its uploads). The CLI's time includes everything it
 * does: start-up, reading the manifest, hashing the archive for the
 * listing, and the upload. Goals (the client's are those of
 * bench/gate-figures.mjs): the CLI within 1.10x of curl and at most 100 MiB;
 * the server under 150 MiB at every size. Needs curl and GNU time (or python3
 * to read the peak RSS). Never part of `npm test`; bench/gate.mjs imports
 * measureSubmit.
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import archiver from 'archiver';
import { FIGURES } from './gate-figures.mjs';
import { BIN, REPO, RSS_PROBE, execFileP, isMain, median, requireBuild, requireGnuTime, startMarketplace, time } from './lib.mjs';

const MB = 1_000_000;
const MiB = 1024 * 1024;

/** Whether curl runs here. */
export async function haveCurl() {
  try {
    await execFileP('curl', ['--version']);
    return true;
  } catch (err) {
    return err.code !== 'ENOENT';
  }
}

const sha256 = (b) => createHash('sha256').update(b).digest('hex');

function manifest(name, version) {
  return `plugin:\n  name: ${name}\n  version: "${version}"\n  author: Bench\n  description: "Benchmark payload"\nmetadata:\n  category: utility\n  license: MIT\npermissions:\n  required: [message_read]\n  optional: []\nhooks:\n  - message_sent\n`;
}
const PLUGIN_PY =
  'from plexichat_plugin_sdk import Plugin, hook\n\n\nclass BenchPlugin(Plugin):\n    @hook("message_sent")\n    def on_message(self, event):\n        return None\n';

/** A file of `bytes` random bytes, streamed to disk while hashed. */
async function makePayload(file, bytes) {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  const chunk = Buffer.alloc(4 * MiB);
  for (let left = bytes; left > 0; left -= chunk.length) {
    const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
    randomFillSync(part);
    hash.update(part);
    if (!out.write(part)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
  return { file, bytes, sha256: hash.digest('hex') };
}

/** A plugin project whose dist/ archive holds the payload (stored, not compressed). */
async function makeProject(dir, name, version, payload, serializeIntegrity, builtBy) {
  const small = {
    'config/plugin.yaml': manifest(name, version),
    'docs/README.md': `# ${name}\n\nA benchmark plugin.\n`,
    'src/__init__.py': '',
    'src/plugin.py': PLUGIN_PY,
    'CHANGELOG.md': `# Changelog\n\n## [${version}]\n- benchmark\n`,
  };
  for (const [rel, text] of Object.entries(small)) {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), text);
  }
  // The payload is the project's own src/data.bin too (a hard link, no second copy): submit refuses an archive its sources no longer match.
  await fs.link(payload.file, path.join(dir, 'src', 'data.bin')).catch(() => fs.copyFile(payload.file, path.join(dir, 'src', 'data.bin')));
  if (builtBy) return builtBy(dir, name, version);
  const files = Object.entries(small).map(([p, t]) => ({ path: p, size: Buffer.byteLength(t), sha256: sha256(Buffer.from(t)) }));
  files.push({ path: 'src/data.bin', size: payload.bytes, sha256: payload.sha256 });
  const integrity = serializeIntegrity({ name, version }, files);

  const dist = path.join(dir, 'dist');
  await fs.mkdir(dist, { recursive: true });
  const zipPath = path.join(dist, `${name}-${version}.zip`);
  const zip = archiver('zip', { zlib: { level: 1 } });
  const zout = createWriteStream(zipPath);
  const closed = new Promise((r, j) => {
    zout.on('close', r);
    zout.on('error', j);
    zip.on('error', j);
  });
  zip.pipe(zout);
  const date = new Date('2026-01-01T00:00:00Z');
  for (const [p, t] of Object.entries(small)) zip.append(Buffer.from(t), { name: p, date, mode: 0o644 });
  zip.append(createReadStream(payload.file), { name: 'src/data.bin', date, mode: 0o644, store: true });
  zip.append(integrity, { name: 'plexichat-integrity.json', date, mode: 0o644 });
  await zip.finalize();
  await closed;
  const zh = createHash('sha256');
  let size = 0;
  for await (const c of createReadStream(zipPath)) {
    zh.update(c);
    size += c.length;
  }
  const digest = zh.digest('hex');
  await fs.writeFile(`${zipPath}.sha256`, `${digest}  ${path.basename(zipPath)}\n`);
  return { zipPath, sha256: digest, size };
}

/**
 * The CLI's project is built as a user builds it, with `plexichat-plugin build` (so submit
 * finds the build's source record, as after any build), once its files have settled (a file
 * changed within RACY_MS of a build is always read again: core/package/source-record.ts).
 */
function cliBuild(env) {
  return async (dir, name, version) => {
    await new Promise((r) => setTimeout(r, 2200));
    const r = await time(process.execPath, [BIN, 'build'], { cwd: dir, env, check: false });
    if (r.status !== 0) throw new Error(`build of ${name} failed: ${r.stderr}`);
    const zipPath = path.join(dir, 'dist', `${name}-${version}.zip`);
    const digest = (await fs.readFile(`${zipPath}.sha256`, 'utf8')).split(/\s+/)[0];
    return { zipPath, sha256: digest, size: (await fs.stat(zipPath)).size };
  };
}

/** `marketplace serve` with these tokens and upload limit. */
async function startServer(dataDir, devToken, revToken, maxMb) {
  return startMarketplace(dataDir, ['--developer-token', devToken, '--reviewer-token', revToken, '--max-upload-mb', String(maxMb)]);
}

async function peakRssKb(pid) {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/** Run a command under GNU time (or lib's stand-in): wall seconds, peak RSS (KiB), output. */
async function timed(cmd, args, opts = {}) {
  const r = await time(cmd, args, { env: process.env, ...opts, rss: true, check: false });
  if (RSS_PROBE && r.rssKiB === undefined) throw new Error(`no timing from ${cmd}: ${r.stderr}`);
  return { secs: r.ms / 1000, rssKb: r.rssKiB, stdout: r.stdout, stderr: r.stderr, code: r.status };
}

const mib = (kb) => (kb === undefined || Number.isNaN(kb) ? '- MiB' : `${(kb / 1024).toFixed(0)} MiB`);
const rate = (bytes, s) => `${(bytes / MB / s).toFixed(0)} MB/s`;

/**
 * For each size (MB), a fresh `marketplace serve` and `rounds` rounds of one
 * `curl -F` upload and one `marketplace submit`, alternating which goes first.
 * Resolves with one row per size: every run's wall seconds and peak RSS (KiB;
 * from lib's RSS_PROBE, undefined without one) on both sides, and the server's
 * VmHWM over all its uploads (medians and maxima, and curlRuns / cliRuns round
 * by round). `log` gets the progress lines.
 */
export async function measureSubmit({ sizes = [100, 300], rounds = 3, verbose = false, log = console.log } = {}) {
  requireBuild(path.join('core', 'package', 'integrity.js'));
  const { serializeIntegrity } = await import(path.join(REPO, 'dist', 'core', 'package', 'integrity.js'));
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'plexichat-bench-submit-'));
  const cliEnv = { ...process.env, XDG_CONFIG_HOME: path.join(work, 'config'), PLEXICHAT_CACHE_DIR: path.join(work, 'cache'), NO_COLOR: '1' };
  const rows = [];
  try {
    for (const sizeMb of sizes) {
      const bytes = sizeMb * MB;
      const dev = `pcx_bench_${randomBytes(8).toString('hex')}`;
      const rev = `pcx_bench_${randomBytes(8).toString('hex')}`;
      const payload = await makePayload(path.join(work, `payload_${sizeMb}.bin`), bytes);
      const server = await startServer(path.join(work, `market_${sizeMb}`), dev, rev, Math.ceil((bytes * 1.2) / MiB) + 10);
      const curlRuns = [];
      const cliRuns = [];
      try {
        log(`\n${sizeMb} MB archives, ${rounds} rounds`);
        for (let round = 1; round <= rounds; round++) {
          const curlName = `bench_curl_${sizeMb}_${round}`;
          const cliName = `bench_cli_${sizeMb}_${round}`;
          const curlDir = path.join(work, curlName);
          const cliDir = path.join(work, cliName);
          const curlArchive = await makeProject(curlDir, curlName, '1.0.0', payload, serializeIntegrity);
          const cliArchive = await makeProject(cliDir, cliName, '1.0.0', payload, serializeIntegrity, cliBuild(cliEnv));

          const viaCurl = async () => {
            // The same endpoint, the same two parts and headers as the CLI sends.
            const listingPath = path.join(curlDir, 'listing.json');
            await fs.writeFile(
              listingPath,
              JSON.stringify({
                name: curlName,
                version: '1.0.0',
                description: 'Benchmark payload',
                category: 'utility',
                archive: { file: path.basename(curlArchive.zipPath), sha256: curlArchive.sha256, size: curlArchive.size },
              }),
            );
            const r = await timed('curl', [
              '-sS',
              '-o',
              '/dev/null',
              '-w',
              '%{http_code}',
              '-H',
              `Authorization: Bearer ${dev}`,
              '-H',
              `Idempotency-Key: bench-${randomBytes(6).toString('hex')}`,
              '-H',
              `X-Content-SHA256: ${curlArchive.sha256}`,
              '-F',
              `listing=<${listingPath};type=application/json`,
              '-F',
              `archive=@${curlArchive.zipPath};type=application/zip`,
              `${server.url}/api/v1/plugins/${curlName}/submissions`,
            ]);
            if (r.stdout.trim() !== '201') throw new Error(`curl upload answered ${r.stdout} ${r.stderr}`);
            curlRuns.push(r);
            return r;
          };
          const viaCli = async () => {
            const r = await timed(process.execPath, [BIN, '--json', ...(verbose ? ['-v'] : []), 'marketplace', 'submit', '--timeout', '600'], {
              cwd: cliDir,
              env: { ...cliEnv, PLEXICHAT_MARKETPLACE_URL: server.url, PLEXICHAT_TOKEN: dev },
            });
            if (r.code !== 0) throw new Error(`marketplace submit failed: ${r.stderr}`);
            const doc = JSON.parse(r.stdout);
            if (doc.existing !== false || doc.submission?.state !== 'pending') throw new Error(`unexpected submit result ${r.stdout}`);
            cliRuns.push(r);
            if (verbose)
              for (const line of r.stderr.split('\n').filter((l) => l.startsWith('debug: listing') || l.startsWith('debug: upload'))) log(`    ${line}`);
            return r;
          };
          const [first, second] = round % 2 === 1 ? [viaCurl, viaCli] : [viaCli, viaCurl];
          await first();
          await second();
          const c = curlRuns.at(-1);
          const l = cliRuns.at(-1);
          log(
            `  round ${round}: curl -F ${c.secs.toFixed(2)} s (${rate(curlArchive.size, c.secs)}, ${mib(c.rssKb)}), ` +
              `CLI submit ${l.secs.toFixed(2)} s (${rate(cliArchive.size, l.secs)}, ${mib(l.rssKb)})`,
          );
          await fs.rm(curlDir, { recursive: true, force: true });
          await fs.rm(cliDir, { recursive: true, force: true });
        }
        const serverKb = await peakRssKb(server.child.pid);
        rows.push({
          sizeMb,
          curl: median(curlRuns.map((r) => r.secs)),
          cli: median(cliRuns.map((r) => r.secs)),
          curlKb: Math.max(...curlRuns.map((r) => r.rssKb)),
          cliKb: Math.max(...cliRuns.map((r) => r.rssKb)),
          serverKb,
          curlRuns: curlRuns.map((r) => ({ secs: r.secs, rssKb: r.rssKb })),
          cliRuns: cliRuns.map((r) => ({ secs: r.secs, rssKb: r.rssKb })),
        });
      } finally {
        await server.stop();
      }
      await fs.rm(payload.file, { force: true });
      await fs.rm(path.join(work, `market_${sizeMb}`), { recursive: true, force: true });
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  return rows;
}

async function main() {
  const argv = process.argv.slice(2).filter((a) => a !== '--verbose');
  const VERBOSE = process.argv.includes('--verbose');
  const roundsAt = argv.indexOf('--rounds');
  const ROUNDS = roundsAt === -1 ? 3 : Math.max(1, Number(argv[roundsAt + 1]) || 3);
  const sizesMb = argv
    .filter((a, i) => roundsAt === -1 || (i !== roundsAt && i !== roundsAt + 1))
    .map(Number)
    .filter((n) => n > 0);
  const SIZES = sizesMb.length ? sizesMb : [100, 300];
  requireBuild(path.join('core', 'package', 'integrity.js'));
  requireGnuTime();
  if (!(await haveCurl())) {
    console.error('curl is needed for this benchmark');
    process.exit(1);
  }
  const rows = await measureSubmit({ sizes: SIZES, rounds: ROUNDS, verbose: VERBOSE });
  console.log(`\nmedian of ${ROUNDS} rounds; peak RSS is the largest seen (server: over all its uploads)`);
  console.log('size     curl -F     CLI submit   ratio   curl RSS   CLI RSS    server RSS');
  // The client's goals are the gate's (bench/gate-figures.mjs); the server's stays 150 MiB.
  const ratioGoal = FIGURES.find((f) => f.id === 'submit.100').goal;
  const rssGoal = FIGURES.find((f) => f.id === 'submit.100.rss').goal;
  let ok = true;
  for (const r of rows) {
    const ratio = r.cli / r.curl;
    ok &&= ratio <= ratioGoal && r.cliKb / 1024 <= rssGoal && r.serverKb / 1024 < 150;
    console.log(
      `${String(r.sizeMb).padStart(4)} MB  ${r.curl.toFixed(2).padStart(6)} s   ${r.cli.toFixed(2).padStart(6)} s    ${ratio.toFixed(2).padStart(4)}x   ${mib(r.curlKb).padStart(7)}   ${mib(r.cliKb).padStart(7)}   ${mib(r.serverKb).padStart(8)}`,
    );
  }
  console.log(`\npeak RSS read with ${RSS_PROBE?.how}`);
  const goals = `CLI within ${ratioGoal}x of curl, client at most ${rssGoal} MiB, server under 150 MiB`;
  console.log(ok ? `goals met: ${goals}` : `goals NOT met: ${goals} (see above)`);
}

if (isMain(import.meta.url)) await main();
