/**
 * The attestations on the marketplace, against the real development
 * marketplace on 127.0.0.1:0: submit sends the SBOM and the provenance
 * envelope build wrote, the server checks them against the archive and the
 * developer's registered keys (each tampering refused with its own code,
 * nothing stored), status/info show them, GET …/sbom and …/provenance serve
 * them, and `marketplace download` verifies them (the publisher's signature,
 * the subject, the marketplace's counter-signature) before it writes
 * anything.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { runMain } from '../helpers/run-main.js';
import { listFiles, tempDir } from '../helpers/temp-project.js';
import { uniqueName } from './marketplace-helpers.js';
import { writeSources } from './marketplace-plugin.js';

let srv!: DevServer;
useDevServer((s) => (srv = s), { autoApprove: true });

let home: string;
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function cli(args: string[], opts: { cwd?: string; token?: string } = {}) {
  return runMain(args, {
    cwd: opts.cwd,
    env: { XDG_CONFIG_HOME: home, PLEXICHAT_SIGNING_KEY: undefined, PLEXICHAT_MARKETPLACE_URL: srv.url, PLEXICHAT_TOKEN: opts.token ?? srv.developer },
  });
}

async function newKey(label: string, register: boolean): Promise<{ file: string; pub: string; id: string }> {
  const file = path.join(home, `${label}.pem`);
  const r = await cli(['keys', 'generate', '--out', file]);
  expect(r.exitCode, r.stderr).toBe(0);
  if (register) expect((await cli(['marketplace', 'keys', 'add', `${file}.pub`])).exitCode).toBe(0);
  return { file, pub: `${file}.pub`, id: /key id\s+([0-9a-f]{16})/.exec(r.stdout)![1] };
}

interface Built {
  dir: string;
  name: string;
  version: string;
  archive: string;
  sbom: string;
  provenance: string;
}

async function built(name: string, version: string, key: { file: string } | undefined): Promise<Built> {
  const dir = await tempDir({}, 'pxp-att-');
  await writeSources(dir, { name, version });
  const r = await cli(['build', ...(key ? ['--sign', '--key', key.file] : ['--no-sign'])], { cwd: dir });
  expect(r.exitCode, r.stderr).toBe(0);
  const base = path.join(dir, 'dist', `${name}-${version}`);
  return { dir, name, version, archive: `${base}.zip`, sbom: `${base}.cdx.json`, provenance: `${base}.intoto.jsonl` };
}

/** POST the parts by hand (the CLI checks the files before it sends them: the server's own checks are tested here). */
async function rawSubmit(b: Built, parts: { sbom?: Buffer | string; provenance?: Buffer | string; archive?: string }) {
  const prep = await cli(['--json', 'marketplace', 'prepare'], { cwd: b.dir });
  const listing = JSON.parse(prep.stdout).listing;
  expect(listing, prep.stdout).toBeTruthy();
  const form = new FormData();
  form.append('listing', JSON.stringify(listing));
  const sig = await fs.readFile(`${b.archive}.sig`, 'utf8').catch(() => undefined);
  if (sig !== undefined) form.append('signature', sig);
  // As files: a string field's line ends would be sent as CRLF.
  if (parts.sbom !== undefined) form.append('sbom', new Blob([parts.sbom]), 'sbom.cdx.json');
  if (parts.provenance !== undefined) form.append('provenance', new Blob([parts.provenance]), 'provenance.intoto.jsonl');
  form.append('archive', new Blob([await fs.readFile(parts.archive ?? b.archive)]), path.basename(b.archive));
  const res = await fetch(`${srv.api}/plugins/${b.name}/submissions`, { method: 'POST', body: form, headers: { authorization: `Bearer ${srv.developer}` } });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string }; id?: string } };
}

/** The envelope with its statement changed (not signed again). */
function editPayload(envelopeLine: string, edit: (statement: Record<string, unknown>) => void): string {
  const env = JSON.parse(envelopeLine);
  const statement = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
  edit(statement);
  env.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
  return `${JSON.stringify(env)}\n`;
}

/** One hex digit of the archive's subject digest changed (same length). */
function editSubject(s: Record<string, unknown>): void {
  const d = (s.subject as { digest: { sha256: string } }[])[0].digest;
  d.sha256 = `${d.sha256[0] === '0' ? '1' : '0'}${d.sha256.slice(1)}`;
}

/** The build type's last character changed (same length). */
function editBuildType(s: Record<string, unknown>): void {
  const def = (s.predicate as { buildDefinition: { buildType: string } }).buildDefinition;
  def.buildType = def.buildType.replace(/v1$/, 'v2');
}

/** One byte in the middle of the archive flipped (same length). */
function flipMiddle(latin1: string): Buffer {
  const b = Buffer.from(latin1, 'latin1');
  b[b.length >> 1] ^= 0x20;
  return b;
}

function flipSig(envelopeLine: string): string {
  const env = JSON.parse(envelopeLine);
  const raw = Buffer.from(env.signatures[0].sig, 'base64');
  raw[5] ^= 1;
  env.signatures[0].sig = raw.toString('base64');
  return `${JSON.stringify(env)}\n`;
}

let alice: { file: string; pub: string; id: string };
let stranger: { file: string; pub: string; id: string };

beforeAll(async () => {
  home = await tempDir({}, 'pxp-att-home-');
  alice = await newKey('alice', true);
  stranger = await newKey('stranger', false);
});

describe('submit, status, info and the served files', () => {
  it('sends the SBOM and the envelope, the marketplace stores, shows, counter-signs and serves them', async () => {
    const b = await built(uniqueName('attested'), '1.0.0', alice);
    const sub = await cli(['--json', 'marketplace', 'submit'], { cwd: b.dir });
    expect(sub.exitCode, sub.stderr).toBe(0);
    const doc = JSON.parse(sub.stdout);
    const sbomBytes = await fs.readFile(b.sbom);
    const provBytes = await fs.readFile(b.provenance);
    expect(doc.attestations).toEqual({ sbom: sha(sbomBytes), provenance: sha(provBytes) });
    expect(doc.submission.attestations).toEqual({
      sbom: { sha256: sha(sbomBytes), size: sbomBytes.length },
      provenance: { sha256: sha(provBytes), size: provBytes.length, keyId: alice.id, slsaLevel: 'SLSA Build L1' },
      countersigned: false,
    });
    const human = await cli(['marketplace', 'status', doc.submission.id], { cwd: b.dir });
    expect(human.stdout).toContain(`SBOM        sha256 ${sha(sbomBytes).slice(0, 16)}`);
    expect(human.stdout).toContain(`signed by key ${alice.id} (SLSA Build L1: signed on the developer's machine)`);

    expect((await cli(['marketplace', 'publish'], { cwd: b.dir })).exitCode).toBe(0);
    const info = await cli(['marketplace', 'info', b.name]);
    expect(info.stdout).toContain('attestations counter-signed by the marketplace');
    const infoJson = JSON.parse((await cli(['--json', 'marketplace', 'info', b.name])).stdout);
    expect(infoJson.versions[0].attestations.countersigned).toBe(true);

    for (const [kind, bytes] of [
      ['sbom', sbomBytes],
      ['provenance', provBytes],
    ] as const) {
      const res = await fetch(`${srv.api}/plugins/${b.name}/versions/1.0.0/${kind}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-content-sha256')).toBe(sha(bytes));
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    }
    const sigs = (await (await fetch(`${srv.api}/plugins/${b.name}/versions/1.0.0/signatures`)).json()) as { attestations: { marketplace: unknown } };
    expect(sigs.attestations.marketplace).toMatchObject({ payloadType: 'application/vnd.in-toto+json' });
    // Stored content-addressed, beside the archive's store.
    await expect(fs.readFile(path.join(srv.dataDir, 'attestations', sha(sbomBytes).slice(0, 2), `${sha(sbomBytes)}.cdx.json`))).resolves.toEqual(sbomBytes);
  });

  it('an unsigned build sends its SBOM alone; a version without attestations answers 404 ATTESTATION_NOT_FOUND for them', async () => {
    const b = await built(uniqueName('sbom_only'), '1.0.0', undefined);
    const sub = await cli(['--json', 'marketplace', 'submit'], { cwd: b.dir });
    expect(sub.exitCode, sub.stderr).toBe(0);
    const doc = JSON.parse(sub.stdout);
    expect(doc.attestations.provenance).toBeNull();
    expect(doc.submission.attestations.provenance).toBeNull();
    expect((await cli(['marketplace', 'publish'], { cwd: b.dir })).exitCode).toBe(0);
    const res = await fetch(`${srv.api}/plugins/${b.name}/versions/1.0.0/provenance`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ATTESTATION_NOT_FOUND');
  });
});

describe('the server refuses tampered attestations, each with its own code, and stores nothing', () => {
  let b: Built;
  let other: Built;
  let sbom: string;
  let prov: string;
  beforeAll(async () => {
    const name = uniqueName('tamper_srv');
    b = await built(name, '1.0.0', alice);
    other = await built(name, '1.0.1', alice);
    sbom = await fs.readFile(b.sbom, 'utf8');
    prov = await fs.readFile(b.provenance, 'utf8');
  });

  const cases: [string, () => Promise<{ sbom?: string; provenance?: string; archive?: string }>, string][] = [
    [
      'an SBOM whose file component digest was edited',
      async () => ({ sbom: sbom.replace(/"content": "([0-9a-f])/, (_m, c) => `"content": "${c === '0' ? '1' : '0'}`) }),
      'SBOM_MISMATCH',
    ],
    ['an SBOM that is not JSON', async () => ({ sbom: '{"bomFormat": ' }), 'SBOM_MALFORMED'],
    ['an SBOM of another archive', async () => ({ sbom: await fs.readFile(other.sbom, 'utf8') }), 'SBOM_MISMATCH'],
    [
      'an SBOM edited after the provenance was signed',
      async () => ({ sbom: sbom.replace('"serialNumber": "urn:uuid:', '"serialNumber": "urn:uuid:0'), provenance: prov }),
      'SBOM_MISMATCH',
    ],
    ['an envelope whose payload was edited', async () => ({ provenance: editPayload(prov, editBuildType) }), 'PROVENANCE_INVALID'],
    ['an envelope whose subject digest was edited', async () => ({ provenance: editPayload(prov, editSubject) }), 'PROVENANCE_INVALID'],
    ['an envelope whose signature was edited', async () => ({ provenance: flipSig(prov) }), 'PROVENANCE_INVALID'],
    ['an envelope that is not JSON', async () => ({ provenance: 'not json\n' }), 'PROVENANCE_MALFORMED'],
    [
      'an envelope about another archive (signed by the same key)',
      async () => ({ provenance: await fs.readFile(other.provenance, 'utf8') }),
      'PROVENANCE_WRONG_SUBJECT',
    ],
    ['an archive that is not the one the envelope names', async () => ({ provenance: prov, archive: other.archive }), 'LISTING_MISMATCH'],
  ];
  for (const [what, parts, code] of cases) {
    it(`${what}: ${code}`, async () => {
      const before = srv.countSubmissions(b.name);
      const r = await rawSubmit(b, await parts());
      expect(r.status, JSON.stringify(r.body)).toBe(422);
      expect(r.body.error?.code).toBe(code);
      expect(srv.countSubmissions(b.name)).toBe(before);
    });
  }

  it('an envelope signed by a key the developer never registered: UNKNOWN_KEY', async () => {
    const s = await built(uniqueName('tamper_key'), '1.0.0', stranger);
    // The .sig is the stranger's too: send the archive unsigned, with the stranger's envelope.
    await fs.rm(`${s.archive}.sig`);
    const r = await rawSubmit(s, { provenance: await fs.readFile(s.provenance, 'utf8') });
    expect(r.body.error?.code).toBe('UNKNOWN_KEY');
    expect(r.body.error?.message).toMatch(/marketplace keys add/);
  });

  it('the untampered parts are accepted by the same route', async () => {
    const r = await rawSubmit(b, { sbom, provenance: prov });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  });
});

describe('marketplace download verifies the attestations and writes nothing on refusal', () => {
  it('writes the SBOM and the envelope beside the archive; verify --key accepts them', async () => {
    const b = await built(uniqueName('dl_ok'), '1.0.0', alice);
    expect((await cli(['marketplace', 'submit'], { cwd: b.dir })).exitCode).toBe(0);
    expect((await cli(['marketplace', 'publish'], { cwd: b.dir })).exitCode).toBe(0);
    const out = await tempDir({}, 'pxp-att-out-');
    const r = await cli(['--json', 'marketplace', 'download', `${b.name}@1.0.0`, '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.attestations.provenance).toMatchObject({ keyId: alice.id, slsaLevel: 'SLSA Build L1' });
    expect(await fs.readFile(path.join(out, `${b.name}-1.0.0.cdx.json`))).toEqual(await fs.readFile(b.sbom));
    expect(await fs.readFile(path.join(out, `${b.name}-1.0.0.intoto.jsonl`))).toEqual(await fs.readFile(b.provenance));
    const v = await cli(['--json', 'verify', path.join(out, `${b.name}-1.0.0.zip`), '--key', alice.pub]);
    expect(v.exitCode, v.stdout).toBe(0);
    expect(JSON.parse(v.stdout).provenance.status).toBe('verified');
  });

  describe('tampering in the marketplace store', () => {
    let signed: Built;
    let unsigned: Built;
    beforeAll(async () => {
      signed = await built(uniqueName('dl_tamper'), '1.0.0', alice);
      unsigned = await built(uniqueName('dl_tamper_u'), '1.0.0', undefined);
      for (const b of [signed, unsigned]) {
        expect((await cli(['marketplace', 'submit'], { cwd: b.dir })).exitCode).toBe(0);
        expect((await cli(['marketplace', 'publish'], { cwd: b.dir })).exitCode).toBe(0);
      }
    });

    const blob = async (file: string, ext: string) => {
      const bytes = await fs.readFile(file);
      return path.join(srv.dataDir, ext === '.zip' ? 'archives' : 'attestations', sha(bytes).slice(0, 2), `${sha(bytes)}${ext}`);
    };

    const cases: [string, () => Built, (b: Built) => Promise<[string, (text: string) => string | Buffer]>, string][] = [
      [
        'the SBOM',
        () => signed,
        async (b) => [await blob(b.sbom, '.cdx.json'), (t) => t.replace('"serialNumber": "urn:uuid:', '"serialNumber": "urn:uuid:0')],
        'SBOM_MISMATCH',
      ],
      [
        'an SBOM file component',
        () => signed,
        async (b) => [await blob(b.sbom, '.cdx.json'), (t) => t.replace(/"content": "([0-9a-f])/, (_m, c) => `"content": "${c === '0' ? '1' : '0'}`)],
        'SBOM_MISMATCH',
      ],
      // Edits that keep the length: the store serves the size it recorded.
      [
        'the envelope payload',
        () => signed,
        async (b) => [await blob(b.provenance, '.intoto.jsonl'), (t) => editPayload(t, editBuildType)],
        'PROVENANCE_INVALID',
      ],
      ['the subject digest', () => signed, async (b) => [await blob(b.provenance, '.intoto.jsonl'), (t) => editPayload(t, editSubject)], 'PROVENANCE_INVALID'],
      ['the envelope signature', () => signed, async (b) => [await blob(b.provenance, '.intoto.jsonl'), flipSig], 'PROVENANCE_INVALID'],
      ['the envelope (not JSON)', () => signed, async (b) => [await blob(b.provenance, '.intoto.jsonl'), (t) => `x${t.slice(1)}`], 'PROVENANCE_MALFORMED'],
      [
        'an unsigned version’s SBOM',
        () => unsigned,
        async (b) => [await blob(b.sbom, '.cdx.json'), (t) => t.replace('"serialNumber": "urn:uuid:', '"serialNumber": "urn:uuid:0')],
        'ATTESTATION_COUNTERSIGNATURE_INVALID',
      ],
      ['the archive', () => signed, async (b) => [await blob(b.archive, '.zip'), flipMiddle], 'SIGNATURE_INVALID'],
    ];
    for (const [what, which, target, code] of cases) {
      it(`${what}: ${code}, nothing written`, async () => {
        const b = which();
        const [file, edit] = await target(b);
        const original = await fs.readFile(file);
        await fs.writeFile(file, edit(original.toString(what === 'the archive' ? 'latin1' : 'utf8')));
        try {
          const out = await tempDir({}, 'pxp-att-out-');
          const r = await cli(['--json', 'marketplace', 'download', `${b.name}@1.0.0`, '--out', out]);
          expect(r.exitCode, r.stdout).toBe(1);
          expect(JSON.parse(r.stdout).error.code).toBe(code);
          expect(await listFiles(out)).toEqual([]);
        } finally {
          await fs.writeFile(file, original);
        }
      });
    }
  });
});

describe('what changed in the SBOM: validate --against and submit', () => {
  async function withPackages(name: string, version: string, packages: string[]): Promise<Built> {
    const dir = await tempDir({}, 'pxp-att-diff-');
    await writeSources(dir, { name, version });
    const manifest = path.join(dir, 'config', 'plugin.yaml');
    await fs.appendFile(manifest, `dependencies:\n  packages: [${packages.map((p) => JSON.stringify(p)).join(', ')}]\n`);
    const r = await cli(['build', '--sign', '--key', alice.file], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const base = path.join(dir, 'dist', `${name}-${version}`);
    return { dir, name, version, archive: `${base}.zip`, sbom: `${base}.cdx.json`, provenance: `${base}.intoto.jsonl` };
  }

  it('components added, removed and with another requirement, against an archive and against the published version, in text and --json', async () => {
    const name = uniqueName('sbom_diff');
    const v1 = await withPackages(name, '1.0.0', ['requests>=2.31', 'six', 'idna==3.6']);
    expect((await cli(['marketplace', 'submit'], { cwd: v1.dir })).exitCode).toBe(0);
    expect((await cli(['marketplace', 'publish'], { cwd: v1.dir })).exitCode).toBe(0);
    const v2 = await withPackages(name, '1.1.0', ['requests>=2.32', 'attrs', 'idna==3.6', 'packaging']);
    const expected = {
      added: [
        { name: 'attrs', version: 'attrs' },
        { name: 'packaging', version: 'packaging' },
      ],
      removed: [{ name: 'six', version: 'six' }],
      changed: [{ name: 'requests', from: 'requests>=2.31', to: 'requests>=2.32' }],
    };
    for (const against of [v1.archive, 'published']) {
      const r = await cli(['--json', 'validate', '--against', against], { cwd: v2.dir });
      expect(r.exitCode, r.stdout).toBe(0);
      expect(JSON.parse(r.stdout).against.sbomDiff).toEqual(expected);
      const text = await cli(['validate', '--against', against], { cwd: v2.dir });
      expect(text.stdout).toContain('+ component attrs attrs');
      expect(text.stdout).toContain('- component six six');
      expect(text.stdout).toContain('~ component requests requests>=2.31 → requests>=2.32');
    }
    const sub = await cli(['--json', 'marketplace', 'submit'], { cwd: v2.dir });
    expect(sub.exitCode, sub.stdout).toBe(0);
    expect(JSON.parse(sub.stdout).sbomDiff).toEqual(expected);
  });

  it('an archive without an SBOM beside it gives no SBOM diff; an unchanged one says so', async () => {
    const name = uniqueName('sbom_same');
    const v1 = await withPackages(name, '1.0.0', ['six']);
    const v2 = await withPackages(name, '1.0.1', ['six']);
    const same = await cli(['validate', '--against', v1.archive], { cwd: v2.dir });
    expect(same.stdout).toContain('SBOM components: unchanged');
    await fs.rm(v1.sbom);
    const none = await cli(['--json', 'validate', '--against', v1.archive], { cwd: v2.dir });
    expect(JSON.parse(none.stdout).against.sbomDiff).toBeUndefined();
  });
});
