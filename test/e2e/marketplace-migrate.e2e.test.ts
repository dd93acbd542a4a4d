/**
 * `marketplace migrate`: a data dir copied into PostgreSQL + S3 and back,
 * losing nothing (every row and every archive compared), served from the
 * copy; the schema command and the sweep; and the refusals of the storage
 * settings (a password on the command line, half a pair, a bad URL, a
 * non-empty target), each one line with its exit code.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/index.js';
import { generateToken } from '../../src/server/auth.js';
import { openStorage, type Storage } from '../../src/server/storage/open.js';
import { compareTables } from '../../src/server/storage/copy.js';
import { runCli } from '../helpers/run-cli.js';
import { api, sha256, submit } from '../helpers/server-zips.js';
import { createDatabase, S3_ENV, startS3, type TestDatabase, type TestS3 } from '../helpers/shared-storage.js';
import { registerKey, submitSigned } from '../helpers/signed-submits.js';
import { pluginZip } from '../helpers/zip-fixtures.js';

const developer = generateToken();
const reviewer = generateToken();
let source: string;
let back: string;
let db: TestDatabase;
let s3: TestS3;
const env = () => ({ ...S3_ENV, PGPASSWORD: process.env.PGPASSWORD ?? '' });

async function everything(st: Storage) {
  const tables = await st.meta.dump();
  const blobs = new Map<string, string>();
  for (const b of await st.blobs.list()) blobs.set(b.sha256, sha256(await st.blobs.read(b.sha256)));
  return { tables, blobs, key: (await st.blobs.getFile('signing-key.pem'))?.toString() };
}

async function open(config: Parameters<typeof openStorage>[0]) {
  const st = await openStorage(config, Date.now, () => undefined, false);
  try {
    return await everything(st);
  } finally {
    await st.meta.close();
    await st.blobs.close();
  }
}

beforeAll(async () => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'pxp-migrate-'));
  source = path.join(tmp, 'source');
  back = path.join(tmp, 'back');
  db = await createDatabase();
  s3 = await startS3();
  // A data dir with every kind of row: plugins in each state, signed and unsigned, published, keys, idempotency.
  const srv = await startServer({ dataDir: source, developerTokens: [developer], reviewerTokens: [reviewer] });
  try {
    const key = await registerKey(srv.url, developer);
    const states = ['pending', 'in_review', 'approved', 'rejected', 'published'];
    for (const [i, state] of states.entries()) {
      const name = `mig_plugin_${i}`;
      const r =
        i % 2 ? await submitSigned(srv.url, developer, key, name, '1.0.0') : await submit(srv.url, developer, name, pluginZip({ name }), { key: `k-${i}` });
      const id = (r.body as { id: string }).id;
      if (state !== 'pending')
        await api(srv.url, 'POST', `/submissions/${id}/review`, {
          token: reviewer,
          json: { decision: state === 'rejected' ? 'reject' : state === 'in_review' ? 'claim' : 'approve', notes: 'n' },
        });
      if (state === 'published') await api(srv.url, 'POST', `/submissions/${id}/publish`, { token: developer, json: { channel: 'beta' } });
    }
    await api(srv.url, 'POST', `/me/keys/${key.keyId}/revoke`, { token: developer, json: {} });
  } finally {
    await srv.close();
  }
}, 60_000);

afterAll(async () => {
  await db?.drop();
  await s3?.close();
  await fs.rm(path.dirname(source), { recursive: true, force: true });
});

describe('marketplace migrate: copies', () => {
  it('a data dir into PostgreSQL + S3 and back: every row, archive and the signing key the same; the copy serves', async () => {
    const to = await runCli(
      ['--json', 'marketplace', 'migrate', '--from', source, '--to-database', db.url, '--to-blobs', s3.url('copy'), '--s3-endpoint', s3.endpoint],
      { env: env() },
    );
    expect(to.exitCode, to.stderr).toBe(0);
    const doc = JSON.parse(to.stdout) as { copy: { archives: number; rows: Record<string, number> } };
    expect(doc.copy.archives).toBe(5);
    expect(doc.copy.rows, JSON.stringify(doc.copy.rows)).toMatchObject({
      plugins: 5,
      submissions: 5,
      signatures: 5,
      publisherKeys: 1,
      identities: 2,
      idempotency: 3,
    });

    const original = await open({ kind: 'data-dir', dataDir: source });
    const shared = await open({ kind: 'shared', database: db.url, blobs: s3.url('copy'), s3Endpoint: s3.endpoint });
    expect(compareTables(original.tables, shared.tables)).toEqual([]);
    expect(shared.blobs).toEqual(original.blobs);
    expect(shared.key).toBe(original.key);

    const home = await runCli(
      ['marketplace', 'migrate', '--from-database', db.url, '--from-blobs', s3.url('copy'), '--s3-endpoint', s3.endpoint, '--to', back],
      { env: env() },
    );
    expect(home.exitCode, home.stderr).toBe(0);
    expect(home.stdout).toMatch(/copied .* into .*back: 5 plugins, 5 submissions/);
    const returned = await open({ kind: 'data-dir', dataDir: back });
    expect(compareTables(original.tables, returned.tables)).toEqual([]);
    expect(returned.blobs).toEqual(original.blobs);
    expect(returned.key).toBe(original.key);

    // Served from the database and the bucket: the published version downloads with its counter-signature.
    const srv = await startServer({
      storage: { kind: 'shared', database: db.url, blobs: s3.url('copy'), s3Endpoint: s3.endpoint },
      developerTokens: [developer],
    });
    try {
      const dl = await api(srv.url, 'GET', '/plugins/mig_plugin_4/versions/1.0.0/download');
      expect(dl.status).toBe(200);
      expect(original.blobs.get(sha256(dl.raw))).toBe(sha256(dl.raw));
      const me = await api(srv.url, 'GET', '/me/keys', { token: developer });
      expect((me.body as { keys: { revoked_at: string | null }[] }).keys[0].revoked_at).not.toBeNull();
    } finally {
      await srv.close();
    }
  }, 120_000);

  it('refuses a target that holds rows (exit 1, one line), and changes nothing', async () => {
    const before = await open({ kind: 'shared', database: db.url, blobs: s3.url('copy'), s3Endpoint: s3.endpoint });
    const r = await runCli(['marketplace', 'migrate', '--from', source, '--to-database', db.url, '--to-blobs', s3.url('copy'), '--s3-endpoint', s3.endpoint], {
      env: env(),
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: the target already holds rows \(5 plugins, /m);
    const after = await open({ kind: 'shared', database: db.url, blobs: s3.url('copy'), s3Endpoint: s3.endpoint });
    expect(compareTables(before.tables, after.tables)).toEqual([]);
  });

  it('the schema command reports the version; --sweep removes archives no row names', async () => {
    const orphan = Buffer.from('an upload whose row never came');
    const st = await openStorage({ kind: 'data-dir', dataDir: back }, Date.now, () => undefined, false);
    await st.blobs.write(sha256(orphan), orphan);
    await st.meta.close();
    const plain = await runCli(['marketplace', 'migrate', '--data-dir', back]);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/schema version 4/);
    const swept = await runCli(['--json', 'marketplace', 'migrate', '--data-dir', back, '--sweep']);
    expect(JSON.parse(swept.stdout)).toMatchObject({ storageSchema: 4, swept: { orphans: 1 } });
  });
});

describe('storage settings that are refused (one line, exit 2, nothing made)', () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ['a password in --database', ['--database', 'postgres://u:secret@127.0.0.1/db', '--blobs', 's3://bucket-a/p'], {}, /--database carries a password/],
    [
      'a password in a ?password= parameter',
      ['--database', 'postgres://u@127.0.0.1/db?password=secret', '--blobs', 's3://bucket-a/p'],
      {},
      /--database carries a password/,
    ],
    ['--database without --blobs', ['--database', 'postgres://u@127.0.0.1/db'], {}, /the database is set but no blob store/],
    ['the variable of blobs without a database', [], { PLEXICHAT_SERVE_BLOBS: 's3://bucket-a/p' }, /the blob store is set but no database/],
    ['not a postgres URL', ['--database', 'mysql://u@h/db', '--blobs', 's3://bucket-a/p'], {}, /is not a postgres:\/\/ URL/],
    ['credentials in the s3 URL', ['--database', 'postgres://u@h/db', '--blobs', 's3://key:secret@bucket-a/p'], {}, /carries no credentials/],
    ['a bucket name S3 refuses', ['--database', 'postgres://u@h/db', '--blobs', 's3://B/p'], {}, /is not a bucket name/],
    [
      '--data-dir with shared storage',
      ['--database', 'postgres://u@h/db', '--blobs', 's3://bucket-a/p', '--data-dir', '/tmp/x'],
      {},
      /--data-dir is for the SQLite/,
    ],
    [
      'an endpoint that is not http',
      ['--database', 'postgres://u@h/db', '--blobs', 's3://bucket-a/p', '--s3-endpoint', 'ftp://h'],
      {},
      /is not an http\(s\):\/\/ URL/,
    ],
  ];
  for (const command of ['serve', 'migrate']) {
    it.each(cases)(`${command}: %s`, async (_label, args, extra, message) => {
      const r = await runCli(['marketplace', command, ...args], { env: extra });
      expect(r.exitCode, r.stderr).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines[0]).toMatch(message);
      expect(lines[0]).toMatch(/^error: /);
      expect(r.stderr).not.toContain('secret');
      expect(lines.slice(1).every((l) => l.trimStart().startsWith('hint: '))).toBe(true);
    });
  }

  it('a config file names the storage; a bad one is one line', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pxp-cfg-'));
    const bad = path.join(dir, 'bad.json');
    await fs.writeFile(bad, JSON.stringify({ database: 'postgres://u@h/db', blob: 's3://x' }));
    const r = await runCli(['marketplace', 'serve', '--config', bad]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown key "blob"/);
    const good = path.join(dir, 'good.json');
    await fs.writeFile(good, JSON.stringify({ database: db.url, blobs: s3.url('fromfile'), s3_endpoint: s3.endpoint }), { mode: 0o600 });
    const m = await runCli(['--json', 'marketplace', 'migrate', '--config', good], { env: env() });
    expect(m.exitCode, m.stderr).toBe(0);
    expect(JSON.parse(m.stdout)).toMatchObject({ schemaVersion: 1, storageSchema: 3 });
    const down = await runCli(['marketplace', 'migrate', '--database', 'postgres://nobody@127.0.0.1:1/db', '--blobs', 's3://bucket-a/p']);
    expect(down.exitCode).toBe(1);
    expect(down.stderr.split('\n')[0]).toMatch(/^error: cannot use the database: /);
  });
});
