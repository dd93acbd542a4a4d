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
import { openAtomic, removeStalePartials, writeFileAtomic, type AtomicFile } from '../../io/atomic.js';
import { writingTo, type OutputTarget } from '../../io/fs-errors.js';
import { archiveFileName, parsePluginSpec } from '../../core/plugin-name.js';
import { VERIFY_DEFAULTS } from '../../core/package/limits.js';
import { quotedName } from '../../core/package/names.js';
import { dropCreatedOutDir, useOutDir } from '../../io/out-dir.js';
import type { VersionSignatures } from '../../marketplace/client.js';
import { withSession } from '../../marketplace/session.js';
import { factsOf } from '../../signing/archive.js';
import { parseSignature, serializeSignature, type SignatureDocument } from '../../signing/document.js';
import { readKeyringFile, signatureFileOf } from '../../signing/files.js';
import { parseKeyRecord, type TrustedKey } from '../../signing/keyring.js';
import { checkSignature, expectedPluginProblem, sha256Hex, signatureDigest, type SignatureCheck } from '../../signing/verify.js';
import { provenanceFileOf, sbomFileOf } from '../../attest/files.js';
import { inline } from '../../io/terminal.js';

export interface DownloadOptions {
  spec: string;
  out?: string;
  keyring?: string;
}

export interface DownloadResult {
  plugin: string;
  version: string;
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

const TAMPERED = 'the marketplace served bytes that are not the ones that were signed: do not install them; report it to the marketplace';

/** A failed check as the command's error: exit 1, the check's code, nothing written. */
function refused(name: string, version: string, c: Extract<SignatureCheck, { ok: false }> | { code: string; message: string; hint: string }): WorkFailedError {
  const hint = c.code === 'SIGNATURE_INVALID' || c.code === 'WRONG_PLUGIN' ? TAMPERED : c.hint;
  return new WorkFailedError(`refusing ${name} ${version}: ${c.message}; nothing was written`, { code: c.code, hint });
}

function parseDoc(raw: unknown, what: string, name: string, version: string): SignatureDocument {
  try {
    return parseSignature(JSON.stringify(raw));
  } catch (err) {
    throw refused(name, version, {
      code: 'SIGNATURE_MALFORMED',
      message: `${what} is not a signature document (${(err as Error).message})`,
      hint: 'report this to the marketplace',
    });
  }
}

/** A sink whose write failures (a full disk mid-download) are said as writes to --out. */
function writingSink(at: OutputTarget, sink: (body: NodeJS.ReadableStream) => Promise<void>) {
  return (body: NodeJS.ReadableStream) => writingTo(at, () => sink(body));
}

/** Stream the body into the temp file, from its start on every attempt, within the archive size cap. */
function sinkInto(tmp: AtomicFile, name: string, version: string) {
  return async (body: NodeJS.ReadableStream) => {
    await tmp.handle.truncate(0);
    let pos = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      pos += chunk.length;
      if (pos > VERIFY_DEFAULTS.maxArchiveBytes) {
        throw refused(name, version, {
          code: 'ARCHIVE_TOO_LARGE',
          message: `the archive is over ${VERIFY_DEFAULTS.maxArchiveBytes} bytes`,
          hint: 'report this to the marketplace',
        });
      }
      await tmp.handle.write(chunk, 0, chunk.length, pos - chunk.length);
    }
    await tmp.handle.sync();
  };
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

async function download(
  spec: { name: string; version?: string },
  dir: string,
  pinned: TrustedKey[] | undefined,
  opts: DownloadOptions,
  ctx: Ctx,
): Promise<DownloadResult> {
  return withSession(ctx, { token: 'none' }, async ({ client, target }) => {
    let version = spec.version;
    if (version === undefined) {
      const info = await client.plugin(spec.name).catch((err: unknown) => {
        if (err instanceof WorkFailedError && err.code === 'WRONG_PLUGIN') {
          throw new WorkFailedError(`${err.message}; nothing was written`, { code: err.code, hint: err.hint, details: err.details });
        }
        throw err;
      });
      version = info.versions[0]?.version;
      if (version === undefined) {
        throw new WorkFailedError(`${spec.name} has no published version`, { code: 'NOT_PUBLISHED', hint: 'publish one first, or check the name' });
      }
    }
    const name = spec.name;
    const sigs = await client.signatures(name, version);
    const marketKeys: TrustedKey[] = pinned ?? (await client.marketplaceKeys()).map((r, i) => parseKeyRecord(r, i));

    const finalPath = path.join(dir, archiveFileName(name, version));
    const at = outTarget(opts.out, dir, path.basename(finalPath));
    await removeStalePartials(finalPath);
    const tmp = await writingTo(at, () => openAtomic(finalPath));
    try {
      await client.download(name, version, writingSink(at, sinkInto(tmp, name, version)));
      const result = await check({ tmp, name, version, sigs, marketKeys, pinned: pinned !== undefined });
      const { downloadAttestations } = await import('../../marketplace/download-attestations.js');
      const attested = await downloadAttestations({ client, name, version, sigs, marketKeys, archiveName: path.basename(finalPath), archive: result.view });
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
        file: finalPath,
        sha256: result.sha256,
        size: result.size,
        marketplace: target.baseUrl,
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

async function check(o: { tmp: AtomicFile; name: string; version: string; sigs: VersionSignatures; marketKeys: TrustedKey[]; pinned: boolean }) {
  const { name, version } = o;
  const { verifyArchive } = await import('../../core/package/verify.js');
  const report = await verifyArchive(o.tmp.tempPath, { hashFile: true });
  const facts = factsOf(report)!;
  const plugin = report.manifest ? { name: report.manifest.plugin.name, version: report.manifest.plugin.version } : undefined;
  const expected = { name, version };
  const warnings: string[] = [];
  if (o.sigs.marketplace === null) {
    throw refused(name, version, {
      code: 'SIGNATURE_MISSING',
      message: 'the marketplace has no counter-signature for it',
      hint: 'report this to the marketplace',
    });
  }
  const counter = parseDoc(o.sigs.marketplace, "the marketplace's counter-signature", name, version);
  const c1 = checkSignature({
    doc: counter,
    facts,
    plugin,
    keys: o.marketKeys,
    role: 'marketplace',
    what: "the marketplace's counter-signature",
    expected,
  });
  if (!c1.ok) {
    throw refused(name, version, {
      ...c1,
      hint:
        c1.code === 'UNKNOWN_KEY' && o.pinned
          ? 'the marketplace signed with a key your --keyring does not hold: refresh it from GET /api/v1/keys if you trust the new key'
          : c1.hint,
    });
  }

  let publisherDoc: SignatureDocument | undefined;
  if (counter.publisher) {
    if (o.sigs.publisher === null) {
      throw refused(name, version, {
        code: 'SIGNATURE_MISSING',
        message: `the counter-signature vouches for a publisher signature (key ${counter.publisher.key_id}) that the marketplace did not send`,
        hint: 'try again; report it if it persists',
      });
    }
    publisherDoc = parseDoc(o.sigs.publisher, 'the publisher signature', name, version);
    if (publisherDoc.key_id !== counter.publisher.key_id || signatureDigest(publisherDoc) !== counter.publisher.signature_sha256) {
      throw refused(name, version, {
        code: 'SIGNATURE_INVALID',
        message: 'the publisher signature is not the one the counter-signature vouches for (signature digest differs)',
        hint: 'report this to the marketplace',
      });
    }
    const keys = o.sigs.publisherKey ? [parseKeyRecord(o.sigs.publisherKey)] : [];
    const c2 = checkSignature({
      doc: publisherDoc,
      facts,
      plugin,
      keys,
      // The marketplace vouches for when it published: a key revoked later does not undo earlier releases.
      at: counter.created_at,
      expected,
      what: 'the publisher signature',
      when: `the version was published on ${counter.created_at}`,
    });
    if (!c2.ok) throw refused(name, version, c2);
    warnings.push(...c2.notes.map((n) => n.message));
  } else {
    warnings.push(`${name} ${version} was published unsigned: only the marketplace's counter-signature vouches for it`);
  }
  // The archive's own manifest names what was asked for too (the signatures name it, and name the manifest's plugin).
  const wrong = plugin && expectedPluginProblem(expected, plugin, "the archive's manifest");
  if (wrong) throw refused(name, version, wrong);
  const errors = report.findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) {
    const f = errors[0];
    throw refused(name, version, {
      code: 'INVALID_ARCHIVE',
      message: `the archive fails the archive checks: ${f.entry ? `${quotedName(f.entry)}: ` : ''}${f.message} [${f.code}]`,
      hint: 'report this to the marketplace',
    });
  }
  const view = { sha256: facts.sha256, members: report.members, plugin, packages: report.manifest?.dependencies?.packages };
  return { counter, publisherDoc, warnings, sha256: facts.sha256, size: facts.size, view };
}

export function render(r: DownloadResult, ctx: Ctx): void {
  const { out } = ctx;
  for (const w of r.warnings) out.warn(w);
  const rel = path.relative(ctx.cwd, r.file);
  out.result(inline(`${out.c.green('✔')} downloaded ${r.plugin} ${r.version} → ${rel && !rel.startsWith('..') ? rel : r.file}`));
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
