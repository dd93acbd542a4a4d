import { createPrivateKey, createPublicKey } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { listFiles, tempDir } from '../helpers/temp-project.js';
import { privateKeyCanary } from '../e2e/sign-helpers.js';

describe('keys generate', () => {
  it('writes the private key 0600 and the public key beside it, prints the key id and public key, never the private key', async () => {
    const home = await tempDir();
    const env = { XDG_CONFIG_HOME: home };
    const r = await runMain(['keys', 'generate'], { cwd: home, env });
    expect(r.exitCode).toBe(0);
    const keyFile = path.join(home, 'plexichat-plugin', 'signing-key.pem');
    const st = await fs.stat(keyFile);
    expect(st.mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.dirname(keyFile))).mode & 0o777).toBe(0o700);

    const priv = createPrivateKey(await fs.readFile(keyFile, 'utf8'));
    expect(priv.asymmetricKeyType).toBe('ed25519');
    const pubText = await fs.readFile(`${keyFile}.pub`, 'utf8');
    expect(pubText).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const pub = createPublicKey(pubText);
    const pubB64 = pub.export({ format: 'der', type: 'spki' }).toString('base64');
    expect(createPublicKey(priv).export({ format: 'der', type: 'spki' }).toString('base64')).toBe(pubB64);

    const keyId = /key id\s+([0-9a-f]{16})/.exec(r.stdout)?.[1];
    expect(keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(r.stdout).toContain(pubB64);
    // The hint shows how to make the one-line form, never the key.
    expect(r.stderr).toContain('PLEXICHAT_SIGNING_KEY="$(grep -v -- -----');
    const canary = await privateKeyCanary(keyFile);
    expect(r.stdout + r.stderr).not.toContain(canary);

    const json = await runMain(['--json', 'keys', 'generate', '--out', 'ci.pem'], { cwd: home, env });
    expect(json.exitCode).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ algorithm: 'ed25519', privateKeyFile: path.join(home, 'ci.pem'), publicKeyFile: path.join(home, 'ci.pem.pub') });
    expect(doc.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(doc.keyId).not.toBe(keyId);
    expect(json.stdout + json.stderr).not.toContain(await privateKeyCanary(path.join(home, 'ci.pem')));
  });

  it('refuses to overwrite a key without --force (exit 1, both files unchanged); --force replaces it, 0600 again', async () => {
    const dir = await tempDir();
    const first = await runMain(['keys', 'generate', '--out', 'k/signing.pem'], { cwd: dir });
    expect(first.exitCode).toBe(0);
    const keyFile = path.join(dir, 'k', 'signing.pem');
    const before = await fs.readFile(keyFile);
    const beforePub = await fs.readFile(`${keyFile}.pub`);

    const again = await runMain(['keys', 'generate', '--out', 'k/signing.pem'], { cwd: dir });
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/error: refusing to overwrite .*signing\.pem/);
    expect(again.stderr).toMatch(/hint: pass --force/);
    expect(hasStackTrace(again.stderr)).toBe(false);
    expect(await fs.readFile(keyFile)).toEqual(before);
    expect(await fs.readFile(`${keyFile}.pub`)).toEqual(beforePub);

    // Only the .pub exists: still refused, and nothing is written.
    await fs.rm(keyFile);
    const half = await runMain(['keys', 'generate', '--out', 'k/signing.pem'], { cwd: dir });
    expect(half.exitCode).toBe(1);
    expect(await listFiles(path.join(dir, 'k'))).toEqual(['signing.pem.pub']);

    await fs.writeFile(keyFile, before, { mode: 0o644 });
    await fs.chmod(keyFile, 0o644);
    const forced = await runMain(['keys', 'generate', '--out', 'k/signing.pem', '--force'], { cwd: dir });
    expect(forced.exitCode).toBe(0);
    expect(forced.stderr).toMatch(/warning: replaced k\/signing\.pem/);
    expect(await fs.readFile(keyFile)).not.toEqual(before);
    expect((await fs.stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await listFiles(path.join(dir, 'k'))).toEqual(['signing.pem', 'signing.pem.pub']);
  });

  it('a folder as --out, or no config dir, is one clear line', async () => {
    const dir = await tempDir({ sub: {} });
    const folder = await runMain(['keys', 'generate', '--out', 'sub/'], { cwd: dir });
    expect(folder.exitCode).toBe(2);
    expect(folder.stderr).toMatch(/--out needs a file name/);
    const noHome = await runMain(['keys', 'generate'], { cwd: dir, env: { XDG_CONFIG_HOME: undefined, HOME: undefined, USERPROFILE: undefined } });
    expect(noHome.exitCode).toBe(2);
    expect(noHome.stderr).toMatch(/cannot find a config directory for the key/);
    expect(await listFiles(dir)).toEqual([]);
  });
});
