#!/usr/bin/env node
/**
 * bench/storage: submits per second and p95 latency of `marketplace serve`
 * on its two storages: SQLite + a folder (one server: a data dir has one),
 * and PostgreSQL + S3 with one and with two replicas (`serve` processes on
 * one database and one bucket, requests alternating between them).
 *
 *   npm run bench:storage                 # 60 submits, 8 at a time, per setup
 *   node bench/storage.mjs --submits 200 --concurrency 16
 *
 * PostgreSQL: a database made for the run and dropped after it, through
 * PLEXICHAT_TEST_PG_URL (default: the role .ci/pg-setup.sh makes, password in
 * PGPASSWORD). S3: s3rver on 127.0.0.1 (a devDependency), through the AWS client.
 * Each submit is a distinct small valid plugin archive (unsigned) and its listing,
 * POSTed as `marketplace submit` would; the server verifies, stores and records it.
 * Never part of `npm test`; prints the machine's load with the figures.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { BIN, isMain, loadAverage, requireBuild } from './lib.mjs';

const sha256 = (b) => createHash('sha256').update(b).digest('hex');

/** A zip of stored entries (the server's checks accept it as `build` would make it). */
function zipOf(files) {
  const parts = [];
  const central = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const n = Buffer.from(name);
    const data = Buffer.from(text);
    const crc = zlib.crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x800, 8);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(n.length, 28);
    cd.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, n, data);
    central.push(cd, n);
    offset += 30 + n.length + data.length;
  }
  const cdBuf = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(central.length / 2, 8);
  eocd.writeUInt16LE(central.length / 2, 10);
  eocd.writeUInt32LE(cdBuf.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBuf, eocd]);
}

function archive(name, version) {
  const files = {
    'config/plugin.yaml': `plugin:\n  name: ${name}\n  version: "${version}"\n  author: Bench\n  description: A plugin for the bench\nmetadata:\n  category: utility\n  license: MIT\n`,
    'src/__init__.py': '',
    'src/plugin.py': `print("hello ${randomBytes(4).toString('hex')}")\n`,
  };
  const listing = {
    format: 'plexichat-plugin-integrity/1',
    algorithm: 'sha256',
    plugin: { name, version },
    files: Object.keys(files)
      .sort()
      .map((p) => ({ path: p, size: Buffer.byteLength(files[p]), sha256: sha256(files[p]) })),
  };
  return zipOf({ ...files, 'plexichat-integrity.json': JSON.stringify(listing, null, 2) });
}

function body(name, version) {
  const zip = archive(name, version);
  const listing = JSON.stringify({
    name,
    version,
    description: 'A plugin for the bench',
    long_description: '# Bench\n',
    changelog: '- first\n',
    category: 'utility',
    tags: [],
    license: 'MIT',
    homepage: null,
    author: 'Bench',
    permissions: { required: [], optional: [] },
    archive: { file: `${name}-${version}.zip`, sha256: sha256(zip), size: zip.length },
  });
  const boundary = `----bench${randomBytes(8).toString('hex')}`;
  const b = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="listing"\r\n\r\n${listing}\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="archive"; filename="${name}.zip"\r\nContent-Type: application/zip\r\n\r\n`),
    zip,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body: b, type: `multipart/form-data; boundary=${boundary}` };
}

function serve(args, env) {
  const child = spawn(process.execPath, [BIN, '--json', 'marketplace', 'serve', '--port', '0', '--auto-approve', ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, ...env },
  });
  const url = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      try {
        resolve(JSON.parse(out).url);
      } catch {
        /* not whole yet */
      }
    });
    child.once('exit', (code) => reject(new Error(`marketplace serve exited with ${code}`)));
  });
  return { child, url };
}

async function run(urls, token, n, concurrency, tag) {
  const jobs = Array.from({ length: n }, (_, i) => ({ name: `bench_${tag}_${i % 10}`, version: `1.0.${Math.floor(i / 10)}` }));
  const prepared = jobs.map((j) => ({ ...j, ...body(j.name, j.version) }));
  const latencies = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < prepared.length; i = next++) {
        const p = prepared[i];
        const t = performance.now();
        const r = await fetch(`${urls[i % urls.length]}/api/v1/plugins/${p.name}/submissions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': p.type },
          body: p.body,
        });
        if (r.status !== 201) throw new Error(`submit ${p.name} ${p.version}: ${r.status} ${await r.text()}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: n / seconds, p95: latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.95) - 1)] };
}

async function sharedStorage() {
  const admin = process.env.PLEXICHAT_TEST_PG_URL ?? 'postgres://plexichat_test@127.0.0.1:5432/postgres';
  process.env.PGPASSWORD ??= 'plexichat_test';
  const pg = (await import('pg')).default;
  const name = `plexichat_bench_${randomBytes(4).toString('hex')}`;
  const q = async (sql) => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await q(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const { default: S3rver } = await import('s3rver');
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-s3-'));
  const bucket = 'bench-market';
  const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await s3.run();
  return {
    env: {
      PLEXICHAT_SERVE_DATABASE: url.toString(),
      PLEXICHAT_SERVE_BLOBS: `s3://${bucket}/bench`,
      PLEXICHAT_SERVE_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
    },
    async close() {
      await s3.close();
      await fs.rm(directory, { recursive: true, force: true });
      await q(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function setup(label, replicas, env, args, opts) {
  const token = `pcx_bench_${randomBytes(12).toString('hex')}`;
  const procs = Array.from({ length: replicas }, () => serve(args, { ...env, PLEXICHAT_SERVE_DEVELOPER_TOKENS: token }));
  try {
    const urls = await Promise.all(procs.map((p) => p.url));
    await run(urls, token, Math.min(10, opts.submits), Math.min(4, opts.concurrency), `${label.replace(/\W+/g, '').toLowerCase() + replicas}w`); // warm-up
    const r = await run(urls, token, opts.submits, opts.concurrency, label.replace(/\W+/g, '').toLowerCase() + replicas);
    return { label, replicas, ...r };
  } finally {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((res) => (p.child.exitCode !== null ? res() : p.child.once('exit', res)))));
  }
}

export async function main(argv = process.argv.slice(2)) {
  requireBuild();
  const opt = (flag, d) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? Number(argv[i + 1]) : d;
  };
  const opts = { submits: opt('--submits', 60), concurrency: opt('--concurrency', 8) };
  console.log(`bench/storage: ${opts.submits} submits, ${opts.concurrency} at a time; load before: ${loadAverage()} (${os.cpus().length} cores)`);
  const results = [];
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-storage-'));
  try {
    results.push(await setup('SQLite + folder', 1, {}, ['--data-dir', dataDir], opts));
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
  for (const replicas of [1, 2]) {
    const shared = await sharedStorage();
    try {
      results.push(await setup('PostgreSQL + S3', replicas, shared.env, [], opts));
    } finally {
      await shared.close();
    }
  }
  for (const r of results) {
    console.log(`${r.label.padEnd(16)} ${r.replicas} replica(s): ${r.perSecond.toFixed(1)} submits/s, p95 ${r.p95.toFixed(0)} ms`);
  }
  console.log(`load after: ${loadAverage()}`);
  return results;
}

if (isMain(import.meta.url)) await main();
