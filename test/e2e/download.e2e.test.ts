/**
 * Signing on the marketplace, against the real development marketplace on
 * 127.0.0.1:0: publisher keys (keys add/list/revoke), signed submits, the
 * refusals once a plugin is signed, the counter-signature on publish,
 * GET /api/v1/keys, key rotation, and `marketplace download` verifying
 * both signatures before it writes anything.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { runMain } from '../helpers/run-main.js';
import { listFiles, tempDir } from '../helpers/temp-project.js';
import { uniqueName } from './marketplace-helpers.js';
import { writeSources } from './marketplace-plugin.js';
import { privateKeyCanary } from './sign-helpers.js';

let srv!: DevServer;
useDevServer((s) => (srv = s), { autoApprove: true });

interface Key {
  file: string;
  pub: string;
  id: string;
  canary: string;
}

let home: string;
const outputs: string[] = [];

async function cli(args: string[], opts: { cwd?: string; token?: string; env?: Record<string, string | undefined> } = {}) {
  const r = await runMain(args, {
    cwd: opts.cwd,
    env: {
      XDG_CONFIG_HOME: home,
      PLEXICHAT_SIGNING_KEY: undefined,
      PLEXICHAT_MARKETPLACE_URL: srv.url,
      PLEXICHAT_TOKEN: opts.token ?? srv.developer,
      ...opts.env,
    },
  });
  outputs.push(r.stdout, r.stderr);
  return r;
}

async function newKey(label: string): Promise<Key> {
  const file = path.join(home, `${label}.pem`);
  const r = await cli(['keys', 'generate', '--out', file]);
  expect(r.exitCode, r.stderr).toBe(0);
  return { file, pub: `${file}.pub`, id: /key id\s+([0-9a-f]{16})/.exec(r.stdout)![1], canary: await privateKeyCanary(file) };
}

/** Sources of name@version built with `build`, signed with key (or --no-sign). */
async function built(name: string, version: string, key: Key | undefined, dir?: string): Promise<string> {
  const d = dir ?? (await tempDir({}, 'pxp-dl-'));
  await writeSources(d, { name, version });
  const r = await cli(['build', ...(key ? ['--sign', '--key', key.file] : ['--no-sign'])], { cwd: d });
  expect(r.exitCode, r.stderr).toBe(0);
  return d;
}

async function submit(dir: string, token?: string) {
  const r = await cli(['--json', 'marketplace', 'submit'], { cwd: dir, token });
  return { ...r, doc: JSON.parse(r.stdout) };
}

async function publish(dir: string, token?: string) {
  const r = await cli(['marketplace', 'publish'], { cwd: dir, token });
  expect(r.exitCode, r.stderr).toBe(0);
}

let alice: Key;
let rotated: Key;
let stranger: Key;

beforeAll(async () => {
  home = await tempDir({}, 'pxp-dl-home-');
  alice = await newKey('alice');
  rotated = await newKey('alice-2');
  stranger = await newKey('stranger');
});

describe('marketplace keys', () => {
  it('add, list, add again, another developer cannot take it, revoke, bad ids', async () => {
    const key = await newKey('keys-test');
    const added = await cli(['marketplace', 'keys', 'add', key.pub]);
    expect(added.exitCode, added.stderr).toBe(0);
    expect(added.stdout).toContain(`registered key ${key.id} (valid)`);
    const again = await cli(['marketplace', 'keys', 'add', key.pub]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain(`key ${key.id} was already registered`);
    const taken = await cli(['--json', 'marketplace', 'keys', 'add', key.pub], { token: srv.developer2 });
    expect(taken.exitCode).toBe(1);
    expect(JSON.parse(taken.stdout).error.code).toBe('KEY_TAKEN');

    const list = await cli(['--json', 'marketplace', 'keys', 'list']);
    expect(list.exitCode).toBe(0);
    expect(JSON.parse(list.stdout).keys).toContainEqual(expect.objectContaining({ keyId: key.id, algorithm: 'ed25519', revokedAt: null, expiresAt: null }));

    const revoked = await cli(['marketplace', 'keys', 'revoke', key.id]);
    expect(revoked.exitCode, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`key ${key.id} revoked on \\d{4}-`));
    const human = await cli(['marketplace', 'keys', 'list']);
    expect(human.stdout).toMatch(new RegExp(`${key.id}  revoked \\d{4}-`));

    const notMine = await cli(['--json', 'marketplace', 'keys', 'revoke', key.id], { token: srv.developer2 });
    expect(notMine.exitCode).toBe(1);
    expect(JSON.parse(notMine.stdout).error.code).toBe('KEY_NOT_FOUND');
    expect((await cli(['marketplace', 'keys', 'revoke', 'xyz'])).exitCode).toBe(2);
    const priv = await cli(['marketplace', 'keys', 'add', key.file]);
    expect(priv.exitCode).toBe(2);
    expect(priv.stderr).toMatch(/is a private key; pass the public key/);
    const past = await cli(['marketplace', 'keys', 'add', key.pub, '--expires', '2001-01-01']);
    expect(past.exitCode).toBe(2);
  });

  it("GET /api/v1/keys lists the marketplace's own key with its validity window", async () => {
    const res = await fetch(`${srv.api}/keys`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(doc.keys).toEqual([
      expect.objectContaining({ algorithm: 'ed25519', owner: 'marketplace', expires_at: null, revoked_at: null, created_at: expect.stringMatching(/^\d{4}-/) }),
    ]);
    expect((await fs.stat(path.join(srv.dataDir, 'signing-key.pem'))).mode & 0o777).toBe(0o600);
  });
});

describe('signed submit, counter-signature, download', () => {
  it('sign → submit → publish → download verifies both signatures; then unsigned and foreign-signed uploads are refused (422)', async () => {
    const name = uniqueName('signed');
    expect((await cli(['marketplace', 'keys', 'add', alice.pub])).exitCode).toBe(0);
    const dir = await built(name, '1.0.0', alice);
    const sub = await submit(dir);
    expect(sub.exitCode, sub.stderr).toBe(0);
    expect(sub.doc).toMatchObject({ signedBy: alice.id, submission: { state: 'approved' } });
    await publish(dir);

    const sigs = (await (await fetch(`${srv.api}/plugins/${name}/versions/1.0.0/signatures`)).json()) as Record<string, Record<string, unknown>>;
    expect(sigs.publisher).toMatchObject({ role: 'publisher', key_id: alice.id });
    expect(sigs.publisher_key).toMatchObject({ key_id: alice.id, revoked_at: null });
    expect(sigs.marketplace).toMatchObject({ role: 'marketplace', plugin: { name, version: '1.0.0' }, publisher: { key_id: alice.id } });

    const out = await tempDir();
    const dl = await cli(['marketplace', 'download', `${name}@1.0.0`, '--out', out]);
    expect(dl.exitCode, dl.stderr).toBe(0);
    expect(dl.stdout).toMatch(/marketplace counter-signature: key [0-9a-f]{16}, published \S+ \(verified\)/);
    expect(dl.stdout).toContain(`publisher signature: key ${alice.id}`);
    // The archive, its .sig and the attestations build wrote (checked, then written beside it).
    expect(await listFiles(out)).toEqual([`${name}-1.0.0.cdx.json`, `${name}-1.0.0.intoto.jsonl`, `${name}-1.0.0.zip`, `${name}-1.0.0.zip.sig`]);
    expect(await fs.readFile(path.join(out, `${name}-1.0.0.zip`))).toEqual(await fs.readFile(path.join(dir, 'dist', `${name}-1.0.0.zip`)));
    // The downloaded pair verifies offline with the publisher's key.
    expect((await cli(['verify', path.join(out, `${name}-1.0.0.zip`), '--key', alice.pub])).exitCode).toBe(0);

    // Next version unsigned: refused now that a signed version is published.
    const unsigned = await submit(await built(name, '1.1.0', undefined));
    expect(unsigned.exitCode).toBe(1);
    expect(unsigned.doc.error.code).toBe('SIGNATURE_REQUIRED');
    expect(unsigned.doc.error.message).toMatch(/HTTP 422 SIGNATURE_REQUIRED: .* was published signed/);
    // Signed with a key that is not the owner's (registered by someone else, or by nobody).
    expect((await cli(['marketplace', 'keys', 'add', stranger.pub], { token: srv.developer2 })).exitCode).toBe(0);
    const foreign = await submit(await built(name, '1.1.0', stranger));
    expect(foreign.exitCode).toBe(1);
    expect(foreign.doc.error.code).toBe('UNKNOWN_KEY');
    expect(foreign.doc.error.message).toContain(`made with key ${stranger.id}`);
    expect(srv.countSubmissions(name)).toBe(1);

    // A's signature on B: WRONG_PLUGIN, and nothing stored.
    const other = uniqueName('other');
    const b = await built(other, '1.0.0', undefined);
    await fs.copyFile(path.join(dir, 'dist', `${name}-1.0.0.zip.sig`), path.join(b, 'dist', `${other}-1.0.0.zip.sig`));
    // The local check notices first (the .sig is not this archive's) ...
    const local = await submit(b);
    expect(local.exitCode).toBe(1);
    expect(local.doc.error.code).toBe('SIGNATURE_INVALID');
    // ... and the marketplace refuses it too when it is sent anyway.
    expect((await cli(['marketplace', 'prepare'], { cwd: b })).exitCode).toBe(0);
    const form = new FormData();
    form.append('listing', await fs.readFile(path.join(b, 'dist', `${other}-1.0.0.listing.json`), 'utf8'));
    form.append('signature', await fs.readFile(path.join(b, 'dist', `${other}-1.0.0.zip.sig`), 'utf8'));
    form.append('archive', new Blob([await fs.readFile(path.join(b, 'dist', `${other}-1.0.0.zip`))], { type: 'application/zip' }), `${other}-1.0.0.zip`);
    const res = await fetch(`${srv.api}/plugins/${other}/submissions`, { method: 'POST', body: form, headers: { authorization: `Bearer ${srv.developer}` } });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('WRONG_PLUGIN');
    expect(body.error.message).toContain(`is for ${name} 1.0.0, but the archive holds ${other} 1.0.0`);
    expect(srv.countSubmissions(other)).toBe(0);
  }, 120_000);

  it('key rotation: after revoking, new uploads signed with the key are refused; versions published before still download and verify', async () => {
    const name = uniqueName('rotate');
    const key = await newKey(`rot-${name}`);
    expect((await cli(['marketplace', 'keys', 'add', key.pub])).exitCode).toBe(0);
    const v1 = await built(name, '1.0.0', key);
    expect((await submit(v1)).exitCode).toBe(0);
    await publish(v1);
    // Signed and uploaded, but the key is revoked before publishing: publish refused.
    const v2 = await built(name, '1.1.0', key);
    expect((await submit(v2)).exitCode).toBe(0);

    expect((await cli(['marketplace', 'keys', 'revoke', key.id])).exitCode).toBe(0);
    const pub2 = await cli(['--json', 'marketplace', 'publish'], { cwd: v2 });
    expect(pub2.exitCode).toBe(1);
    expect(JSON.parse(pub2.stdout).error.code).toBe('KEY_REVOKED');

    const v3 = await submit(await built(name, '1.2.0', key));
    expect(v3.exitCode).toBe(1);
    expect(v3.doc.error.code).toBe('KEY_REVOKED');
    expect(v3.doc.error.message).toMatch(new RegExp(`key ${key.id} was revoked on \\S+; it is checked now \\(\\S+\\), after the revocation`));

    // The old release keeps verifying: the revocation came after its publication.
    const out = await tempDir();
    const dl = await cli(['marketplace', 'download', `${name}@1.0.0`, '--out', out]);
    expect(dl.exitCode, dl.stderr).toBe(0);
    expect(dl.stderr).toMatch(new RegExp(`key ${key.id} was revoked on \\S+, after the version was published on \\S+: it still verifies`));

    // Rotation: a new key registered, the next version signed with it goes through.
    expect((await cli(['marketplace', 'keys', 'add', rotated.pub])).exitCode).toBe(0);
    const v4dir = await built(name, '1.3.0', rotated);
    const v4 = await submit(v4dir);
    expect(v4.exitCode, v4.stderr).toBe(0);
    await publish(v4dir);
    // Without a version: the highest published one.
    const latest = await cli(['--json', 'marketplace', 'download', name, '--out', out]);
    expect(latest.exitCode, latest.stderr).toBe(0);
    expect(JSON.parse(latest.stdout)).toMatchObject({ version: '1.3.0', publisher: { keyId: rotated.id } });
  }, 120_000);

  it('download of a tampered stored archive is refused and writes nothing; a pinned keyring without the key too', async () => {
    const name = uniqueName('tamper');
    const dir = await built(name, '1.0.0', undefined);
    expect((await submit(dir)).exitCode).toBe(0);
    await publish(dir);
    const sha = (await fs.readFile(path.join(dir, 'dist', `${name}-1.0.0.zip.sha256`), 'utf8')).split(' ')[0];
    const stored = path.join(srv.dataDir, 'archives', sha.slice(0, 2), `${sha}.zip`);

    const out = await tempDir();
    const ok = await cli(['marketplace', 'download', `${name}@1.0.0`, '--out', out]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/was published unsigned: only the marketplace's counter-signature vouches for it/);
    const good = await fs.readFile(path.join(out, `${name}-1.0.0.zip`));

    const original = await fs.readFile(stored);
    const bad = Buffer.from(original);
    bad[80] = bad[80] ^ 0x20;
    await fs.writeFile(stored, bad);
    try {
      const empty = await tempDir();
      const r = await cli(['marketplace', 'download', `${name}@1.0.0`, '--out', empty]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(
        /error: refusing .* 1\.0\.0: the archive changed after signing: the archive's sha256 differs from the signed one .*; nothing was written/,
      );
      expect(r.stderr).toMatch(/hint: the marketplace served bytes that are not the ones that were signed/);
      expect(await fs.readdir(empty)).toEqual([]);
      // Into the folder holding the good copy: it stays as it was.
      const again = await cli(['--json', 'marketplace', 'download', `${name}@1.0.0`, '--out', out]);
      expect(again.exitCode).toBe(1);
      expect(JSON.parse(again.stdout).error.code).toBe('SIGNATURE_INVALID');
      // The good copy (with the SBOM of its unsigned build) stays as it was.
      expect((await fs.readdir(out)).sort()).toEqual([`${name}-1.0.0.cdx.json`, `${name}-1.0.0.zip`]);
      expect(await fs.readFile(path.join(out, `${name}-1.0.0.zip`))).toEqual(good);
    } finally {
      await fs.writeFile(stored, original);
    }

    // A keyring pinned to another key: the counter-signature's key is unknown.
    const ring = path.join(await tempDir(), 'ring.json');
    const pub = (await fs.readFile(stranger.pub, 'utf8'))
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join('');
    await fs.writeFile(ring, JSON.stringify({ keys: [{ public_key: pub }] }));
    const empty = await tempDir();
    const pinned = await cli(['--json', 'marketplace', 'download', `${name}@1.0.0`, '--out', empty, '--keyring', ring]);
    expect(pinned.exitCode).toBe(1);
    expect(JSON.parse(pinned.stdout).error.code).toBe('UNKNOWN_KEY');
    expect(await fs.readdir(empty)).toEqual([]);
    // A saved GET /api/v1/keys is a keyring.
    const saved = path.join(await tempDir(), 'keys.json');
    await fs.writeFile(saved, await (await fetch(`${srv.api}/keys`)).text());
    expect((await cli(['marketplace', 'download', `${name}@1.0.0`, '--out', empty, '--keyring', saved])).exitCode).toBe(0);
  }, 120_000);

  it('no private key or token in any output of this file', () => {
    expect(outputs.length).toBeGreaterThan(30);
    for (const text of outputs) {
      for (const k of [alice, rotated, stranger]) expect(text).not.toContain(k.canary);
      for (const t of [srv.developer, srv.developer2]) expect(text).not.toContain(t);
    }
  });
});
