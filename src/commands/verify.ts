/**
 * `verify <archive> [--key <pub> | --keyring <file>] [--signature <file>]`:
 * the marketplace's archive checks, run locally, and the publisher
 * signature (`<archive>.sig`) checked fully offline (src/signing). Exit 0
 * when the archive passes (warnings allowed), 1 when any check fails.
 */
import fs from 'node:fs/promises';
import { userPath, type Ctx } from '../context.js';
import { UsageError, WorkFailedError, errnoCode } from '../errors.js';
import { verifyArchive, type VerifyFinding } from '../core/package/verify.js';
import { archiveFacts } from '../signing/archive.js';
import type { TrustedKey } from '../signing/keyring.js';
import { checkSignature } from '../signing/verify.js';
import { readKeyringFile, readPublicKeyFile, readSignatureFile, signatureFileOf } from '../signing/files.js';

export interface VerifyCommandOptions {
  archive: string;
  /** Trust this public key (PEM or one line of base64). */
  key?: string;
  /** Trust the keys of this keyring file (`{ "keys": [...] }`). */
  keyring?: string;
  /** The signature document (default: <archive>.sig). */
  signature?: string;
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
}

export async function run(opts: VerifyCommandOptions, ctx: Ctx): Promise<VerifyResult> {
  if (opts.key !== undefined && opts.keyring !== undefined) {
    throw new UsageError('pass either --key or --keyring, not both', { hint: 'put every key you trust in one keyring file' });
  }
  const file = userPath(ctx, opts.archive);
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) {
      throw new WorkFailedError(`${opts.archive} is not a file`, { code: 'NOT_A_FILE', hint: 'pass the path of a .zip archive' });
    }
  } catch (err) {
    if (err instanceof WorkFailedError) throw err;
    const code = errnoCode(err);
    throw new WorkFailedError(
      code === 'ENOENT' ? `${opts.archive} not found` : `cannot read ${opts.archive} (${code ?? (err as Error).message})`,
      { code: 'ARCHIVE_NOT_FOUND', hint: 'build one with `plexichat-plugin build`, or check the path', cause: err },
    );
  }
  let keys: TrustedKey[] | undefined;
  if (opts.key !== undefined) keys = [await readPublicKeyFile(opts.key, userPath(ctx, opts.key))];
  if (opts.keyring !== undefined) keys = await readKeyringFile(opts.keyring, userPath(ctx, opts.keyring));
  const [report, digest] = await Promise.all([verifyArchive(file), archiveFacts(file)]);
  const plugin = report.manifest ? { name: report.manifest.plugin.name, version: report.manifest.plugin.version } : undefined;
  const sigFile = opts.signature !== undefined ? userPath(ctx, opts.signature) : signatureFileOf(file);
  const shownSig = opts.signature ?? `${opts.archive}.sig`;
  const signature: VerifySignature = { status: 'unsigned', file: shownSig };
  const findings = [...report.findings];
  let doc;
  try {
    doc = await readSignatureFile(sigFile);
  } catch (err) {
    findings.push({ severity: 'error', code: 'SIGNATURE_MALFORMED', message: `${shownSig} is not a signature document: ${(err as Error).message}` });
    Object.assign(signature, { status: 'failed', code: 'SIGNATURE_MALFORMED', hint: 'sign the archive again with `plexichat-plugin build --sign`' });
  }
  if (doc) {
    Object.assign(signature, { key_id: doc.key_id, plugin: doc.plugin, created_at: doc.created_at });
    const check = checkSignature({ doc, facts: digest, plugin, keys });
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
  return {
    ok: !findings.some((f) => f.severity === 'error'),
    archive: opts.archive,
    size: digest.size,
    sha256: digest.sha256,
    entries: report.entries,
    uncompressedBytes: report.uncompressedBytes,
    plugin,
    findings,
    signature,
  };
}

/** A finding as one line: `"entry": message [CODE]`. */
export function findingText(f: VerifyFinding): string {
  return `${f.entry !== undefined ? `${JSON.stringify(f.entry)}: ` : ''}${f.message} [${f.code}]`;
}

/** Each finding as verify prints it, errors and warnings on stderr; submit and prepare show the same. */
export function renderFindings(findings: readonly VerifyFinding[], ctx: Ctx): void {
  for (const f of findings) {
    const line = findingText(f);
    if (f.severity === 'error') ctx.out.error(line);
    else ctx.out.warn(line);
  }
}

export function render(r: VerifyResult, ctx: Ctx): void {
  const { out } = ctx;
  renderFindings(r.findings, ctx);
  const errors = r.findings.filter((f) => f.severity === 'error' && f.code !== r.signature.code).length;
  const what = r.plugin ? `${r.plugin.name} ${r.plugin.version}` : r.archive;
  if (r.ok) {
    out.result(`${out.c.green('✔')} ${what}: archive OK (${r.entries} entries, ${r.uncompressedBytes} bytes unpacked)`);
    out.result(`  sha256 ${r.sha256}`);
    const s = r.signature;
    if (s.status === 'verified') out.result(`  signed by key ${s.key_id} on ${s.created_at} (signature verified)`);
    else if (s.status === 'unchecked') out.result(`  signed by key ${s.key_id} on ${s.created_at} (signer not checked)`);
    else out.info('  not signed');
  } else {
    if (errors > 0) {
      out.result(`${out.c.red('✖')} ${what}: ${errors} problem${errors === 1 ? '' : 's'}; the marketplace would refuse this archive`);
    }
    if (r.signature.status === 'failed') {
      out.result(`${out.c.red('✖')} ${what}: the signature does not verify [${r.signature.code}]`);
      if (r.signature.hint) out.note(`  ${out.c.dim(`hint: ${r.signature.hint}`)}`);
    }
  }
}

export function exitCode(r: VerifyResult): number {
  return r.ok ? 0 : 1;
}
