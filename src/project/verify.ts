/**
 * Verify an archive file the way the marketplace does (core/package/verify.ts)
 * and check its publisher signature offline (src/signing): the operation
 * under `verify`, `marketplace prepare`/`submit` and `check`. It takes
 * resolved paths and trusted keys and returns data; the commands parse
 * flags and render.
 */
import path from 'node:path';
import type { Ctx } from '../io/context.js';
import { CliError, WorkFailedError, errnoCode } from '../errors.js';
import { verifyArchive, type VerifyFinding, type VerifyOptions } from '../core/package/verify.js';
import { quotedName } from '../core/package/names.js';
import { factsOf } from '../signing/archive.js';
import type { TrustedKey } from '../signing/keyring.js';
import { checkSignature, expectedPluginProblem, type ExpectedPlugin } from '../signing/verify.js';
import { readSignatureFile, signatureFileOf } from '../signing/files.js';
import { provenanceFileOf, sbomFileOf } from '../attest/files.js';
import { checkAttestations, type ProvenanceStatus, type SbomStatus } from '../attest/verify.js';
import { NotRegularFileError, openRegularFile } from '../io/read-file.js';

export interface VerifyFileOptions {
  /** The archive's absolute path. */
  file: string;
  /** The archive as the user named it (messages say it so). */
  shown: string;
  /** Trusted keys (--key or --keyring), read after the archive is found; none: the signer is not checked. */
  keys?: () => Promise<TrustedKey[] | undefined>;
  /** The plugin (and version) the archive must be (`verify --expect`): its manifest and signature must name it. */
  expected?: ExpectedPlugin;
  /** The signature document's absolute path (default: <file>.sig). */
  signatureFile?: string;
  /** The signature document as the user named it (default: <shown>.sig). */
  signatureShown?: string;
  /** The project's parsed manifest (verifyArchive's parsedManifest): the archive's copy is not parsed again when it is the same bytes. */
  parsedManifest?: VerifyOptions['parsedManifest'];
  /** Without keys: how this command's user checks the signer (the SIGNATURE_UNCHECKED warning's advice); none: no warning. */
  uncheckedAdvice?: string;
}

export interface VerifySignature {
  /** verified: checked against a trusted key; unchecked: matches the archive, signer not checked; unsigned: no .sig and none required. */
  status: 'verified' | 'unchecked' | 'unsigned' | 'failed';
  file: string;
  code?: string;
  /** What to do about a failure. */
  hint?: string;
  key_id?: string;
  plugin?: { name: string; version: string };
  created_at?: string;
}

export interface VerifyResult {
  ok: boolean;
  archive: string;
  size: number;
  sha256: string;
  entries: number;
  uncompressedBytes: number;
  plugin?: { name: string; version: string };
  findings: VerifyFinding[];
  signature: VerifySignature;
  /** The SBOM beside the archive (`<name>-<version>.cdx.json`). */
  sbom: SbomStatus;
  /** The signed build provenance beside the archive (`<name>-<version>.intoto.jsonl`). */
  provenance: ProvenanceStatus;
}

export type { ProvenanceStatus, SbomStatus };

export async function verifyArchiveFile(o: VerifyFileOptions): Promise<VerifyResult> {
  const { file } = o;
  try {
    // The one reader's check, on the open descriptor: a FIFO, socket, device or folder is refused at once.
    const { handle } = await openRegularFile(file, { shown: o.shown, code: 'NOT_A_FILE', hint: 'pass the path of a .zip archive' });
    await handle.close();
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = errnoCode(err);
    throw new WorkFailedError(code === 'ENOENT' ? `${o.shown} not found` : `cannot read ${o.shown} (${code ?? (err as Error).message})`, {
      code: 'ARCHIVE_NOT_FOUND',
      hint: 'build one with `plexichat-plugin build`, or check the path',
      cause: err,
    });
  }
  const keys = await o.keys?.();
  // One run: the marketplace's checks, each member inflated once, the file hashed beside them.
  const report = await verifyArchive(file, { hashFile: true, parsedManifest: o.parsedManifest });
  const digest = factsOf(report)!;
  const plugin = report.manifest ? { name: report.manifest.plugin.name, version: report.manifest.plugin.version } : undefined;
  const sigFile = o.signatureFile ?? signatureFileOf(file);
  const shownSig = o.signatureShown ?? `${o.shown}.sig`;
  const signature: VerifySignature = { status: 'unsigned', file: shownSig };
  const findings = [...report.findings];
  const wrong = o.expected && plugin && expectedPluginProblem(o.expected, plugin, "the archive's manifest");
  if (wrong) findings.push({ severity: 'error', code: wrong.code, message: wrong.message });
  let doc;
  try {
    doc = await readSignatureFile(sigFile, shownSig);
  } catch (err) {
    if (err instanceof NotRegularFileError) throw err;
    findings.push({ severity: 'error', code: 'SIGNATURE_MALFORMED', message: `${shownSig} is not a signature document: ${(err as Error).message}` });
    Object.assign(signature, { status: 'failed', code: 'SIGNATURE_MALFORMED', hint: 'sign the archive again with `plexichat-plugin build --sign`' });
  }
  if (doc) {
    Object.assign(signature, { key_id: doc.key_id, plugin: doc.plugin, created_at: doc.created_at });
    const check = checkSignature({ doc, facts: digest, plugin, keys, expected: o.expected, uncheckedAdvice: o.uncheckedAdvice });
    for (const n of check.notes) findings.push({ severity: 'warning', code: n.code, message: n.message });
    if (check.ok) signature.status = keys ? 'verified' : 'unchecked';
    else {
      findings.push({ severity: 'error', code: check.code, message: check.message });
      Object.assign(signature, { status: 'failed', code: check.code, hint: check.hint });
    }
  } else if (signature.status === 'unsigned' && keys) {
    findings.push({
      severity: 'error',
      code: 'SIGNATURE_MISSING',
      message: `the archive is not signed: ${shownSig} not found`,
    });
    Object.assign(signature, {
      status: 'failed',
      code: 'SIGNATURE_MISSING',
      hint: 'sign it with `plexichat-plugin build --sign`, or pass --signature <file> when the .sig is elsewhere',
    });
  }
  const attest = await checkAttestations({
    sbomFile: sbomFileOf(file),
    sbomShown: sbomFileOf(o.shown),
    provenanceFile: provenanceFileOf(file),
    provenanceShown: provenanceFileOf(o.shown),
    archiveName: path.basename(file),
    archive: { sha256: digest.sha256, members: report.members, plugin, packages: report.manifest?.dependencies?.packages },
    keys,
  });
  // The files beside the archive come first: when the archive itself is damaged, its own finding is the one that sums it up (the last, as prepare and submit report it).
  findings.unshift(...attest.findings);
  return {
    ok: !findings.some((f) => f.severity === 'error'),
    archive: o.shown,
    size: digest.size,
    sha256: digest.sha256,
    entries: report.entries,
    uncompressedBytes: report.uncompressedBytes,
    plugin,
    findings,
    signature,
    sbom: attest.sbom,
    provenance: attest.provenance,
  };
}

/** A finding as one line: `"entry": message [CODE]`. */
export function findingText(f: VerifyFinding): string {
  return `${f.entry !== undefined ? `${quotedName(f.entry)}: ` : ''}${f.message} [${f.code}]`;
}

/** Each finding as verify prints it, errors and warnings on stderr; submit and prepare show the same. */
export function renderFindings(findings: readonly VerifyFinding[], ctx: Pick<Ctx, 'out'>): void {
  for (const f of findings) {
    const line = findingText(f);
    if (f.severity === 'error') ctx.out.error(line);
    else ctx.out.warn(line);
  }
}
