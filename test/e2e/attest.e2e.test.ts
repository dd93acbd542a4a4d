/**
 * Supply-chain attestations (docs/signing.md, "SBOM and build provenance"):
 * the CycloneDX SBOM every build writes, validated against the official
 * CycloneDX 1.6 JSON schema; the signed provenance envelope of a signed
 * build, checked by an independent verifier (Python's `cryptography`) and
 * by `verify`, with a distinct code for each kind of tampering.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { listFiles, tempDir } from '../helpers/temp-project.js';
import { manifestYaml, writeSources } from './marketplace-plugin.js';

const require = createRequire(import.meta.url);
const schemaDir = path.join(path.dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')), 'res/schema');

async function cycloneDxValidator() {
  const read = async (f: string) => JSON.parse(await fs.readFile(path.join(schemaDir, f), 'utf8')) as Record<string, unknown>;
  // The official schema: draft-07 with its own annotations (meta:enum), so not strict; its SPDX and JSF parts are referenced by file name.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  // ajv-formats has no IRI formats: what this CLI writes there is ASCII, so the URI forms check it.
  ajv.addFormat('iri-reference', /^[^\s]+$/);
  ajv.addFormat('idn-email', /^[^\s@]+@[^\s@]+$/);
  for (const f of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json'])
    ajv.addSchema({ ...(await read(f)), $id: `http://cyclonedx.org/schema/${f}` });
  return ajv.compile(await read('bom-1.6.SNAPSHOT.schema.json'));
}

const PACKAGES = ['requests>=2.31', 'Pydantic_Core[email]>=2,<3'];

interface Fixture {
  home: string;
  keyFile: string;
  pubFile: string;
  keyId: string;
  /** A signed build of plugin A inside a git repository, and of plugin B (same key): their dist folders. */
  a: string;
  b: string;
  commit: string;
}
let fx: Fixture;

async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  return runMain(args, { ...opts, env: { XDG_CONFIG_HOME: fx.home, PLEXICHAT_SIGNING_KEY: undefined, ...opts.env } });
}

async function project(name: string): Promise<string> {
  const dir = await tempDir({}, 'pxp-attest-');
  await writeSources(dir, { name });
  const deps = `dependencies:\n  python: ">=3.8"\n  packages:\n${PACKAGES.map((p) => `    - ${JSON.stringify(p)}\n`).join('')}`;
  await fs.writeFile(path.join(dir, 'config/plugin.yaml'), manifestYaml(name, '1.0.0') + deps);
  return dir;
}

const git = (dir: string, args: string[]) =>
  execa('git', args, {
    cwd: dir,
    env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' },
  });

/** Copy an archive and its files beside it into a fresh folder to tamper with. */
async function copyOf(dist: string, name: string): Promise<string> {
  const dir = await tempDir();
  for (const f of await fs.readdir(dist)) if (f.startsWith(name)) await fs.copyFile(path.join(dist, f), path.join(dir, f));
  return path.join(dir, `${name}.zip`);
}

async function verifyJson(archive: string, extra: string[] = ['--key', fx.pubFile]) {
  const r = await cli(['--json', 'verify', archive, ...extra]);
  expect(hasStackTrace(r.stderr), r.stderr).toBe(false);
  return { ...r, doc: JSON.parse(r.stdout) };
}

const codes = (doc: { findings: { severity: string; code: string }[] }) => doc.findings.filter((f) => f.severity === 'error').map((f) => f.code);

beforeAll(async () => {
  const home = await tempDir({}, 'pxp-attest-home-');
  const keyFile = path.join(home, 'key.pem');
  const k = await runMain(['--json', 'keys', 'generate', '--out', keyFile], { cwd: home, env: { XDG_CONFIG_HOME: home } });
  expect(k.exitCode, k.stderr).toBe(0);
  fx = { home, keyFile, pubFile: `${keyFile}.pub`, keyId: JSON.parse(k.stdout).keyId, a: '', b: '', commit: '' };
  const a = await project('attest_alpha');
  await git(a, ['init', '-q']);
  await git(a, ['add', '-A']);
  await git(a, ['commit', '-qm', 'first']);
  fx.commit = (await git(a, ['rev-parse', 'HEAD'])).stdout.trim();
  const b = await project('attest_beta');
  for (const dir of [a, b]) {
    const r = await cli(['build', '--sign', '--key', keyFile], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/provenance .*\.intoto\.jsonl \(SLSA Build L1: signed on this machine, not by a build service\)/);
  }
  fx.a = path.join(a, 'dist');
  fx.b = path.join(b, 'dist');
}, 120_000);

describe('the SBOM', () => {
  it('every build writes <name>-<version>.cdx.json: valid CycloneDX 1.6, the archive as the root, its members and the declared packages', async () => {
    const dir = await project('attest_gamma');
    const r = await cli(['--json', 'build', '--no-sign'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const built = JSON.parse(r.stdout);
    expect(built.sbom).toEqual({ file: path.join(dir, 'dist/attest_gamma-1.0.0.cdx.json') });
    expect(built.provenance).toBeUndefined();
    expect(await listFiles(path.join(dir, 'dist'))).toEqual(['attest_gamma-1.0.0.cdx.json', 'attest_gamma-1.0.0.zip', 'attest_gamma-1.0.0.zip.sha256']);

    const sbom = JSON.parse(await fs.readFile(built.sbom.file, 'utf8'));
    const validate = await cycloneDxValidator();
    expect(validate(sbom), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // The validator does refuse what breaks the schema.
    expect(validate({ ...sbom, metadata: { ...sbom.metadata, component: { ...sbom.metadata.component, type: 'plugin' } } })).toBe(false);
    expect(sbom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6', version: 1 });
    expect(sbom.metadata.component).toMatchObject({
      name: 'attest_gamma',
      version: '1.0.0',
      hashes: [{ alg: 'SHA-256', content: built.sha256 }],
      licenses: [{ expression: 'MIT' }],
      authors: [{ name: 'Test Author' }],
    });
    // The file components are the integrity listing's records.
    const listing = JSON.parse((await execa('unzip', ['-p', path.join(dir, 'dist/attest_gamma-1.0.0.zip'), 'plexichat-integrity.json'])).stdout);
    const files = sbom.components.filter((c: { type: string }) => c.type === 'file');
    expect(files.map((c: { name: string; hashes: { content: string }[] }) => [c.name, c.hashes[0].content])).toEqual(
      listing.files.map((f: { path: string; sha256: string }) => [f.path, f.sha256]),
    );
    const libs = sbom.components.filter((c: { type: string }) => c.type === 'library');
    expect(libs).toEqual([
      {
        type: 'library',
        'bom-ref': 'pypi:requests',
        name: 'requests',
        scope: 'required',
        purl: 'pkg:pypi/requests',
        properties: [
          { name: 'plexichat:requirement', value: 'requests>=2.31' },
          { name: 'plexichat:provided-by', value: 'platform' },
        ],
      },
      {
        type: 'library',
        'bom-ref': 'pypi:pydantic-core',
        name: 'pydantic-core',
        scope: 'required',
        purl: 'pkg:pypi/pydantic-core',
        properties: [
          { name: 'plexichat:requirement', value: 'Pydantic_Core[email]>=2,<3' },
          { name: 'plexichat:provided-by', value: 'platform' },
        ],
      },
    ]);
    expect(sbom.dependencies[0]).toEqual({ ref: 'plugin:attest_gamma@1.0.0', dependsOn: ['pypi:requests', 'pypi:pydantic-core'] });

    // An unsigned build's SBOM matches; there is no provenance, and no error for that.
    const v = await verifyJson(path.join(dir, 'dist/attest_gamma-1.0.0.zip'), []);
    expect(v.exitCode, v.stderr).toBe(0);
    expect(v.doc.sbom).toEqual({ status: 'matches', file: path.join(dir, 'dist/attest_gamma-1.0.0.cdx.json') });
    expect(v.doc.provenance).toEqual({ status: 'absent', file: path.join(dir, 'dist/attest_gamma-1.0.0.intoto.jsonl') });
  });

  it('a signed build SBOM validates too', async () => {
    const validate = await cycloneDxValidator();
    const sbom = JSON.parse(await fs.readFile(path.join(fx.a, 'attest_alpha-1.0.0.cdx.json'), 'utf8'));
    expect(validate(sbom), JSON.stringify(validate.errors)).toBe(true);
  });
});

/** An independent verifier: Python's `cryptography`, the DSSE PAE written out from the specification. */
const PY_VERIFY = `
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.serialization import load_pem_public_key
envelope_file, pub_file, archive_file = sys.argv[1:4]
env = json.loads(open(envelope_file, encoding='utf-8').readline())
body = base64.b64decode(env['payload'])
ptype = env['payloadType'].encode('utf-8')
pae = b'DSSEv1 %d %s %d %s' % (len(ptype), ptype, len(body), body)
key = load_pem_public_key(open(pub_file, 'rb').read())
key.verify(base64.b64decode(env['signatures'][0]['sig']), pae)
statement = json.loads(body)
archive_sha = hashlib.sha256(open(archive_file, 'rb').read()).hexdigest()
assert statement['subject'][0]['digest']['sha256'] == archive_sha, 'subject is not the archive'
print(json.dumps({'payloadType': env['payloadType'], 'keyid': env['signatures'][0].get('keyid'), 'statement': statement}))
`;

describe('the provenance envelope', () => {
  it('is verified by an independent checker (Python cryptography): DSSE over an in-toto Statement v1 with an SLSA Provenance v1 predicate', async () => {
    const archive = path.join(fx.a, 'attest_alpha-1.0.0.zip');
    const envFile = path.join(fx.a, 'attest_alpha-1.0.0.intoto.jsonl');
    const text = await fs.readFile(envFile, 'utf8');
    expect(text.split('\n')).toHaveLength(2); // one line, one envelope
    const r = await execa('python3', ['-c', PY_VERIFY, envFile, fx.pubFile, archive], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.payloadType).toBe('application/vnd.in-toto+json');
    expect(out.keyid).toBe(fx.keyId);
    const s = out.statement;
    expect(s._type).toBe('https://in-toto.io/Statement/v1');
    expect(s.predicateType).toBe('https://slsa.dev/provenance/v1');
    const sbomSha = (await execa('sha256sum', [path.join(fx.a, 'attest_alpha-1.0.0.cdx.json')])).stdout.split(' ')[0];
    expect(s.subject[1]).toEqual({ name: 'attest_alpha-1.0.0.cdx.json', digest: { sha256: sbomSha } });
    expect(s.subject[0].name).toBe('attest_alpha-1.0.0.zip');
    const bd = s.predicate.buildDefinition;
    expect(bd.buildType).toBe('urn:plexichat-plugin-cli:build:v1');
    expect(bd.externalParameters).toEqual({ plugin: { name: 'attest_alpha', version: '1.0.0' }, includeTests: false, allowSecrets: [], sourceDateEpoch: null });
    expect(bd.resolvedDependencies[0]).toEqual({ name: 'git', digest: { gitCommit: fx.commit }, annotations: { dirty: false } });
    const pluginPy = (await execa('sha256sum', [path.join(path.dirname(fx.a), 'src/plugin.py')])).stdout.split(' ')[0];
    expect(bd.resolvedDependencies).toContainEqual({ name: 'src/plugin.py', digest: { sha256: pluginPy } });
    const version = JSON.parse(await fs.readFile(new URL('../../package.json', import.meta.url), 'utf8')).version;
    expect(s.predicate.runDetails.builder).toEqual({ id: `urn:plexichat-plugin-cli:local-build:${version}`, version: { 'plexichat-plugin-cli': version } });
  });

  it('verify --key: the SBOM matches and the provenance verifies (Build L1 said); without a key it is unchecked', async () => {
    const archive = path.join(fx.a, 'attest_alpha-1.0.0.zip');
    const v = await verifyJson(archive);
    expect(v.exitCode, v.stderr).toBe(0);
    expect(v.doc.sbom.status).toBe('matches');
    expect(v.doc.provenance).toMatchObject({ status: 'verified', keyId: fx.keyId, commit: fx.commit, slsaLevel: 'SLSA Build L1' });
    const human = await cli(['verify', archive, '--key', fx.pubFile]);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toContain(`provenance signed by key ${fx.keyId}`);
    expect(human.stdout).toContain('SLSA Build L1');
    expect(human.stdout).not.toMatch(/L[234]/);
    const plain = await verifyJson(archive, []);
    expect(plain.exitCode).toBe(0);
    expect(plain.doc.provenance.status).toBe('unchecked');
  });

  it('an unsigned rebuild removes the stale envelope', async () => {
    const dir = await project('attest_delta');
    expect((await cli(['build', '--sign', '--key', fx.keyFile], { cwd: dir })).exitCode).toBe(0);
    expect(await listFiles(path.join(dir, 'dist'))).toContain('attest_delta-1.0.0.intoto.jsonl');
    expect((await cli(['build', '--no-sign'], { cwd: dir })).exitCode).toBe(0);
    expect(await listFiles(path.join(dir, 'dist'))).toEqual(['attest_delta-1.0.0.cdx.json', 'attest_delta-1.0.0.zip', 'attest_delta-1.0.0.zip.sha256']);
  });
});

describe('tampering fails verify, each with its own code', () => {
  const A = 'attest_alpha-1.0.0';

  it('an edited SBOM: SBOM_MISMATCH (changed after signing, or no longer the archive); a broken one: SBOM_MALFORMED', async () => {
    const archive = await copyOf(fx.a, A);
    const sbomFile = archive.replace(/\.zip$/, '.cdx.json');
    const original = await fs.readFile(sbomFile, 'utf8');
    // A field verify does not compare: caught by the signed digest.
    await fs.writeFile(sbomFile, original.replace('"MIT"', '"GPL-3.0-only"'));
    let v = await verifyJson(archive);
    expect(v.exitCode).toBe(1);
    expect(codes(v.doc)).toEqual(['SBOM_MISMATCH']);
    expect(v.doc.sbom).toMatchObject({ status: 'failed', code: 'SBOM_MISMATCH' });
    expect(v.doc.findings.find((f: { code: string }) => f.code === 'SBOM_MISMATCH').message).toMatch(/changed after the provenance was signed/);
    // A member's hash: caught without any key.
    const doc = JSON.parse(original);
    doc.components[0].hashes[0].content = '0'.repeat(64);
    await fs.writeFile(sbomFile, JSON.stringify(doc));
    v = await verifyJson(archive, []);
    expect(codes(v.doc)).toEqual(['SBOM_MISMATCH']);
    expect(v.doc.findings.find((f: { code: string }) => f.code === 'SBOM_MISMATCH').message).toMatch(/the file component \S+ has sha256 0000000000000000…/);
    await fs.writeFile(sbomFile, '{"bomFormat": "SPDX"}');
    v = await verifyJson(archive);
    expect(codes(v.doc)).toEqual(['SBOM_MALFORMED']);
    const human = await cli(['verify', archive, '--key', fx.pubFile]);
    expect(human.exitCode).toBe(1);
    expect(human.stdout).toContain('the SBOM: does not match the archive [SBOM_MALFORMED]');
  });

  it('an edited envelope: PROVENANCE_INVALID with a key; a broken one: PROVENANCE_MALFORMED', async () => {
    const archive = await copyOf(fx.a, A);
    const envFile = archive.replace(/\.zip$/, '.intoto.jsonl');
    const env = JSON.parse(await fs.readFile(envFile, 'utf8'));
    const statement = JSON.parse(Buffer.from(env.payload, 'base64').toString());
    statement.predicate.buildDefinition.externalParameters.includeTests = true;
    await fs.writeFile(envFile, `${JSON.stringify({ ...env, payload: Buffer.from(JSON.stringify(statement)).toString('base64') })}\n`);
    const v = await verifyJson(archive);
    expect(v.exitCode).toBe(1);
    expect(codes(v.doc)).toEqual(['PROVENANCE_INVALID']);
    expect(v.doc.provenance).toMatchObject({ status: 'failed', code: 'PROVENANCE_INVALID' });
    await fs.writeFile(envFile, '{"payloadType": "application/vnd.in-toto+json"}\n');
    expect(codes((await verifyJson(archive)).doc)).toEqual(['PROVENANCE_MALFORMED']);
  });

  it("another archive's envelope: PROVENANCE_WRONG_SUBJECT (and its SBOM: SBOM_MISMATCH)", async () => {
    const archive = await copyOf(fx.a, A);
    await fs.copyFile(path.join(fx.b, 'attest_beta-1.0.0.intoto.jsonl'), archive.replace(/\.zip$/, '.intoto.jsonl'));
    let v = await verifyJson(archive);
    expect(codes(v.doc)).toEqual(['PROVENANCE_WRONG_SUBJECT']);
    expect(v.doc.findings.find((f: { code: string }) => f.code === 'PROVENANCE_WRONG_SUBJECT').message).toMatch(
      /about another archive: attest_beta-1\.0\.0\.zip/,
    );
    await fs.copyFile(path.join(fx.a, `${A}.intoto.jsonl`), archive.replace(/\.zip$/, '.intoto.jsonl'));
    await fs.copyFile(path.join(fx.b, 'attest_beta-1.0.0.cdx.json'), archive.replace(/\.zip$/, '.cdx.json'));
    v = await verifyJson(archive);
    expect(codes(v.doc)).toEqual(['SBOM_MISMATCH']);
  });

  it('an envelope by a key that is not trusted: UNKNOWN_KEY', async () => {
    const other = path.join(fx.home, 'other.pem');
    expect((await runMain(['keys', 'generate', '--out', other], { cwd: fx.home })).exitCode).toBe(0);
    const v = await verifyJson(path.join(fx.a, `${A}.zip`), ['--key', `${other}.pub`]);
    expect(codes(v.doc)).toEqual(['UNKNOWN_KEY', 'UNKNOWN_KEY']);
    expect(v.doc.provenance).toMatchObject({ status: 'failed', code: 'UNKNOWN_KEY' });
  });

  it('marketplace prepare (and so submit) refuses an archive whose SBOM was edited, before anything is sent', async () => {
    const dir = await tempDir({}, 'pxp-attest-');
    await fs.cp(path.dirname(fx.a), dir, { recursive: true });
    const sbomFile = path.join(dir, 'dist', `${A}.cdx.json`);
    await fs.writeFile(sbomFile, (await fs.readFile(sbomFile, 'utf8')).replace('"MIT"', '"GPL-3.0-only"'));
    const r = await cli(['--json', 'marketplace', 'prepare'], { cwd: dir, env: { PLEXICHAT_MARKETPLACE_URL: undefined, PLEXICHAT_TOKEN: undefined } });
    expect(r.exitCode).toBe(1);
    const error = JSON.parse(r.stdout).error;
    expect(error.code).toBe('ARCHIVE_REFUSED');
    expect(error.message).toMatch(/changed after the provenance was signed .*\[SBOM_MISMATCH\]/);
  });

  it('a changed archive fails its signature, its SBOM and its provenance', async () => {
    const archive = await copyOf(fx.a, A);
    const bytes = await fs.readFile(archive);
    await fs.writeFile(archive, Buffer.concat([bytes, Buffer.from('junk')]));
    const v = await verifyJson(archive);
    expect(v.exitCode).toBe(1);
    expect(codes(v.doc)).toEqual(expect.arrayContaining(['SIGNATURE_INVALID', 'SBOM_MISMATCH', 'PROVENANCE_WRONG_SUBJECT']));
  });
});
