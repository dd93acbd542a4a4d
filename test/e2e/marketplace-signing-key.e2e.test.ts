/**
 * `marketplace serve --signing-key <file>` (PLEXICHAT_SERVE_SIGNING_KEY_FILE, the config's signing_key_file):
 * the marketplace's own key kept out of its store, so whoever reads the
 * data dir or the bucket cannot sign as the marketplace. One marketplace,
 * one key: a store that lost its key, or a key of another marketplace,
 * stops the start in one line (exit 2) instead of a new key being made.
 * `marketplace index` reads such a marketplace without its key.
 */
import { createPublicKey } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/index.js';
import { generateToken } from '../../src/server/auth.js';
import { openStorage } from '../../src/server/storage/open.js';
import { keyIdOf, parsePrivateKeyText } from '../../src/signing/keys.js';
import { BIN, hasStackTrace, runCli } from '../helpers/run-cli.js';
import { api, submit } from '../helpers/server-zips.js';
import { createDatabase, S3_ENV, startS3, type TestDatabase, type TestS3 } from '../helpers/shared-storage.js';
import { tempDir } from '../helpers/temp-project.js';
import { pluginZip } from '../helpers/zip-fixtures.js';

const developer = generateToken();
const reviewer = generateToken();
const TOKENS = ['--developer-token', developer, '--reviewer-token', reviewer];

async function newKey(dir: string, name: string): Promise<{ file: string; id: string }> {
  const file = path.join(dir, name);
  const r = await runCli(['keys', 'generate', '--out', file]);
  expect(r.exitCode, r.stderr).toBe(0);
  return { file, id: keyIdOf(createPublicKey(parsePrivateKeyText(await fs.readFile(file, 'utf8')))) };
}

/** `marketplace serve --json` as a process: its document once it listens, or its exit when it refuses to start. */
async function serve(args: string[], env: Record<string, string> = {}) {
  const proc = execa(process.execPath, [BIN, '--json', 'marketplace', 'serve', '--port', '0', ...TOKENS, ...args], {
    reject: false,
    env: { NO_COLOR: '1', CI: '1', ...env },
    stdin: 'ignore',
    timeout: 60_000,
  });
  const started = await new Promise<{ url: string } | undefined>((resolve) => {
    let out = '';
    proc.stdout.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      try {
        resolve(JSON.parse(out) as { url: string });
      } catch {
        /* not the whole document yet */
      }
    });
    void proc.then(() => resolve(undefined));
  });
  return {
    url: started?.url,
    async stop() {
      proc.kill('SIGTERM');
      return proc;
    },
    result: proc,
  };
}

/** Submit, approve and publish one version; the counter-signature's key id. */
async function publish(url: string, name: string): Promise<string> {
  const zip = pluginZip({ name, version: '1.0.0' });
  const s = await submit(url, developer, name, zip);
  expect(s.status, JSON.stringify(s.body)).toBe(201);
  const id = (s.body as { id: string }).id;
  expect((await api(url, 'POST', `/submissions/${id}/review`, { token: reviewer, json: { decision: 'approve', notes: 'ok' } })).status).toBe(200);
  expect((await api(url, 'POST', `/submissions/${id}/publish`, { token: developer, json: { channel: 'stable' } })).status).toBe(200);
  const sigs = await api(url, 'GET', `/plugins/${name}/versions/1.0.0/signatures`);
  return (sigs.body as { marketplace: { key_id: string } }).marketplace.key_id;
}

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

describe('marketplace serve --signing-key', () => {
  let dir: string;
  let key: { file: string; id: string };
  let other: { file: string; id: string };
  beforeAll(async () => {
    dir = await tempDir();
    key = await newKey(dir, 'marketplace.pem');
    other = await newKey(dir, 'other.pem');
  });

  it('signs with the given key, lists it, and writes no key into the data dir; index reads it without the key', async () => {
    const data = path.join(dir, 'external');
    const srv = await serve(['--data-dir', data, '--signing-key', key.file]);
    expect(srv.url).toBeDefined();
    try {
      expect(await publish(srv.url!, 'keyed_plugin')).toBe(key.id);
      const keys = await api(srv.url!, 'GET', '/keys');
      expect((keys.body as { keys: { key_id: string }[] }).keys.map((k) => k.key_id)).toEqual([key.id]);
    } finally {
      expect((await srv.stop()).exitCode).toBe(0);
    }
    expect(await exists(path.join(data, 'signing-key.pem'))).toBe(false);
    // A stopped marketplace's registry is written from what it recorded: its key is not needed, nor made.
    const reg = path.join(dir, 'registry');
    const ix = await runCli(['marketplace', 'index', '--data-dir', data, '--to', reg]);
    expect(ix.exitCode, ix.stderr).toBe(0);
    expect(await fs.readFile(path.join(reg, 'keys.json'), 'utf8')).toContain(key.id);
    expect(await exists(path.join(data, 'signing-key.pem'))).toBe(false);
    // Started again from the variable: the same marketplace, the same key.
    const again = await serve(['--data-dir', data], { PLEXICHAT_SERVE_SIGNING_KEY_FILE: key.file });
    expect(again.url).toBeDefined();
    expect((await again.stop()).exitCode).toBe(0);
    // And from a --config file, the path relative to the file's folder.
    const config = path.join(dir, 'serve.json');
    await fs.writeFile(config, JSON.stringify({ signing_key_file: path.basename(key.file) }));
    const third = await serve(['--data-dir', data, '--config', config]);
    expect(third.url).toBeDefined();
    expect((await third.stop()).exitCode).toBe(0);
  }, 90_000);

  it('refuses to start without its key, or with another, in one line (exit 2), and makes no key', async () => {
    const data = path.join(dir, 'external');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [[], {}, new RegExp(`^error: the marketplace signs with key ${key.id}, which is not in `, 'm')],
      [['--signing-key', other.file], {}, new RegExp(`^error: the marketplace signs with key ${key.id}, and --signing-key holds key ${other.id}$`, 'm')],
      [[], { PLEXICHAT_SERVE_SIGNING_KEY_FILE: other.file }, /and --signing-key holds key/],
    ];
    for (const [args, env, said] of cases) {
      const srv = await serve(['--data-dir', data, ...args], env);
      const r = await srv.result;
      expect(srv.url, r.stderr).toBeUndefined();
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(said);
      expect(r.stderr).toMatch(/hint: pass /);
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect(await exists(path.join(data, 'signing-key.pem'))).toBe(false);
    }
  }, 90_000);

  it('a data dir that keeps its own key: started with that key it warns of the copy; with another it refuses', async () => {
    const data = path.join(dir, 'stored');
    const first = await serve(['--data-dir', data]);
    expect(first.url).toBeDefined();
    await first.stop();
    const own = path.join(dir, 'own.pem');
    await fs.copyFile(path.join(data, 'signing-key.pem'), own);
    await fs.chmod(own, 0o600);
    const same = await serve(['--data-dir', data, '--signing-key', own]);
    expect(same.url).toBeDefined();
    const r = await same.stop();
    expect(r.stderr).toMatch(/warning: .*stored still holds a copy of the signing key \(signing-key\.pem\): delete it/);
    const wrong = await (await serve(['--data-dir', data, '--signing-key', key.file])).result;
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toMatch(new RegExp(`and --signing-key holds key ${key.id}$`, 'm'));
  }, 90_000);

  it('a key file that is not one is refused before anything starts', async () => {
    const pub = path.join(dir, 'marketplace.pem.pub');
    const loose = path.join(dir, 'loose.pem');
    await fs.copyFile(key.file, loose);
    await fs.chmod(loose, 0o644);
    const cases: [string, RegExp, number][] = [
      [path.join(dir, 'missing.pem'), /^error: the signing key .*missing\.pem not found$/m, 2],
      [pub, /^error: the signing key .*\.pub is not usable: it is a public key, not a private key$/m, 2],
      [dir, /^error: .*is not a regular file|^error: the signing key .* is a (folder|directory)/m, 2],
    ];
    for (const [file, said, code] of cases) {
      const data = path.join(dir, `never-${path.basename(file)}`);
      const r = await (await serve(['--data-dir', data, '--signing-key', file])).result;
      expect(r.exitCode, r.stderr).toBe(code);
      expect(r.stderr).toMatch(said);
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect(await exists(data)).toBe(false);
    }
    const srv = await serve(['--data-dir', path.join(dir, 'loose'), '--signing-key', loose]);
    const r = await srv.stop();
    expect(srv.url).toBeDefined();
    expect(r.stderr).toMatch(/warning: the signing key .*loose\.pem can be read by other users \(mode 644\): run chmod 600/);
  }, 90_000);
});

describe('marketplace serve --signing-key on PostgreSQL + S3', () => {
  let db: TestDatabase;
  let s3: TestS3;
  beforeAll(async () => {
    db = await createDatabase();
    s3 = await startS3();
  });
  afterAll(async () => {
    await s3?.close();
    await db?.drop();
  });

  it('puts no key in the bucket, and a replica started without the key refuses', async () => {
    const dir = await tempDir();
    const key = await newKey(dir, 'marketplace.pem');
    const storage = { kind: 'shared' as const, database: db.url, blobs: s3.url('keyed'), s3Endpoint: s3.endpoint };
    const env = { ...S3_ENV };
    const srv = await startServer({
      storage,
      developerTokens: [developer],
      reviewerTokens: [reviewer],
      signingKey: parsePrivateKeyText(await fs.readFile(key.file, 'utf8')),
    });
    try {
      expect(await publish(srv.url, 'bucket_plugin')).toBe(key.id);
    } finally {
      await srv.close();
    }
    const st = await openStorage(storage, Date.now, () => undefined, false);
    try {
      expect(await st.blobs.getFile('signing-key.pem')).toBeUndefined();
    } finally {
      await st.meta.close();
      await st.blobs.close();
    }
    const r = await runCli(['marketplace', 'serve', '--database', db.url, '--blobs', s3.url('keyed'), '--s3-endpoint', s3.endpoint, ...TOKENS], {
      env: { ...env, PGPASSWORD: process.env.PGPASSWORD ?? '' },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^error: the marketplace signs with key ${key.id}, which is not in s3://`, 'm'));
  }, 90_000);
});
