/**
 * Keys over time: `keys rollover` statements, trusted by `verify --keyring`
 * along chains (and refused when no trusted key signed them), and accepted
 * by the development marketplace (127.0.0.1:0) through
 * `marketplace keys rollover`: the new key registered for the developer,
 * the old one marked, an archive signed by the new key accepted.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { uniqueName } from './marketplace-helpers.js';
import { writeSources } from './marketplace-plugin.js';

let srv!: DevServer;
useDevServer((s) => (srv = s), { autoApprove: true });

let home: string;

async function cli(args: string[], opts: { cwd?: string; token?: string } = {}) {
  return runMain(args, {
    cwd: opts.cwd,
    env: { XDG_CONFIG_HOME: home, PLEXICHAT_SIGNING_KEY: undefined, PLEXICHAT_MARKETPLACE_URL: srv.url, PLEXICHAT_TOKEN: opts.token ?? srv.developer },
  });
}

interface Key {
  file: string;
  pub: string;
  id: string;
}

async function newKey(label: string): Promise<Key> {
  const file = path.join(home, `${label}.pem`);
  const r = await cli(['keys', 'generate', '--out', file]);
  expect(r.exitCode, r.stderr).toBe(0);
  return { file, pub: `${file}.pub`, id: /key id\s+([0-9a-f]{16})/.exec(r.stdout)![1] };
}

async function rollover(from: Key, to: Key, out: string): Promise<Record<string, string>> {
  const r = await cli(['--json', 'keys', 'rollover', '--from', from.file, '--to', to.file, '--out', out]);
  expect(r.exitCode, r.stdout).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ oldKeyId: from.id, newKeyId: to.id });
  return JSON.parse(await fs.readFile(out, 'utf8'));
}

async function keyring(keys: Key[], rollovers: unknown[]): Promise<string> {
  const file = path.join(await tempDir({}, 'pxp-ring-'), 'keyring.json');
  const records = await Promise.all(keys.map(async (k) => ({ key_id: k.id, algorithm: 'ed25519', public_key: await fs.readFile(k.pub, 'utf8') })));
  await fs.writeFile(file, JSON.stringify({ keys: records, rollovers }));
  return file;
}

async function signedBuild(key: Key, name = uniqueName('rolled')): Promise<{ dir: string; archive: string }> {
  const dir = await tempDir({}, 'pxp-roll-');
  await writeSources(dir, { name, version: '1.0.0' });
  const r = await cli(['build', '--sign', '--key', key.file], { cwd: dir });
  expect(r.exitCode, r.stderr).toBe(0);
  return { dir, archive: path.join(dir, 'dist', `${name}-1.0.0.zip`) };
}

let k1: Key, k2: Key, k3: Key, k4: Key, stranger: Key;
let r12: Record<string, string>, r23: Record<string, string>, r34: Record<string, string>, rStranger: Record<string, string>;

beforeAll(async () => {
  home = await tempDir({}, 'pxp-roll-home-');
  [k1, k2, k3, k4, stranger] = [await newKey('k1'), await newKey('k2'), await newKey('k3'), await newKey('k4'), await newKey('stranger')];
  r12 = await rollover(k1, k2, path.join(home, 'r12.json'));
  r23 = await rollover(k2, k3, path.join(home, 'r23.json'));
  r34 = await rollover(k3, k4, path.join(home, 'r34.json'));
  rStranger = await rollover(stranger, k4, path.join(home, 'rs.json'));
});

describe('verify --keyring follows rollover statements', () => {
  for (const [label, chain, signer] of [
    ['one rollover', () => [r12], () => k2],
    ['a chain of two', () => [r12, r23], () => k3],
    ['a chain of three, listed out of order', () => [r34, r12, r23], () => k4],
  ] as const) {
    it(`${label}: a keyring holding the old key trusts the new one`, async () => {
      const b = await signedBuild(signer());
      const ring = await keyring([k1], chain());
      const r = await cli(['--json', 'verify', b.archive, '--keyring', ring]);
      expect(r.exitCode, r.stdout).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.signature.status).toBe('verified');
      expect(doc.provenance).toMatchObject({ status: 'verified', keyId: signer().id });
    });
  }

  it('without the statements the new key is unknown', async () => {
    const b = await signedBuild(k3);
    const r = await cli(['--json', 'verify', b.archive, '--keyring', await keyring([k1], [])]);
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout).signature.code).toBe('UNKNOWN_KEY');
  });

  const refusals: [string, () => Promise<unknown[]>, string][] = [
    ['a statement signed by a key the keyring does not hold', async () => [rStranger], 'ROLLOVER_UNTRUSTED'],
    ['a chain with a missing link', async () => [r12, r34], 'ROLLOVER_UNTRUSTED'],
    ['a statement whose old-key signature was edited', async () => [{ ...r12, signature: flip(r12.signature) }], 'ROLLOVER_INVALID'],
    ['a statement whose new-key signature was edited', async () => [{ ...r12, new_signature: flip(r12.new_signature) }], 'ROLLOVER_INVALID'],
    ['a statement whose date was edited', async () => [{ ...r12, created_at: '2020-01-01T00:00:00.000Z' }], 'ROLLOVER_INVALID'],
    ['a statement naming another new key', async () => [{ ...r12, new_key_id: stranger.id }], 'ROLLOVER_INVALID'],
    ['a statement that is not one', async () => [{ format: 'x' }], 'ROLLOVER_INVALID'],
  ];
  for (const [what, statements, code] of refusals) {
    it(`${what}: exit 2, ${code}`, async () => {
      const b = await signedBuild(k2);
      const r = await cli(['--json', 'verify', b.archive, '--keyring', await keyring([k1], await statements())]);
      expect(r.exitCode, r.stdout).toBe(2);
      expect(JSON.parse(r.stdout).error.code).toBe(code);
    });
  }
});

function flip(b64: string): string {
  const raw = Buffer.from(b64, 'base64');
  raw[3] ^= 1;
  return raw.toString('base64');
}

describe('marketplace keys rollover', () => {
  it('registers the new key on the old key’s signature, marks the old one, and accepts archives signed by the new key; chains on', async () => {
    expect((await cli(['marketplace', 'keys', 'add', k1.pub])).exitCode).toBe(0);
    const r = await cli(['--json', 'marketplace', 'keys', 'rollover', path.join(home, 'r12.json')]);
    expect(r.exitCode, r.stdout).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ key: { keyId: k2.id }, rolledOver: { keyId: k1.id, rolledOverTo: k2.id } });
    const list = JSON.parse((await cli(['--json', 'marketplace', 'keys', 'list'])).stdout);
    expect(list.keys).toContainEqual(expect.objectContaining({ keyId: k1.id, rolledOverTo: k2.id }));
    expect(list.keys).toContainEqual(expect.objectContaining({ keyId: k2.id }));
    expect((await cli(['marketplace', 'keys', 'list'])).stdout).toContain(`rolled over to ${k2.id}`);

    const b = await signedBuild(k2);
    const sub = await cli(['--json', 'marketplace', 'submit'], { cwd: b.dir });
    expect(sub.exitCode, sub.stdout).toBe(0);
    expect(JSON.parse(sub.stdout).submission.attestations.provenance.keyId).toBe(k2.id);

    const again = await cli(['marketplace', 'keys', 'rollover', path.join(home, 'r23.json')]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain(`registered key ${k3.id}`);
  });

  it('refuses a statement from a key that is not the caller’s, a tampered one, and one from a revoked key', async () => {
    const other = await cli(['--json', 'marketplace', 'keys', 'rollover', path.join(home, 'r34.json')], { token: srv.developer2 });
    expect(other.exitCode).toBe(1);
    expect(JSON.parse(other.stdout).error.code).toBe('KEY_NOT_FOUND');

    const tampered = path.join(home, 'r34-tampered.json');
    await fs.writeFile(tampered, JSON.stringify({ ...r34, signature: flip(r34.signature) }));
    const bad = await cli(['--json', 'marketplace', 'keys', 'rollover', tampered]);
    expect(bad.exitCode).toBe(1);
    expect(JSON.parse(bad.stdout).error.code).toBe('ROLLOVER_INVALID');

    const notOne = path.join(home, 'not-a-statement.json');
    await fs.writeFile(notOne, '{"format": "x"}');
    const usage = await cli(['--json', 'marketplace', 'keys', 'rollover', notOne]);
    expect(usage.exitCode).toBe(2);
    expect(JSON.parse(usage.stdout).error.code).toBe('ROLLOVER_INVALID');

    expect((await cli(['marketplace', 'keys', 'revoke', k3.id])).exitCode).toBe(0);
    const revoked = await cli(['--json', 'marketplace', 'keys', 'rollover', path.join(home, 'r34.json')]);
    expect(revoked.exitCode).toBe(1);
    expect(JSON.parse(revoked.stdout).error.code).toBe('KEY_REVOKED');
  });

  it('keys rollover refuses the same key twice, a missing flag and an existing file without --force', async () => {
    expect((await cli(['keys', 'rollover', '--from', k1.file, '--to', k1.file, '--out', path.join(home, 'same.json')])).exitCode).toBe(2);
    expect((await cli(['keys', 'rollover', '--from', k1.file])).exitCode).toBe(2);
    const exists = await cli(['--json', 'keys', 'rollover', '--from', k1.file, '--to', k2.file, '--out', path.join(home, 'r12.json')]);
    expect(exists.exitCode).toBe(1);
    expect(JSON.parse(exists.stdout).error.code).toBe('FILE_EXISTS');
  });
});
