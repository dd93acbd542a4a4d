/**
 * Checking the attestations beside an archive, offline: the SBOM
 * (`.cdx.json`) describes the archive, and the provenance envelope
 * (`.intoto.jsonl`) is signed by a trusted key, names the archive as its
 * subject and the SBOM as it was signed. One rule for `verify` (and what
 * builds on it). Each failure has its own code (docs/signing.md):
 *
 *   SBOM_MALFORMED            the .cdx.json is not a CycloneDX SBOM this CLI reads
 *   SBOM_MISMATCH             it does not describe this archive, or changed after the provenance was signed
 *   PROVENANCE_MALFORMED      the .intoto.jsonl is not a DSSE envelope of an in-toto SLSA statement
 *   PROVENANCE_INVALID        its signature is not a trusted key's over its payload (the envelope was edited)
 *   PROVENANCE_WRONG_SUBJECT  it is a statement about another archive
 *   UNKNOWN_KEY, KEY_REVOKED, KEY_EXPIRED   as for the archive's signature (signing/verify.ts)
 */
import type { VerifyFinding } from '../core/package/verify.js';
import type { TrustedKey } from '../signing/keyring.js';
import { keyValidityAt, sha256Hex } from '../signing/verify.js';
import { envelopeBody, envelopeSignatureMatches, IN_TOTO_PAYLOAD_TYPE, MAX_ENVELOPE_BYTES, parseEnvelope, type Envelope } from './dsse.js';
import { readIfExists } from './files.js';
import { parseStatement, SLSA_LEVEL, type StatementFacts } from './provenance.js';
import { MAX_SBOM_BYTES, parseSbom, sbomDifference, type ArchiveView } from './sbom.js';

export interface SbomStatus {
  /** matches: describes this archive; absent: no file; failed: see code. */
  status: 'matches' | 'absent' | 'failed';
  file: string;
  code?: string;
  hint?: string;
}

export interface ProvenanceStatus {
  /** verified: signed by a trusted key; unchecked: names this archive, signer not checked (no key given); absent; failed. */
  status: 'verified' | 'unchecked' | 'absent' | 'failed';
  file: string;
  code?: string;
  hint?: string;
  key_id?: string;
  builder?: string;
  commit?: string;
  finished_on?: string;
  /** What a locally signed statement reaches, said with every provenance that is present. */
  slsa_level?: string;
}

export interface AttestationInput {
  /** The SBOM's and the envelope's absolute paths, and as the user would name them. */
  sbomFile: string;
  sbomShown: string;
  provenanceFile: string;
  provenanceShown: string;
  /** The archive's file name (what a statement's subject names). */
  archiveName: string;
  archive: ArchiveView;
  /** Trusted keys; undefined: the envelope's signer is not checked. */
  keys?: TrustedKey[];
  /** The files' bytes when they are already in memory (an upload, a download): the files are not read; absent means absent. */
  given?: { sbom?: Buffer; provenance?: Buffer };
}

export interface AttestationCheck {
  findings: VerifyFinding[];
  sbom: SbomStatus;
  provenance: ProvenanceStatus;
}

const REBUILD = 'rebuild and sign again (`plexichat-plugin build --sign`), or get an untampered copy';

/** What the checks share: the findings and both statuses so far, and the SBOM's text when there is one. */
interface Checking extends AttestationCheck {
  /** The SBOM's bytes (its sha256 is what the statement names). */
  sbomBytes?: Buffer;
}

function fail(c: Checking, which: 'sbom' | 'provenance', code: string, message: string, hint: string): void {
  c.findings.push({ severity: 'error', code, message });
  Object.assign(c[which], { status: 'failed', code, hint });
}

export async function checkAttestations(o: AttestationInput): Promise<AttestationCheck> {
  const c: Checking = { findings: [], sbom: { status: 'absent', file: o.sbomShown }, provenance: { status: 'absent', file: o.provenanceShown } };
  await checkSbom(o, c);
  await checkProvenance(o, c);
  return { findings: c.findings, sbom: c.sbom, provenance: c.provenance };
}

/** Bytes given in memory, within the same cap as a file. */
function sized(bytes: Buffer | undefined, maxBytes: number): Buffer | undefined {
  if (bytes !== undefined && bytes.length > maxBytes) throw new Error(`it is over ${maxBytes} bytes`);
  return bytes;
}

/** The SBOM, when there is one, describes the archive. */
async function checkSbom(o: AttestationInput, c: Checking): Promise<void> {
  try {
    c.sbomBytes = o.given ? sized(o.given.sbom, MAX_SBOM_BYTES) : await readIfExists(o.sbomFile, MAX_SBOM_BYTES);
  } catch (err) {
    fail(c, 'sbom', 'SBOM_MALFORMED', `${o.sbomShown} cannot be read: ${(err as Error).message}`, REBUILD);
    return;
  }
  if (c.sbomBytes === undefined) return;
  try {
    const difference = sbomDifference(parseSbom(c.sbomBytes.toString('utf8')), o.archive);
    if (difference) fail(c, 'sbom', 'SBOM_MISMATCH', `the SBOM ${o.sbomShown} does not describe this archive: ${difference}`, REBUILD);
    else c.sbom.status = 'matches';
  } catch (err) {
    fail(c, 'sbom', 'SBOM_MALFORMED', `${o.sbomShown} is not a CycloneDX SBOM: ${(err as Error).message}`, REBUILD);
  }
}

/** The envelope, when there is one: read, signed by a trusted key (when keys are given), about this archive and this SBOM. */
async function checkProvenance(o: AttestationInput, c: Checking): Promise<void> {
  let envText: string | undefined;
  try {
    const bytes = o.given ? sized(o.given.provenance, MAX_ENVELOPE_BYTES) : await readIfExists(o.provenanceFile, MAX_ENVELOPE_BYTES);
    envText = bytes?.toString('utf8');
  } catch (err) {
    fail(c, 'provenance', 'PROVENANCE_MALFORMED', `${o.provenanceShown} cannot be read: ${(err as Error).message}`, REBUILD);
    return;
  }
  if (envText === undefined) return;
  // One envelope per line (.intoto.jsonl): this CLI writes one; the first line that is not blank is read.
  let env: Envelope;
  try {
    env = parseEnvelope(envText.split('\n').find((l) => l.trim() !== '') ?? '');
    if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new Error(`its payloadType is ${JSON.stringify(env.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`);
  } catch (err) {
    fail(c, 'provenance', 'PROVENANCE_MALFORMED', `${o.provenanceShown} is not a provenance envelope: ${(err as Error).message}`, REBUILD);
    return;
  }
  c.provenance.slsa_level = SLSA_LEVEL;
  const keyid = env.signatures.find((s) => s.keyid !== undefined)?.keyid;
  if (keyid !== undefined) c.provenance.key_id = keyid;
  const signer = o.keys ? signerOf(o, c, env, o.keys, keyid) : undefined;
  if (o.keys && !signer) return;
  let statement: StatementFacts;
  try {
    statement = parseStatement(envelopeBody(env));
  } catch (err) {
    fail(c, 'provenance', 'PROVENANCE_MALFORMED', `${o.provenanceShown} is not a provenance envelope: ${(err as Error).message}`, REBUILD);
    return;
  }
  Object.assign(c.provenance, { builder: statement.builderId, finished_on: statement.finishedOn, ...(statement.commit ? { commit: statement.commit } : {}) });
  if (signer) {
    const v = keyValidityAt(signer, statement.finishedOn, `the provenance ${o.provenanceShown}`);
    if (v.note) c.findings.push({ severity: 'warning', code: v.note.code, message: v.note.message });
    if (v.problem) return fail(c, 'provenance', v.problem.code, v.problem.message, v.problem.hint);
  }
  const first = statement.subjects[0];
  if (!statement.subjects.some((s) => s.digest.sha256 === o.archive.sha256)) {
    return fail(
      c,
      'provenance',
      'PROVENANCE_WRONG_SUBJECT',
      `the provenance ${o.provenanceShown} is about another archive: ${first.name} with sha256 ${first.digest.sha256.slice(0, 16)}…, this archive (${o.archiveName}) has ${o.archive.sha256.slice(0, 16)}…`,
      'use the .intoto.jsonl that build wrote next to this archive',
    );
  }
  // The SBOM as it was signed: the statement names it with its sha256.
  const signedSbom = statement.subjects.find((s) => s.name.endsWith('.cdx.json'));
  if (signedSbom && c.sbomBytes !== undefined && c.sbom.status !== 'failed' && sha256Hex(c.sbomBytes) !== signedSbom.digest.sha256) {
    fail(
      c,
      'sbom',
      'SBOM_MISMATCH',
      `the SBOM ${o.sbomShown} changed after the provenance was signed (signed sha256 ${signedSbom.digest.sha256.slice(0, 16)}…, now ${sha256Hex(c.sbomBytes).slice(0, 16)}…)`,
      REBUILD,
    );
  }
  c.provenance.status = signer ? 'verified' : 'unchecked';
}

/** The trusted key whose signature is on the envelope (keyid is a hint only, as DSSE says); undefined after recording why not. */
function signerOf(o: AttestationInput, c: Checking, env: Envelope, keys: TrustedKey[], keyid: string | undefined): TrustedKey | undefined {
  const known = keys.map((k) => k.keyId);
  const candidates = env.signatures.flatMap((s) => keys.filter((k) => s.keyid === undefined || s.keyid === k.keyId).map((k) => ({ s, k })));
  if (candidates.length === 0) {
    fail(
      c,
      'provenance',
      'UNKNOWN_KEY',
      `the provenance ${o.provenanceShown} was signed with key ${keyid ?? '(no key id)'}, which is not ${known.length === 0 ? 'trusted (no keys given)' : `among the trusted keys (${known.join(', ')})`}`,
      "pass the signer's public key with --key <file> or a keyring with --keyring <file>",
    );
    return undefined;
  }
  const signer = candidates.find(({ s, k }) => envelopeSignatureMatches(env, s, k.publicKey))?.k;
  if (!signer) {
    fail(
      c,
      'provenance',
      'PROVENANCE_INVALID',
      `the provenance ${o.provenanceShown} does not match its signature (the envelope was edited after signing, or not signed by key ${keyid ?? known.join(', ')})`,
      REBUILD,
    );
    return undefined;
  }
  c.provenance.key_id = signer.keyId;
  return signer;
}
