/**
 * Registering a publisher key proves possession (issue 20, class 2): B, who
 * has A's public key but not its private key, cannot register it (and then
 * submit A's signed archives as B's); a proof A made is refused for B (a
 * replay); A can still register. Also: a key that expired (1999) is not
 * stored, and KEY_TAKEN's hint speaks of keys. Against the real development
 * marketplace, through the CLI and raw HTTP for what the CLI would not send.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { keyIdOf, parsePrivateKeyText, parsePublicKeyText, publicKeyBase64 } from '../../src/signing/keys.js';
import { signKeyProof } from '../../src/signing/key-proof.js';
import { writeSources } from './marketplace-plugin.js';

let srv!: DevServer;
useDevServer((s) => (srv = s), { autoApprove: true });

let home: string;
let aKey: string;
let bKey: string;
let aId: string;
let bId: string;

function cli(args: string[], opts: { token?: string; cwd?: string; env?: Record<string, string | undefined> } = {}) {
  return runMain(args, {
    cwd: opts.cwd,
    env: {
      XDG_CONFIG_HOME: home,
      PLEXICHAT_SIGNING_KEY: undefined,
      PLEXICHAT_MARKETPLACE_URL: srv.url,
      PLEXICHAT_TOKEN: opts.token ?? srv.developer,
      ...opts.env,
    },
  });
}

async function post(token: string, body: unknown): Promise<{ status: number; json: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const res = await fetch(`${srv.api}/me/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as never };
}

async function keysOf(token: string): Promise<string[]> {
  const res = await fetch(`${srv.api}/me/keys`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as { keys: { key_id: string }[] }).keys.map((k) => k.key_id);
}

async function pub(file: string): Promise<string> {
  return publicKeyBase64(parsePublicKeyText(await fs.readFile(`${file}.pub`, 'utf8')));
}

async function proof(file: string, developer: string): Promise<string> {
  return signKeyProof(parsePrivateKeyText(await fs.readFile(file, 'utf8')), developer);
}

async function keyId(file: string): Promise<string> {
  return keyIdOf(parsePublicKeyText(await fs.readFile(`${file}.pub`, 'utf8')));
}

async function whoami(token: string): Promise<string> {
  const r = await cli(['--json', 'marketplace', 'whoami'], { token });
  return (JSON.parse(r.stdout) as { user: string }).user;
}

beforeAll(async () => {
  home = await tempDir({}, 'pxp-proof-home-');
  aKey = path.join(home, 'a', 'alice.pem');
  bKey = path.join(home, 'b', 'bob.pem');
  expect((await cli(['keys', 'generate', '--out', aKey])).exitCode).toBe(0);
  expect((await cli(['keys', 'generate', '--out', bKey])).exitCode).toBe(0);
  aId = await whoami(srv.developer);
  bId = await whoami(srv.developer2);
});

describe('POST /me/keys needs proof of possession', () => {
  it("B with only A's public key cannot register it through the CLI (no private key: exit 2; B's own private key: exit 2); nothing is registered", async () => {
    // B has a copy of A's .pub, nothing beside it.
    const copy = path.join(home, 'b', 'alice-copy.pem.pub');
    await fs.copyFile(`${aKey}.pub`, copy);
    const none = await cli(['--json', 'marketplace', 'keys', 'add', copy], { token: srv.developer2 });
    expect(none.exitCode).toBe(2);
    const doc = JSON.parse(none.stdout) as { error: { code: string; message: string; hint: string } };
    expect(doc.error.code).toBe('KEY_PROOF_NO_PRIVATE_KEY');
    expect(doc.error.message).toMatch(/needs its private key, to prove you hold it.*nothing was registered/);
    const own = await cli(['marketplace', 'keys', 'add', copy, '--key', bKey], { token: srv.developer2 });
    expect(own.exitCode).toBe(2);
    expect(own.stderr).toMatch(/bob\.pem is key [0-9a-f]{16}/);
    // B's own default key is not A's key either.
    const viaEnv = await cli(['marketplace', 'keys', 'add', copy], {
      token: srv.developer2,
      env: {
        PLEXICHAT_SIGNING_KEY: (await fs.readFile(bKey, 'utf8'))
          .split('\n')
          .filter((l) => l && !l.startsWith('-----'))
          .join(''),
      },
    });
    expect(viaEnv.exitCode).toBe(2);
    expect(viaEnv.stderr).toMatch(/PLEXICHAT_SIGNING_KEY is key/);
    expect(await keysOf(srv.developer2)).toEqual([]);
  });

  it("raw requests: no proof, a malformed proof, B's proof by B's key, a proof for another developer id: 400, nothing stored", async () => {
    const publicKey = await pub(aKey);
    const cases: [unknown, string][] = [
      [{ public_key: publicKey }, 'KEY_PROOF_REQUIRED'],
      [{ public_key: publicKey, proof: null }, 'KEY_PROOF_REQUIRED'],
      [{ public_key: publicKey, proof: 'not base64 at all' }, 'KEY_PROOF_INVALID'],
      [{ public_key: publicKey, proof: 12 }, 'KEY_PROOF_INVALID'],
      [{ public_key: publicKey, proof: Buffer.alloc(64).toString('base64') }, 'KEY_PROOF_INVALID'],
      [{ public_key: publicKey, proof: await proof(bKey, bId) }, 'KEY_PROOF_INVALID'],
      [{ public_key: publicKey, proof: await proof(bKey, aId) }, 'KEY_PROOF_INVALID'],
    ];
    for (const [body, code] of cases) {
      const r = await post(srv.developer2, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error?.code).toBe(code);
    }
    expect(await keysOf(srv.developer2)).toEqual([]);
  });

  it("a replay: B sends A's genuine proof (made for A's id) before and after A registers: refused; A registers", async () => {
    const publicKey = await pub(aKey);
    const aProof = await proof(aKey, aId);
    const before = await post(srv.developer2, { public_key: publicKey, proof: aProof, expires_at: null });
    expect(before.status).toBe(400);
    expect(before.json.error?.code).toBe('KEY_PROOF_INVALID');
    expect(before.json.error?.message).toContain(bId);

    const added = await cli(['marketplace', 'keys', 'add', `${aKey}.pub`]);
    expect(added.exitCode, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/registered key [0-9a-f]{16} \(valid\)/);
    expect(await keysOf(srv.developer)).toEqual([await keyId(aKey)]);

    const after = await post(srv.developer2, { public_key: publicKey, proof: aProof, expires_at: null });
    expect(after.status).toBe(400);
    expect(after.json.error?.code).toBe('KEY_PROOF_INVALID');
    // A's own proof, sent again by A: the key is already A's (200, existing).
    const again = await post(srv.developer, { public_key: publicKey, proof: aProof, expires_at: null });
    expect(again.status).toBe(200);
    expect(again.json.existing).toBe(true);
    // A's proof for its key does not register another key.
    const other = await post(srv.developer, { public_key: await pub(bKey), proof: aProof, expires_at: null });
    expect(other.status).toBe(400);
    expect(other.json.error?.code).toBe('KEY_PROOF_INVALID');
  });

  it("B, holding B's key, cannot then submit A's signed archive as B's; KEY_TAKEN's hint talks about keys", async () => {
    const dir = await tempDir({}, 'pxp-proof-plugin-');
    await writeSources(dir, { name: 'proof_owned', version: '1.0.0' });
    expect((await cli(['build', '--sign', '--key', aKey], { cwd: dir })).exitCode).toBe(0);
    const steal = await cli(['--json', 'marketplace', 'submit'], { cwd: dir, token: srv.developer2 });
    expect(steal.exitCode).toBe(1);
    expect((JSON.parse(steal.stdout) as { error: { code: string } }).error.code).toBe('UNKNOWN_KEY');
    expect(srv.countSubmissions('proof_owned')).toBe(0);

    // B somehow holds A's private key file: a valid proof, but the key is A's.
    const taken = await cli(['--json', 'marketplace', 'keys', 'add', `${aKey}.pub`], { token: srv.developer2 });
    expect(taken.exitCode).toBe(1);
    const err = (JSON.parse(taken.stdout) as { error: { code: string; hint: string } }).error;
    expect(err.code).toBe('KEY_TAKEN');
    expect(err.hint).toMatch(/key is registered to another developer/);
    expect(err.hint).not.toMatch(/submission/);
  });

  it('a key that expired in 1999 (or any past time) is refused with KEY_EXPIRED and not stored', async () => {
    const file = path.join(home, 'c', 'old.pem');
    expect((await cli(['keys', 'generate', '--out', file])).exitCode).toBe(0);
    for (const expires of ['1999-12-31T00:00:00Z', '1999-01-01T00:00:00.000Z', new Date(Date.now() - 1000).toISOString()]) {
      const r = await post(srv.developer, { public_key: await pub(file), proof: await proof(file, aId), expires_at: expires });
      expect(r.status).toBe(400);
      expect(r.json.error?.code).toBe('KEY_EXPIRED');
    }
    expect(await keysOf(srv.developer)).not.toContain(await keyId(file));
    const viaCli = await cli(['marketplace', 'keys', 'add', `${file}.pub`, '--expires', '1999-01-01']);
    expect(viaCli.exitCode).toBe(2);
    expect(viaCli.stderr).toMatch(/in the past/);
  });
});
