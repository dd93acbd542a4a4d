/**
 * `verify <archive> [--key <pub> | --keyring <file>] [--signature <file>]`:
 * the marketplace's archive checks, run locally, and the publisher
 * signature (`<archive>.sig`) checked fully offline (src/signing). Exit 0
 * when the archive passes (warnings allowed), 1 when any check fails.
 */
import { userPath, type Ctx } from '../io/context.js';
import semver from 'semver';
import { UsageError } from '../errors.js';
import { parsePluginSpec } from '../core/plugin-name.js';
import type { TrustedKey } from '../signing/keyring.js';
import { readKeyringFile, readPublicKeyFile } from '../signing/files.js';
import { renderFindings, verifyArchiveFile, type VerifyResult } from '../project/verify.js';
import { inline } from '../io/terminal.js';

export type { VerifyResult, VerifySignature } from '../project/verify.js';

export interface VerifyCommandOptions {
  archive: string;
  /** Trust this public key (PEM or one line of base64). */
  key?: string;
  /** Trust the keys of this keyring file (`{ "keys": [...] }`). */
  keyring?: string;
  /** The signature document (default: <archive>.sig). */
  signature?: string;
  /** The plugin the archive must be: `name` or `name@version` (WRONG_PLUGIN otherwise). */
  expect?: string;
}

export async function run(opts: VerifyCommandOptions, ctx: Ctx): Promise<VerifyResult> {
  if (opts.key !== undefined && opts.keyring !== undefined) {
    throw new UsageError('pass either --key or --keyring, not both', { hint: 'put every key you trust in one keyring file' });
  }
  let expected: { name: string; version?: string } | undefined;
  if (opts.expect !== undefined) {
    const r = parsePluginSpec(opts.expect, (v) => semver.valid(v) !== null);
    if ('problem' in r) throw new UsageError(`--expect: ${r.problem}`, { hint: 'e.g. --expect greeter@1.0.0 (or just the name)' });
    expected = r;
  }
  const keys = async (): Promise<TrustedKey[] | undefined> => {
    if (opts.key !== undefined) return [await readPublicKeyFile(opts.key, userPath(ctx, opts.key))];
    if (opts.keyring !== undefined) return readKeyringFile(opts.keyring, userPath(ctx, opts.keyring));
    return undefined;
  };
  return verifyArchiveFile({
    file: userPath(ctx, opts.archive),
    shown: opts.archive,
    keys,
    expected,
    uncheckedAdvice: 'pass --key <pubkey-file> or --keyring <file>',
    ...(opts.signature !== undefined ? { signatureFile: userPath(ctx, opts.signature), signatureShown: opts.signature } : {}),
  });
}

export function render(r: VerifyResult, ctx: Ctx): void {
  const { out } = ctx;
  renderFindings(r.findings, ctx);
  const own = new Set([r.signature.code, r.sbom.code, r.provenance.code]);
  const errors = r.findings.filter((f) => f.severity === 'error' && !own.has(f.code)).length;
  // The name and version come from the archive's manifest: one line, whatever they hold.
  const what = inline(r.plugin ? `${r.plugin.name} ${r.plugin.version}` : r.archive);
  if (r.ok) {
    out.result(`${out.c.green('✔')} ${what}: archive OK (${r.entries} entries, ${r.uncompressedBytes} bytes unpacked)`);
    out.result(`  sha256 ${r.sha256}`);
    const s = r.signature;
    if (s.status === 'verified') out.result(inline(`  signed by key ${s.key_id} on ${s.created_at} (signature verified)`));
    else if (s.status === 'unchecked') out.result(inline(`  signed by key ${s.key_id} on ${s.created_at} (signer not checked)`));
    else out.info('  not signed');
    if (r.sbom.status === 'matches') out.result(`  sbom ${r.sbom.file} matches the archive`);
    const p = r.provenance;
    if (p.status === 'verified')
      out.result(inline(`  provenance signed by key ${p.key_id} on ${p.finished_on} (verified; ${p.slsa_level}: signed on the publisher's machine)`));
    else if (p.status === 'unchecked')
      out.result(inline(`  provenance names this archive, key ${p.key_id ?? 'unknown'} (signer not checked; ${p.slsa_level})`));
  } else {
    if (errors > 0) {
      out.result(`${out.c.red('✖')} ${what}: ${errors} problem${errors === 1 ? '' : 's'}; the marketplace would refuse this archive`);
    }
    if (r.signature.status === 'failed') {
      out.result(`${out.c.red('✖')} ${what}: the signature does not verify [${r.signature.code}]`);
      if (r.signature.hint) out.note(`  ${out.c.dim(`hint: ${inline(r.signature.hint)}`)}`);
    }
    for (const [what, a] of [
      ['the SBOM', r.sbom],
      ['the provenance', r.provenance],
    ] as const) {
      if (a.status !== 'failed') continue;
      out.result(`${out.c.red('✖')} ${what}: ${what === 'the SBOM' ? 'does not match the archive' : 'does not verify'} [${a.code}]`);
      if (a.hint) out.note(`  ${out.c.dim(`hint: ${a.hint}`)}`);
    }
  }
}

export function exitCode(r: VerifyResult): number {
  return r.ok ? 0 : 1;
}
