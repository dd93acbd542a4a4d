#!/usr/bin/env node
/**
 * bench/submit: upload a large plugin archive to the development
 * marketplace on loopback, with `plexichat-plugin marketplace submit` and
 * with `curl -F` to the same endpoint, in the same run.
 *
 *   npm run bench:submit                 # 100 MB and 300 MB
 *   node bench/submit.mjs 100            # sizes in MB
 *
 * For each size it generates two plugin projects whose archives hold that
 * many random bytes (valid zips with an integrity listing, so the server
 * accepts them), starts a fresh `marketplace serve` (its own data dir,
 * --max-upload-mb above the size), submits one archive with curl and the
 * other with the CLI, and reports wall time and peak RSS (`/usr/bin/time`
 * %M for curl and the CLI, VmHWM of the server process). Goals: the CLI
 * within 1.5x of curl; client and server under 150 MiB at every size.
 * Needs curl and GNU time. Never part of `npm test`.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import archiver from 'archiver';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'plexichat-plugin.js');
const { serializeIntegrity } = await import(path.join(ROOT, 'dist', 'core', 'package', 'integrity.js'));

const sizesMb = process.argv.slice(2).map(Number).filter((n) => n > 0);
const SIZES = sizesMb.length ? sizesMb : [100, 300];
const MB = 1_000_000;
const MiB = 1024 * 1024;

for (const tool of ['/usr/bin/time', 'curl']) {
  try {
    await run(tool === 'curl' ? 'curl' : tool, ['--version']);
  } catch (err) {
    if (err.code === 'ENOENT') {
      console.error(`${tool} is needed for this benchmark`);
      process.exit(1);
    }
  }
}

const sha256 = (b) => createHash('sha256').update(b).digest('hex');

function manifest(name, version) {
  return `plugin:\n  name: ${name}\n  version: "${version}"\n  author: Bench\n  description: "Benchmark payload"\nmetadata:\n  category: utility\n  license: MIT\npermissions:\n  required: [message_read]\n  optional: []\nhooks:\n  - message_sent\n`;
}
const PLUGIN_PY = 'from plexichat_plugin_sdk import Plugin, hook\n\n\nclass BenchPlugin(Plugin):\n    @hook("message_sent")\n    def on_message(self, event):\n        return None\n';

/** A plugin project whose dist/ archive holds `bytes` random bytes (stored, not compressed). */
async function makeProject(dir, name, version, bytes) {
  const small = {
    'config/plugin.yaml': manifest(name, version),
    'docs/README.md': `# ${name}\n\nA benchmark plugin.\n`,
    'src/__init__.py': '',
    'src/plugin.py': PLUGIN_PY,
  };
  for (const [rel, text] of Object.entries(small)) {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), text);
  }
  await fs.writeFile(path.join(dir, 'CHANGELOG.md'), `# Changelog\n\n## [${version}]\n- benchmark\n`);
  // The random payload, streamed to disk while hashed.
  const payload = path.join(dir, 'payload.bin');
  const hash = createHash('sha256');
  const out = createWriteStream(payload);
  const chunk = Buffer.alloc(4 * MiB);
  for (let left = bytes; left > 0; left -= chunk.length) {
    const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
    randomFillSync(part);
    hash.update(part);
    if (!out.write(part)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
  const files = Object.entries(small).map(([p, t]) => ({ path: p, size: Buffer.byteLength(t), sha256: sha256(Buffer.from(t)) }));
  files.push({ path: 'src/data.bin', size: bytes, sha256: hash.digest('hex') });
  const integrity = serializeIntegrity({ name, version }, files);

  const dist = path.join(dir, 'dist');
  await fs.mkdir(dist);
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
  zip.append(createReadStream(payload), { name: 'src/data.bin', date, mode: 0o644, store: true });
  zip.append(integrity, { name: 'plexichat-integrity.json', date, mode: 0o644 });
  await zip.finalize();
  await closed;
  await fs.rm(payload);
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

/** `marketplace serve --json` as a child process; resolves with its start-up document. */
async function startServer(dataDir, devToken, revToken, maxMb) {
  const child = spawn(
    process.execPath,
    [BIN, '--json', 'marketplace', 'serve', '--port', '0', '--data-dir', dataDir, '--developer-token', devToken,
      '--reviewer-token', revToken, '--max-upload-mb', String(maxMb)],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const doc = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      try {
        resolve(JSON.parse(out));
      } catch {
        /* wait for the rest */
      }
    });
    child.once('exit', (c) => reject(new Error(`server exited with ${c}`)));
  });
  return { child, url: doc.url };
}

async function peakRssKb(pid) {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/** Run a command under GNU time: wall seconds, peak RSS (KiB), output. */
async function timed(cmd, args, opts = {}) {
  const marker = '@@TIME@@';
  const res = await run('/usr/bin/time', ['-f', `${marker} %e %M`, cmd, ...args], {
    maxBuffer: 64 * MiB,
    ...opts,
  }).catch((err) => err);
  const m = new RegExp(`${marker} ([\\d.]+) (\\d+)`).exec(res.stderr ?? '');
  if (!m) throw new Error(`no timing from ${cmd}: ${res.stderr ?? res.message}`);
  return { secs: Number(m[1]), rssKb: Number(m[2]), stdout: res.stdout, stderr: res.stderr, code: res.code ?? 0 };
}

const mib = (kb) => `${(kb / 1024).toFixed(0)} MiB`;
const rate = (bytes, s) => `${(bytes / MB / s).toFixed(0)} MB/s`;

const work = await fs.mkdtemp(path.join(os.tmpdir(), 'plexichat-bench-submit-'));
const rows = [];
try {
  for (const sizeMb of SIZES) {
    const bytes = sizeMb * MB;
    const dev = `pcx_bench_${randomBytes(8).toString('hex')}`;
    const rev = `pcx_bench_${randomBytes(8).toString('hex')}`;
    process.stdout.write(`\n${sizeMb} MB: generating two archives… `);
    const curlDir = path.join(work, `curl_${sizeMb}`);
    const cliDir = path.join(work, `cli_${sizeMb}`);
    const curlArchive = await makeProject(curlDir, `bench_curl_${sizeMb}`, '1.0.0', bytes);
    const cliArchive = await makeProject(cliDir, `bench_cli_${sizeMb}`, '1.0.0', bytes);
    console.log(`done (${(curlArchive.size / MB).toFixed(1)} MB each)`);

    const server = await startServer(path.join(work, `market_${sizeMb}`), dev, rev, Math.ceil((bytes * 1.2) / MiB) + 10);
    try {
      // curl -F: the same endpoint, the same two parts and headers.
      const listingPath = path.join(curlDir, 'listing.json');
      const listing = {
        name: `bench_curl_${sizeMb}`,
        version: '1.0.0',
        description: 'Benchmark payload',
        category: 'utility',
        archive: { file: path.basename(curlArchive.zipPath), sha256: curlArchive.sha256, size: curlArchive.size },
      };
      await fs.writeFile(listingPath, JSON.stringify(listing));
      const curl = await timed('curl', [
        '-sS', '-o', '/dev/null', '-w', '%{http_code}',
        '-H', `Authorization: Bearer ${dev}`,
        '-H', `Idempotency-Key: bench-${randomBytes(6).toString('hex')}`,
        '-H', `X-Content-SHA256: ${curlArchive.sha256}`,
        '-F', `listing=<${listingPath};type=application/json`,
        '-F', `archive=@${curlArchive.zipPath};type=application/zip`,
        `${server.url}/api/v1/plugins/${listing.name}/submissions`,
      ]);
      if (curl.stdout.trim() !== '201') throw new Error(`curl upload answered ${curl.stdout} ${curl.stderr}`);

      const cli = await timed(process.execPath, [BIN, '--json', 'marketplace', 'submit', '--timeout', '600'], {
        cwd: cliDir,
        env: {
          ...process.env,
          PLEXICHAT_MARKETPLACE_URL: server.url,
          PLEXICHAT_TOKEN: dev,
          XDG_CONFIG_HOME: path.join(work, 'config'),
          NO_COLOR: '1',
        },
      });
      if (cli.code !== 0) throw new Error(`marketplace submit failed: ${cli.stderr}`);
      const doc = JSON.parse(cli.stdout);
      if (doc.existing !== false || doc.state !== 'pending') throw new Error(`unexpected submit result ${cli.stdout}`);
      const serverKb = await peakRssKb(server.child.pid);
      rows.push({ sizeMb, archiveBytes: cliArchive.size, curl, cli, serverKb });
      console.log(`  curl -F                     ${curl.secs.toFixed(2)} s  ${rate(curlArchive.size, curl.secs)}  peak RSS ${mib(curl.rssKb)}`);
      console.log(`  plexichat-plugin submit     ${cli.secs.toFixed(2)} s  ${rate(cliArchive.size, cli.secs)}  peak RSS ${mib(cli.rssKb)}  (${(cli.secs / curl.secs).toFixed(2)}x curl)`);
      console.log(`  marketplace serve (server)  peak RSS ${mib(serverKb)} over both uploads`);
    } finally {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
    }
    await fs.rm(curlDir, { recursive: true, force: true });
    await fs.rm(cliDir, { recursive: true, force: true });
    await fs.rm(path.join(work, `market_${sizeMb}`), { recursive: true, force: true });
  }
} finally {
  await fs.rm(work, { recursive: true, force: true });
}

console.log('\nsize     curl -F        CLI submit     ratio   CLI RSS    server RSS');
let ok = true;
for (const r of rows) {
  const ratio = r.cli.secs / r.curl.secs;
  const cliMiB = r.cli.rssKb / 1024;
  const srvMiB = r.serverKb / 1024;
  ok &&= ratio <= 1.5 && cliMiB < 150 && srvMiB < 150;
  console.log(
    `${String(r.sizeMb).padStart(4)} MB  ${r.curl.secs.toFixed(2).padStart(6)} s       ${r.cli.secs.toFixed(2).padStart(6)} s       ${ratio.toFixed(2).padStart(4)}x   ${mib(r.cli.rssKb).padStart(8)}   ${mib(r.serverKb).padStart(8)}`,
  );
}
console.log(ok ? '\ngoals met: CLI within 1.5x of curl, client and server under 150 MiB' : '\ngoals NOT met (see above)');
