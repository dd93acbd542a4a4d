/**
 * `marketplace download <name>[@<version>] [--out <dir>] [--keyring <file>]`:
 * fetch a published archive into a temp file beside its final name, check
 * the marketplace's counter-signature (against its keys from GET /keys, or
 * a pinned keyring), the publisher signature it vouches for (against the
 * publisher's key at the publication time) and the archive checks, and only
 * then rename it into place (with its .sig). Any failure writes nothing.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { userPath, type Ctx } from '../../io/context.js';
import { UsageError, WorkFailedError } from '../../errors.js';
import { openAtomic, removeStalePartials, writeFileAtomic } from '../../io/atomic.js';
import { writingTo, type OutputTarget } from '../../io/fs-errors.js';
import { archiveFileName, parsePluginSpec } from '../../core/plugin-name.js';
import { dropCreatedOutDir, useOutDir } from '../../io/out-dir.js';
import { serializeSignature } from '../../signing/document.js';
import { readKeyringFile, signatureFileOf } from '../../signing/files.js';
import type { TrustedKey } from '../../signing/keyring.js';
import { fetchVerified, marketplaceKeysOf, nothingWritten, refused } from '../../marketplace/verified-download.js';
import { withReader } from '../../registry/open.js';
import { sha256Hex } from '../../signing/verify.js';
import { provenanceFileOf, sbomFileOf } from '../../attest/files.js';
import { inline } from '../../io/terminal.js';
import { pickVariant } from '../../marketplace/variants.js';

export interface DownloadOptions {
  spec: string;
  out?: string;
  keyring?: string;
  /** A static registry to read from (http(s):// or file://) instead of the marketplace server. */
  registry?: string;
  /** The platform variant of a version built with --split-platforms (default: this machine's). */
  platform?: string;
}

export interface DownloadResult {
  plugin: string;
  version: string;
  /** The platform variant downloaded (absent: the version's one archive). */
  platform?: string;
  file: string;
  sha256: string;
  size: number;
  marketplace: string;
  /** Who vouches for the archive: the marketplace's key (and when it published it), the publisher's key. */
  countersignature: { key_id: string; created_at: string };
  publisher: { key_id: string; created_at: string; file: string } | null;
  /** The SBOM and provenance envelope written beside the archive, verified (null: the version has none). */
  attestations: {
    sbom: { file: string; sha256: string } | null;
    provenance: { file: string; sha256: string; key_id: string | null; slsa_level: string | null } | null;
  };
  warnings: string[];
}

function parseSpec(spec: string): { name: string; version?: string } {
  const r = parsePluginSpec(spec, (v) => semver.valid(v) !== null);
  if ('problem' in r) throw new UsageError(r.problem, { hint: 'e.g. marketplace download advanced_analytics@1.2.0' });
  return r;
}

/** The --out folder, as io/fs-errors.ts words a failure to write there. */
function outTarget(given: string | undefined, dir: string, what = 'the archive'): OutputTarget {
  return { action: `write ${what} to ${given ?? dir}`, dir: given ?? dir, flag: '--out <dir>', suffix: '; nothing was written' };
}

/** A sink whose write failures (a full disk mid-download) are said as writes to --out. */
function writingSink(at: OutputTarget) {
  return (sink: (body: NodeJS.ReadableStream) => Promise<void>) => (body: NodeJS.ReadableStream) => writingTo(at, () => sink(body));
}

export async function run(opts: DownloadOptions, ctx: Ctx): Promise<DownloadResult> {
  const spec = parseSpec(opts.spec);
  const pinned = opts.keyring !== undefined ? await readKeyringFile(opts.keyring, userPath(ctx, opts.keyring)) : undefined;
  // A missing --out folder is created, as `build --out` does (io/out-dir.ts), and removed again when the download fails.
  const dir = userPath(ctx, opts.out ?? '.');
  const created = await useOutDir(dir, { given: opts.out, defaultShown: '.', create: true });
  try {
    return await download(spec, dir, pinned, opts, ctx);
  } catch (err) {
    await dropCreatedOutDir(dir, created);
    throw err;
  }
}

/** A source that lies or is damaged: said with "nothing was written" (a missing plugin or version is not a refusal). */
function refusal(err: unknown): unknown {
  return err instanceof WorkFailedError && /^(REGISTRY_|WRONG_PLUGIN$|SIGNATURE_)/.test(err.code) ? nothingWritten(err) : err;
}

async function download(
  spec: { name: string; version?: string },
  dir: string,
  pinned: TrustedKey[] | undefined,
  opts: DownloadOptions,
  ctx: Ctx,
): Promise<DownloadResult> {
  return withReader(ctx, opts.registry, async (reader) => {
    const info = await reader.plugin(spec.name).catch((err: unknown) => {
      throw refusal(err);
    });
    const version = spec.version ?? info.versions[0]?.version;
    if (version === undefined) {
      throw new WorkFailedError(`${spec.name} has no published version`, { code: 'NOT_PUBLISHED', hint: 'publish one first, or check the name' });
    }
    const name = spec.name;
    const platform = pickVariant(
      info.versions.find((v) => v.version === version),
      opts.platform,
      name,
      version,
    );
    const finalPath = path.join(dir, archiveFileName(name, version, platform));
    const at = outTarget(opts.out, dir, path.basename(finalPath));
    await removeStalePartials(finalPath);
    const tmp = await writingTo(at, () => openAtomic(finalPath));
    try {
      const marketKeys = await marketplaceKeysOf(reader, pinned);
      const result = await fetchVerified({ reader, name, version, tmp, marketKeys, pinned: pinned !== undefined, platform, wrapSink: writingSink(at) }).catch(
        (err: unknown) => {
          throw refusal(err);
        },
      );
      const { downloadAttestations } = await import('../../marketplace/download-attestations.js');
      const attested = await downloadAttestations({
        client: reader,
        name,
        version,
        sigs: result.sigs,
        marketKeys,
        archiveName: path.basename(finalPath),
        archive: result.view,
        platform,
      });
      if ('code' in attested) throw refused(name, version, attested);
      // Verified: the .sig and the attestations first (or stale ones removed), then the archive under its final name.
      const sigFile = signatureFileOf(finalPath);
      const beside: [string, string | Buffer | undefined][] = [
        [sigFile, result.publisherDoc && serializeSignature(result.publisherDoc)],
        [sbomFileOf(finalPath), attested.sbom],
        [provenanceFileOf(finalPath), attested.provenance],
      ];
      await writingTo(at, async () => {
        for (const [file, data] of beside) {
          if (data !== undefined) await writeFileAtomic(file, data);
          else await fs.rm(file, { force: true });
        }
        try {
          await tmp.commit();
        } catch (err) {
          for (const [file, data] of beside) if (data !== undefined) await fs.rm(file, { force: true });
          throw err;
        }
      });
      return {
        plugin: name,
        version,
        ...(platform ? { platform } : {}),
        file: finalPath,
        sha256: result.sha256,
        size: result.size,
        marketplace: reader.baseUrl,
        countersignature: { key_id: result.counter.key_id, created_at: result.counter.created_at },
        publisher: result.publisherDoc ? { key_id: result.publisherDoc.key_id, created_at: result.publisherDoc.created_at, file: sigFile } : null,
        attestations: {
          sbom: attested.sbom ? { file: sbomFileOf(finalPath), sha256: sha256Hex(attested.sbom) } : null,
          provenance: attested.provenance
            ? {
                file: provenanceFileOf(finalPath),
                sha256: sha256Hex(attested.provenance),
                key_id: attested.keyId ?? null,
                slsa_level: attested.slsaLevel ?? null,
              }
            : null,
        },
        warnings: result.warnings,
      };
    } finally {
      await tmp.abort();
    }
  });
}

export function render(r: DownloadResult, ctx: Ctx): void {
  const { out } = ctx;
  for (const w of r.warnings) out.warn(w);
  const rel = path.relative(ctx.cwd, r.file);
  const which = r.platform ? ` (${r.platform})` : '';
  out.result(inline(`${out.c.green('✔')} downloaded ${r.plugin} ${r.version}${which} → ${rel && !rel.startsWith('..') ? rel : r.file}`));
  out.result(inline(`  sha256     ${r.sha256}`));
  out.result(inline(`  marketplace counter-signature: key ${r.countersignature.key_id}, published ${r.countersignature.created_at} (verified)`));
  if (r.publisher) out.result(inline(`  publisher signature: key ${r.publisher.key_id}, signed ${r.publisher.created_at} (verified)`));
  const a = r.attestations;
  if (a.sbom) out.result(inline(`  SBOM ${path.basename(a.sbom.file)} (verified)`));
  if (a.provenance)
    out.result(
      inline(
        `  provenance ${path.basename(a.provenance.file)}: key ${a.provenance.key_id ?? '?'}, ${a.provenance.slsa_level ?? ''} (verified, counter-signed)`,
      ),
    );
}
