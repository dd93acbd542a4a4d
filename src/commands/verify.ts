/**
 * `verify <archive>`: the marketplace's archive checks, run locally.
 * Exit 0 when the archive passes (warnings allowed), 1 when any check fails.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Ctx } from '../context.js';
import { WorkFailedError, errnoCode } from '../errors.js';
import { verifyArchive, type VerifyFinding } from '../core/package/verify.js';
import { fileDigest } from '../core/digest.js';

export interface VerifyCommandOptions {
  archive: string;
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
}

export async function run(opts: VerifyCommandOptions, ctx: Ctx): Promise<VerifyResult> {
  const file = path.resolve(ctx.cwd, opts.archive);
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
  const [report, digest] = await Promise.all([verifyArchive(file), fileDigest(file)]);
  return {
    ok: report.ok,
    archive: opts.archive,
    size: digest.size,
    sha256: digest.sha256,
    entries: report.entries,
    uncompressedBytes: report.uncompressedBytes,
    plugin: report.manifest ? { name: report.manifest.plugin.name, version: report.manifest.plugin.version } : undefined,
    findings: report.findings,
  };
}

export function render(r: VerifyResult, ctx: Ctx): void {
  const { out } = ctx;
  for (const f of r.findings) {
    const line = `${f.entry !== undefined ? `${JSON.stringify(f.entry)}: ` : ''}${f.message} [${f.code}]`;
    if (f.severity === 'error') out.error(line);
    else out.warn(line);
  }
  const errors = r.findings.filter((f) => f.severity === 'error').length;
  const what = r.plugin ? `${r.plugin.name} ${r.plugin.version}` : r.archive;
  if (r.ok) {
    out.result(`${out.c.green('✔')} ${what}: archive OK (${r.entries} entries, ${r.uncompressedBytes} bytes unpacked)`);
    out.result(`  sha256 ${r.sha256}`);
  } else {
    out.result(`${out.c.red('✖')} ${what}: ${errors} problem${errors === 1 ? '' : 's'}; the marketplace would refuse this archive`);
  }
}

export function exitCode(r: VerifyResult): number {
  return r.ok ? 0 : 1;
}
