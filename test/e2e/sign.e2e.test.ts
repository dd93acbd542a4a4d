/**
 * build --sign and verify --key/--keyring, offline: every signature error
 * code, the key sources (file, one-line env, default file), and the
 * private key never reaching any output.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { listFiles, tempDir } from '../helpers/temp-project.js';
import { hasModule, pathCandidates } from '../../src/python/discover.js';
import { writeSources } from './marketplace-plugin.js';
import { privateKeyCanary } from './sign-helpers.js';

interface Fixture {
  /** Config dir holding the default key. */
  home: string;
  keyFile: string;
  pubFile: string;
  keyId: string;
  canary: string;
  /** A second key, not trusted anywhere. */
  otherKey: string;
  /** Signed builds of plugin A and B: their dist folders. */
  a: string;
  b: string;
}

let fx: Fixture;
/** Every output of the file, for the canary check at the end. */
const outputs: string[] = [];

async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  const r = await runMain(args, { ...opts, env: { XDG_CONFIG_HOME: fx.home, PLEXICHAT_SIGNING_KEY: undefined, ...opts.env } });
  outputs.push(r.stdout, r.stderr);
  return r;
}

async function signedProject(name: string, extra: string[] = []): Promise<string> {
  const dir = await tempDir({}, 'pxp-sign-');
  await writeSources(dir, { name });
  const r = await cli(['build', '--sign', '--key', fx.keyFile, ...extra], { cwd: dir, env: { SOURCE_DATE_EPOCH: '1700000000' } });
  expect(r.exitCode, r.stderr).toBe(0);
  return path.join(dir, 'dist');
}

/** Copy an archive and its .sig into a fresh folder to tamper with. */
async function copyOf(dist: string, name: string): Promise<string> {
  const dir = await tempDir();
  for (const f of [`${name}.zip`, `${name}.zip.sig`]) await fs.copyFile(path.join(dist, f), path.join(dir, f));
  return path.join(dir, `${name}.zip`);
}

/** Rewrite a zip with Python's zipfile: drop members and/or add some (the listing untouched unless given). */
async function rezip(file: string, opts: { drop?: string[]; add?: Record<string, string> }): Promise<void> {
  const code = `
import json, sys, zipfile
src, drop, add = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
items = []
with zipfile.ZipFile(src) as z:
    for i in z.infolist():
        if i.filename not in drop and i.filename not in add:
            items.append((i, z.read(i.filename)))
with zipfile.ZipFile(src, 'w', zipfile.ZIP_DEFLATED) as z:
    for i, data in items:
        z.writestr(i, data)
    for name, text in add.items():
        z.writestr(name, text)
`;
  await execa('python3', ['-c', code, file, JSON.stringify(opts.drop ?? []), JSON.stringify(opts.add ?? {})]);
}

async function verifyJson(archive: string, extra: string[]) {
  const r = await cli(['--json', 'verify', archive, ...extra]);
  return { ...r, doc: JSON.parse(r.stdout) };
}

beforeAll(async () => {
  const home = await tempDir({}, 'pxp-keys-');
  const gen = await runMain(['keys', 'generate'], { env: { XDG_CONFIG_HOME: home } });
  expect(gen.exitCode, gen.stderr).toBe(0);
  const keyFile = path.join(home, 'plexichat-plugin', 'signing-key.pem');
  const other = await runMain(['keys', 'generate', '--out', path.join(home, 'other.pem')]);
  expect(other.exitCode).toBe(0);
  fx = {
    home,
    keyFile,
    pubFile: `${keyFile}.pub`,
    keyId: /key id\s+([0-9a-f]{16})/.exec(gen.stdout)![1],
    canary: await privateKeyCanary(keyFile),
    otherKey: path.join(home, 'other.pem'),
    a: '',
    b: '',
  };
  fx.a = await signedProject('alpha_plugin');
  fx.b = await signedProject('beta_plugin');
}, 120_000);

describe('build --sign', () => {
  it('writes <archive>.sig, the documented JSON, without changing a byte of the archive', async () => {
    expect(await listFiles(fx.a)).toEqual([
      'alpha_plugin-1.0.0.cdx.json',
      'alpha_plugin-1.0.0.intoto.jsonl',
      'alpha_plugin-1.0.0.zip',
      'alpha_plugin-1.0.0.zip.sha256',
      'alpha_plugin-1.0.0.zip.sig',
    ]);
    const sig = JSON.parse(await fs.readFile(path.join(fx.a, 'alpha_plugin-1.0.0.zip.sig'), 'utf8'));
    expect(Object.keys(sig)).toEqual(['format', 'role', 'algorithm', 'key_id', 'plugin', 'archive', 'contents', 'created_at', 'signature']);
    expect(sig).toMatchObject({
      format: 'plexichat-plugin-signature/1',
      role: 'publisher',
      algorithm: 'ed25519',
      key_id: fx.keyId,
      plugin: { name: 'alpha_plugin', version: '1.0.0' },
    });
    const sha = (await fs.readFile(path.join(fx.a, 'alpha_plugin-1.0.0.zip.sha256'), 'utf8')).split(' ')[0];
    expect(sig.archive.sha256).toBe(sha);

    // The same sources unsigned: the same archive bytes, and no .sig.
    const dir = path.dirname(fx.a);
    const copy = await tempDir();
    for (const f of ['config', 'src', 'docs', 'CHANGELOG.md']) await fs.cp(path.join(dir, f), path.join(copy, f), { recursive: true });
    const plain = await cli(['build', '--no-sign'], { cwd: copy, env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(await fs.readFile(path.join(copy, 'dist/alpha_plugin-1.0.0.zip'))).toEqual(await fs.readFile(path.join(fx.a, 'alpha_plugin-1.0.0.zip')));
    expect(await listFiles(path.join(copy, 'dist'))).toEqual(['alpha_plugin-1.0.0.cdx.json', 'alpha_plugin-1.0.0.zip', 'alpha_plugin-1.0.0.zip.sha256']);
  });

  it('signs by default with the configured key (--json names it); an unsigned rebuild removes the stale .sig and provenance', async () => {
    const dir = await tempDir({}, 'pxp-sign-');
    await writeSources(dir, { name: 'gamma_plugin' });
    const r = await cli(['--json', 'build'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.signature).toMatchObject({ keyId: fx.keyId, keySource: fx.keyFile, file: path.join(dir, 'dist/gamma_plugin-1.0.0.zip.sig') });
    const off = await cli(['build', '--no-sign'], { cwd: dir });
    expect(off.exitCode).toBe(0);
    expect(await listFiles(path.join(dir, 'dist'))).toEqual(['gamma_plugin-1.0.0.cdx.json', 'gamma_plugin-1.0.0.zip', 'gamma_plugin-1.0.0.zip.sha256']);
  });

  it('in CI with no key: --sign is exit 1 and writes no archive, no .sha256, no .sig', async () => {
    const dir = await tempDir({}, 'pxp-sign-');
    await writeSources(dir, { name: 'delta_plugin' });
    const emptyHome = await tempDir();
    const r = await runMain(['build', '--sign'], {
      cwd: dir,
      env: { CI: 'true', XDG_CONFIG_HOME: emptyHome, HOME: emptyHome, PLEXICHAT_SIGNING_KEY: undefined },
    });
    outputs.push(r.stdout, r.stderr);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/error: --sign was given but there is no signing key; nothing was built/);
    expect(r.stderr).toMatch(/hint: pass --key <file>, set PLEXICHAT_SIGNING_KEY/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(await listFiles(dir)).not.toContainEqual(expect.stringMatching(/^dist\//));
    // An existing dist/ stays as it was.
    await fs.mkdir(path.join(dir, 'dist'));
    const again = await runMain(['--json', 'build', '--sign'], {
      cwd: dir,
      env: { XDG_CONFIG_HOME: emptyHome, HOME: emptyHome, PLEXICHAT_SIGNING_KEY: undefined },
    });
    expect(again.exitCode).toBe(1);
    expect(JSON.parse(again.stdout).error.code).toBe('SIGNING_KEY_MISSING');
    expect(await fs.readdir(path.join(dir, 'dist'))).toEqual([]);
  });

  it('PLEXICHAT_SIGNING_KEY: a multi-line PEM is refused showing the one-line form; that form (made by the shown command) signs', async () => {
    const dir = await tempDir({}, 'pxp-sign-');
    await writeSources(dir, { name: 'epsilon_plugin' });
    const pem = await fs.readFile(fx.keyFile, 'utf8');
    for (const value of [pem, pem.replace(/\n/g, '\\n')]) {
      const r = await cli(['build'], { cwd: dir, env: { PLEXICHAT_SIGNING_KEY: value, XDG_CONFIG_HOME: await tempDir() } });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/error: PLEXICHAT_SIGNING_KEY is not usable: it holds a multi-line PEM key; it must be one line/);
      expect(r.stderr).toContain(
        `hint: store the key on one line, the PEM's base64 body without the ----- lines: PLEXICHAT_SIGNING_KEY="$(grep -v -- ----- signing-key.pem | tr -d '\\n')"`,
      );
      expect(r.stdout + r.stderr).not.toContain(fx.canary);
      expect(await listFiles(dir)).not.toContainEqual(expect.stringMatching(/^dist\//));
    }
    const oneLine = (await execa('bash', ['-c', `grep -v -- ----- "${fx.keyFile}" | tr -d '\\n'`])).stdout;
    expect(oneLine).toBe(fx.canary);
    const ok = await runMain(['build', '--sign'], { cwd: dir, env: { PLEXICHAT_SIGNING_KEY: oneLine, XDG_CONFIG_HOME: await tempDir() } });
    outputs.push(ok.stdout, ok.stderr);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`signed  key ${fx.keyId} (PLEXICHAT_SIGNING_KEY)`);
    const v = await cli(['verify', path.join(dir, 'dist/epsilon_plugin-1.0.0.zip'), '--key', fx.pubFile]);
    expect(v.exitCode, v.stderr).toBe(0);
    // Garbage in the variable: exit 2, the value never echoed.
    const bad = await cli(['build'], { cwd: dir, env: { PLEXICHAT_SIGNING_KEY: 'not-a-key-ABCDEFGH' } });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).not.toContain('not-a-key-ABCDEFGH');
  });
});

describe('the signature document, read by another implementation', () => {
  it("Python's cryptography verifies it from docs/signing.md's canonical encoding alone", async () => {
    let python: string | undefined;
    for (const c of pathCandidates(process.env)) {
      if (await hasModule(c, 'cryptography', process.env).catch(() => false)) {
        python = c;
        break;
      }
    }
    if (!python) throw new Error('needs a python3 with cryptography (sudo apt-get install -y python3-cryptography; .ci/run does this)');
    const code = `
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
doc = json.load(open(sys.argv[1]))
fields = {k: v for k, v in doc.items() if k != "signature"}
signed = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
key = load_pem_public_key(open(sys.argv[2], "rb").read())
key.verify(base64.b64decode(doc["signature"]), signed)
der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
assert doc["key_id"] == hashlib.sha256(der).hexdigest()[:16], "key id"
assert doc["archive"]["sha256"] == hashlib.sha256(open(sys.argv[3], "rb").read()).hexdigest(), "archive digest"
print("ok")
`;
    const archive = path.join(fx.a, 'alpha_plugin-1.0.0.zip');
    const r = await execa(python, ['-c', code, `${archive}.sig`, fx.pubFile, archive], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
  });
});

describe('verify <archive> --key / --keyring', () => {
  it('sign → verify: exit 0, "signature verified"; without a key it says the signer was not checked', async () => {
    const archive = path.join(fx.a, 'alpha_plugin-1.0.0.zip');
    const r = await cli(['verify', archive, '--key', fx.pubFile]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`signed by key ${fx.keyId} on \\S+ \\(signature verified\\)`));
    const { doc } = await verifyJson(archive, ['--key', fx.pubFile]);
    expect(doc.signature).toMatchObject({ status: 'verified', keyId: fx.keyId, plugin: { name: 'alpha_plugin', version: '1.0.0' } });
    const plain = await cli(['verify', archive]);
    expect(plain.exitCode).toBe(0);
    expect(plain.stderr).toMatch(/who signed it was not checked: pass --key <pubkey-file> or --keyring <file> \[SIGNATURE_UNCHECKED\]/);
  });

  it('one flipped byte → SIGNATURE_INVALID naming the archive sha256 that differs', async () => {
    const archive = await copyOf(fx.a, 'alpha_plugin-1.0.0');
    const bytes = await fs.readFile(archive);
    bytes[60] = bytes[60] ^ 0x01; // inside the first member's data
    await fs.writeFile(archive, bytes);
    const r = await cli(['verify', archive, '--key', fx.pubFile]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /error: the archive changed after signing: the archive's sha256 differs from the signed one \(signed [0-9a-f]{16}… \d+ bytes, now [0-9a-f]{16}… \d+ bytes\)/,
    );
    expect(r.stderr).toMatch(/\[SIGNATURE_INVALID\]/);
    expect(r.stdout).toMatch(/the signature does not verify \[SIGNATURE_INVALID\]/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const { doc } = await verifyJson(archive, ['--key', fx.pubFile]);
    expect(doc.signature).toMatchObject({ status: 'failed', code: 'SIGNATURE_INVALID' });
    expect(doc.findings.map((f: { code: string }) => f.code)).toContain('SIGNATURE_INVALID');
  });

  it('a member removed or added → SIGNATURE_INVALID; the archive findings name the member; a rewritten member list is named too', async () => {
    const removed = await copyOf(fx.a, 'alpha_plugin-1.0.0');
    await rezip(removed, { drop: ['docs/README.md'] });
    const r1 = await cli(['verify', removed, '--key', fx.pubFile]);
    expect(r1.exitCode).toBe(1);
    expect(r1.stderr).toMatch(/the archive's sha256 differs from the signed one.*its member list is the signed one.*\[SIGNATURE_INVALID\]/);
    expect(r1.stderr).toMatch(/"docs\/README.md": listed in plexichat-integrity.json but not in the archive \[INTEGRITY_MISSING_ENTRY\]/);

    const added = await copyOf(fx.a, 'alpha_plugin-1.0.0');
    await rezip(added, { add: { 'src/extra.py': 'import os\n' } });
    const r2 = await cli(['verify', added, '--key', fx.pubFile]);
    expect(r2.exitCode).toBe(1);
    expect(r2.stderr).toMatch(/the archive's sha256 differs from the signed one.*\[SIGNATURE_INVALID\]/);
    expect(r2.stderr).toMatch(/"src\/extra.py": not in plexichat-integrity.json \[INTEGRITY_UNLISTED\]/);

    // The attacker rewrites the listing as well: the member-list digest is named.
    const relisted = await copyOf(fx.a, 'alpha_plugin-1.0.0');
    const listing = JSON.parse((await execa('unzip', ['-p', relisted, 'plexichat-integrity.json'])).stdout);
    listing.files = listing.files.filter((f: { path: string }) => f.path !== 'docs/README.md');
    await rezip(relisted, { drop: ['docs/README.md'], add: { 'plexichat-integrity.json': JSON.stringify(listing) } });
    const r3 = await cli(['verify', relisted, '--key', fx.pubFile]);
    expect(r3.exitCode).toBe(1);
    expect(r3.stderr).toMatch(
      /its member list \(plexichat-integrity.json\) differs from the signed one \(signed [0-9a-f]{16}…, now [0-9a-f]{16}…\): members were added, removed or changed \[SIGNATURE_INVALID\]/,
    );
  });

  it("plugin A's signature on plugin B → WRONG_PLUGIN naming both", async () => {
    const archive = await copyOf(fx.b, 'beta_plugin-1.0.0');
    await fs.copyFile(path.join(fx.a, 'alpha_plugin-1.0.0.zip.sig'), `${archive}.sig`);
    const r = await cli(['verify', archive, '--key', fx.pubFile]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/error: the signature is for alpha_plugin 1\.0\.0, but the archive holds beta_plugin 1\.0\.0 \[WRONG_PLUGIN\]/);
    // Also through --signature.
    const other = await cli([
      'verify',
      path.join(fx.b, 'beta_plugin-1.0.0.zip'),
      '--key',
      fx.pubFile,
      '--signature',
      path.join(fx.a, 'alpha_plugin-1.0.0.zip.sig'),
    ]);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toMatch(/\[WRONG_PLUGIN\]/);
  });

  it('UNKNOWN_KEY names the key id; SIGNATURE_MISSING names the file; an edited or broken .sig is refused', async () => {
    const archive = path.join(fx.a, 'alpha_plugin-1.0.0.zip');
    const unknown = await cli(['verify', archive, '--key', `${fx.otherKey}.pub`]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(
      new RegExp(`the signature was made with key ${fx.keyId}, which is not among the trusted keys \\([0-9a-f]{16}\\) \\[UNKNOWN_KEY\\]`),
    );

    const unsigned = await copyOf(fx.a, 'alpha_plugin-1.0.0');
    await fs.rm(`${unsigned}.sig`);
    const missing = await cli(['verify', unsigned, '--key', fx.pubFile]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/the archive is not signed: .*alpha_plugin-1\.0\.0\.zip\.sig not found \[SIGNATURE_MISSING\]/);
    expect(missing.stderr).toMatch(/hint: sign it with `plexichat-plugin build --sign`/);
    expect((await cli(['verify', unsigned])).exitCode).toBe(0);

    const edited = await copyOf(fx.a, 'alpha_plugin-1.0.0');
    const sig = JSON.parse(await fs.readFile(`${edited}.sig`, 'utf8'));
    await fs.writeFile(`${edited}.sig`, JSON.stringify({ ...sig, created_at: '2020-01-01T00:00:00.000Z' }));
    const e = await cli(['verify', edited, '--key', fx.pubFile]);
    expect(e.exitCode).toBe(1);
    expect(e.stderr).toMatch(
      new RegExp(
        `the signature does not match its signed fields \\(the .sig was edited after signing, or not made by key ${fx.keyId}\\) \\[SIGNATURE_INVALID\\]`,
      ),
    );

    await fs.writeFile(`${edited}.sig`, JSON.stringify({ ...sig, format: 'other/9' }));
    const m = await cli(['verify', edited, '--key', fx.pubFile]);
    expect(m.exitCode).toBe(1);
    expect(m.stderr).toMatch(/is not a signature document: unknown format "other\/9".*\[SIGNATURE_MALFORMED\]/);

    const both = await cli(['verify', archive, '--key', fx.pubFile, '--keyring', fx.pubFile]);
    expect(both.exitCode).toBe(2);
  });

  it('keyring: KEY_REVOKED and KEY_EXPIRED give both dates; a revocation after the signature still verifies (KEY_REVOKED_LATER)', async () => {
    const archive = path.join(fx.a, 'alpha_plugin-1.0.0.zip');
    const sig = JSON.parse(await fs.readFile(`${archive}.sig`, 'utf8'));
    const publicKey = (await fs.readFile(fx.pubFile, 'utf8'))
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join('');
    const ring = async (record: Record<string, unknown>) => {
      const file = path.join(await tempDir(), 'keyring.json');
      await fs.writeFile(
        file,
        JSON.stringify({
          keys: [{ key_id: fx.keyId, algorithm: 'ed25519', public_key: publicKey, created_at: null, expires_at: null, revoked_at: null, ...record }],
        }),
      );
      return file;
    };
    const before = '2020-01-01T00:00:00.000Z';
    const after = '2999-01-01T00:00:00.000Z';

    const revoked = await cli(['verify', archive, '--keyring', await ring({ revoked_at: before })]);
    expect(revoked.exitCode).toBe(1);
    expect(revoked.stderr).toContain(
      `key ${fx.keyId} was revoked on ${before}; the signature was made on ${sig.created_at}, after the revocation [KEY_REVOKED]`,
    );

    const later = await cli(['verify', archive, '--keyring', await ring({ revoked_at: after })]);
    expect(later.exitCode, later.stderr).toBe(0);
    expect(later.stderr).toMatch(/was revoked on 2999-01-01T00:00:00.000Z, after the signature was made .*: it still verifies \[KEY_REVOKED_LATER\]/);

    const expired = await cli(['verify', archive, '--keyring', await ring({ expires_at: before })]);
    expect(expired.exitCode).toBe(1);
    expect(expired.stderr).toContain(`key ${fx.keyId} expired on ${before}; the signature was made on ${sig.created_at}, after it expired [KEY_EXPIRED]`);

    const wrongId = await cli(['verify', archive, '--keyring', await ring({ key_id: '0000000000000000' })]);
    expect(wrongId.exitCode).toBe(2);
    expect(wrongId.stderr).toMatch(/the keyring .* is not usable: key 1: "key_id" "0000000000000000" is not the id of its public key/);
  });
});

describe('the private key', () => {
  it('is 0600 and appears in no output of this file (canary grep)', async () => {
    expect((await fs.stat(fx.keyFile)).mode & 0o777).toBe(0o600);
    expect(outputs.length).toBeGreaterThan(20);
    for (const text of outputs) expect(text).not.toContain(fx.canary);
    // Nor in --verbose output of a failing signed build.
    const r = await runMain(['--verbose', 'build', '--sign', '--key', fx.keyFile], { cwd: await tempDir() });
    expect(r.stdout + r.stderr).not.toContain(fx.canary);
  });
});
