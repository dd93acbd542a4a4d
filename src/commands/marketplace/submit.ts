/**
 * `marketplace submit`: prepare the listing for the current version (as
 * `prepare` does), then stream the archive and listing to the marketplace.
 * One Idempotency-Key per run makes retries safe; the whole command ends
 * by --timeout. Re-running with the same archive finds the existing
 * submission (exit 0); the same version with another archive is refused.
 */
import { dependencyLines, parseDependencyDiff, type DependencyDiff } from '../../release/deps-diff.js';
import { NotRegularFileError } from '../../io/read-file.js';
import { createHash, randomUUID } from 'node:crypto';
import type { Ctx } from '../../io/context.js';
import { CliError, WorkFailedError } from '../../errors.js';
import { formatBytes } from '../../io/bytes.js';
import { createProgress, type Progress } from '../../io/progress.js';
import type { MarketplaceClient, RetryInfo, Submission } from '../../marketplace/client.js';
import { sbomDiffLines, type SbomDiff } from '../../attest/sbom-diff.js';
import { withSession } from '../../marketplace/session.js';
import { waitText } from '../../marketplace/retry.js';
import { fileDigest } from '../../core/digest.js';
import type { Listing, ListingProblem } from '../../core/listing.js';
import { prepareListing, renderRefused as renderVerifyFindings, renderProblems, STOPPED, type SignatureVerdict } from '../../marketplace/prepare.js';
import { UploadCancelGuard } from '../../marketplace/upload-cancel.js';
import path from 'node:path';
import { serializeSignature } from '../../signing/document.js';
import { readSignatureFile, signatureFileOf } from '../../signing/files.js';
import type { SentDiff } from '../../release/against.js';
import { describeDiff, type ManifestDiff } from '../../release/diff.js';
import { inline } from '../../io/terminal.js';

export interface SubmitOptions {
  /** An archive made with `build --out` (default: dist/<name>-<version>.zip). */
  archive?: string;
  /** Seconds for the whole upload, retries included. */
  timeout?: number;
  /** Newly required permissions the developer accepts (src/release/against.ts, permissionGate). */
  acceptPermission?: string[];
  /** Build the archive from the sources first (prepare's --rebuild). */
  rebuild?: boolean;
}

export interface SubmitResult {
  /** True when this exact archive had been submitted before: nothing new was created. */
  existing: boolean;
  plugin: string;
  version: string;
  sha256: string;
  size: number;
  marketplace: string;
  listingFile: string;
  attempts: number;
  /** The marketplace's record of it (its id and state), as `status <id>` shows it. */
  submission: Submission;
  /** The key of the publisher signature sent with the archive (the .sig beside it), or null. */
  signedBy: string | null;
  /** The SBOM and provenance envelope sent with it (their sha256), null when there was none beside the archive. */
  attestations: { sbom: string | null; provenance: string | null };
  /** What changed since the latest published version, and what was accepted; null for a first version. */
  permissionDiff: SentDiff | null;
  /** Python packages added, removed or changed since the latest published version, as the marketplace computed it; null when it does not say. */
  dependencyDiff: DependencyDiff | null;
  /** What changed in the SBOM's components since the latest published version's SBOM; null when either has none. */
  sbomDiff: SbomDiff | null;
}

export const DEFAULT_SUBMIT_TIMEOUT_S = 600;

/** The .sig beside the archive, when there is one; it must be this archive's (docs/signing.md). */
async function signatureFor(archivePath: string, sha256: string): Promise<{ text: string; keyId: string } | undefined> {
  const file = signatureFileOf(archivePath);
  let doc;
  try {
    doc = await readSignatureFile(file, path.basename(file));
  } catch (err) {
    if (err instanceof NotRegularFileError) throw err;
    throw new WorkFailedError(`${path.basename(file)} is not a signature document: ${(err as Error).message}`, {
      code: 'SIGNATURE_MALFORMED',
      hint: 'build again with `plexichat-plugin build --sign`, or delete the .sig to submit unsigned',
    });
  }
  if (!doc) return undefined;
  if (doc.archive.sha256 !== sha256) {
    throw new WorkFailedError(
      `${path.basename(file)} was made for another archive (sha256 ${doc.archive.sha256.slice(0, 16)}…, this one is ${sha256.slice(0, 16)}…)`,
      {
        code: 'SIGNATURE_INVALID',
        hint: 'build again with `plexichat-plugin build --sign`, so the archive and its .sig match',
      },
    );
  }
  return { text: serializeSignature(doc), keyId: doc.key_id };
}

/** The SBOM and the provenance envelope build wrote beside the archive, when there are. */
async function attestationsFor(archivePath: string): Promise<{ sbom?: string; provenance?: string }> {
  const [{ readIfExists, sbomFileOf, provenanceFileOf }, { MAX_SBOM_BYTES }, { MAX_ENVELOPE_BYTES }] = await Promise.all([
    import('../../attest/files.js'),
    import('../../attest/sbom.js'),
    import('../../attest/dsse.js'),
  ]);
  const read = async (file: string, max: number) => (await readIfExists(file, max))?.toString('utf8');
  const [sbom, provenance] = await Promise.all([read(sbomFileOf(archivePath), MAX_SBOM_BYTES), read(provenanceFileOf(archivePath), MAX_ENVELOPE_BYTES)]);
  return { ...(sbom !== undefined ? { sbom } : {}), ...(provenance !== undefined ? { provenance } : {}) };
}

/** One display per upload attempt: a bar on a terminal, a few plain lines in CI logs. */
function uploadProgress(ctx: Ctx, label: string): Progress {
  return createProgress(ctx, {
    label: `uploading ${label}`,
    rate: true,
    doneText: 'sent; the marketplace is checking it',
    plain: {
      // The request's size: the archive plus its listing (and signature), so a small archive reads larger than build's `out`.
      start: (total) => `uploading ${label} (${formatBytes(total)} with its listing)`,
      quartersOver: 4 * 1024 * 1024,
      done: 'sent; the marketplace is checking the archive',
    },
  });
}

/** What is uploaded: the listing (with the permission diff it carries), the archive on disk and its signature. */
interface Ready {
  prep: Awaited<ReturnType<typeof prepareListing>>;
  listing: Listing & { permission_diff: SentDiff | null };
  signature?: { text: string; keyId: string };
  /** The SBOM and provenance envelope beside the archive (verify's run has checked them). */
  attested: { sbom?: string; provenance?: string };
  /** A large archive's checks, running while it is sent (prepare's overlap); the upload's end waits for them. */
  hold?: Promise<void>;
}

/** The signature verdict of verify's run: a failure stops the submit with verify's code. */
function judgeSignature(v: SignatureVerdict | undefined, archivePath: string, outcome: string): void {
  if (v?.status !== 'failed') return;
  throw new WorkFailedError(`${path.basename(signatureFileOf(archivePath))}: ${v.message ?? 'the signature does not verify'}; ${outcome}`, {
    code: v.code ?? 'SIGNATURE_INVALID',
    hint: v.hint ?? 'build again with `plexichat-plugin build --sign`',
  });
}

/** Everything before the upload: the listing (as prepare makes it), verify's checks, the permission gate, the .sig. */
async function ready(opts: SubmitOptions, ctx: Ctx): Promise<Ready> {
  const t0 = ctx.clock.now();
  // The manifest is parsed once, for the listing and the permission gate.
  const [{ currentManifest }, { loadProject }] = await Promise.all([import('../../marketplace/project.js'), import('../../project/project.js')]);
  const project = loadProject(ctx.cwd, ctx.env);
  const manifest = await currentManifest(ctx, project);
  const prep = await prepareListing(ctx, { archive: opts.archive, project, overlap: true, rebuild: opts.rebuild });
  ctx.out.debug(
    `listing ready and archive verified in ${ctx.clock.now() - t0} ms (sha256 ${prep.digestFrom === 'sidecar' ? "from build's .sha256 file" : 'computed'})`,
  );
  if (!prep.ok || !prep.listing) {
    throw new WorkFailedError(`cannot submit ${prep.name} ${prep.version}: the listing is not ready`, {
      code: 'LISTING_INCOMPLETE',
      hint: 'fix the problems listed above, then run submit again (`plexichat-plugin marketplace prepare` checks without uploading)',
      details: { problems: prep.problems, plugin: prep.name, version: prep.version },
    });
  }
  if (prep.written) ctx.out.info(`listing written to ${prep.listingFile}`);
  // Newly required permissions stop here unless accepted; the diff travels in the listing.
  const { submitGate } = await import('../../release/against.js');
  const permissionDiff = await submitGate(ctx, opts.acceptPermission ?? [], manifest);
  const listing = { ...prep.listing, permission_diff: permissionDiff };
  const signature = await signatureFor(prep.archivePath, listing.archive.sha256);
  // The .sig is this archive's; the rest of verify's signature checks (signed fields, plugin, member list).
  judgeSignature(prep.signature, prep.archivePath, 'nothing was sent');
  const hold = prep.checked?.then(({ signature: v, written }) => {
    judgeSignature(v, prep.archivePath, STOPPED);
    if (written) ctx.out.info(`listing written to ${prep.listingFile}`);
  });
  hold?.catch(() => undefined); // the upload awaits it
  return { prep, listing, signature, hold, attested: await attestationsFor(prep.archivePath) };
}

export async function run(opts: SubmitOptions, ctx: Ctx): Promise<SubmitResult> {
  const timeoutMs = Math.round((opts.timeout ?? DEFAULT_SUBMIT_TIMEOUT_S) * 1000);
  let bar: Progress | undefined;
  const onRetry = (r: RetryInfo) => {
    bar?.stop();
    bar = undefined;
    ctx.out.warn(`${r.reason} on attempt ${r.attempt} of ${r.maxAttempts}; retrying in ${waitText(r.delayMs)}`);
  };
  // Ctrl-C once the body is sent waits a moment for the answer, then says what the marketplace may hold.
  const guard = new UploadCancelGuard(ctx);
  try {
    return await withSession(ctx, { token: 'required', client: { onRetry, signal: guard.signal } }, async ({ client, target }) => {
      const { prep, listing, signature, hold, attested } = await ready(opts, ctx);
      const sbomDiff = await sbomSincePublished(client, listing, attested.sbom);
      const label = listing.archive.file;
      const key = randomUUID();
      ctx.out.debug(`Idempotency-Key ${key}`);
      let lastAttempt = 0;
      const t1 = ctx.clock.now();
      const res = await client
        .submit({
          name: listing.name,
          version: listing.version,
          archivePath: prep.archivePath,
          archiveSize: listing.archive.size,
          sha256: listing.archive.sha256,
          listing,
          timeoutMs,
          idempotencyKey: key,
          rehash: async () => (await fileDigest(prep.archivePath)).sha256,
          signature: signature?.text,
          ...attested,
          hold,
          onProgress: (sent, total, attempt) => {
            guard.progress(sent, total);
            if (attempt !== lastAttempt) {
              lastAttempt = attempt;
              bar?.stop();
              bar = uploadProgress(ctx, label);
            }
            bar?.update(sent, total);
          },
        })
        .catch((err: unknown) => {
          throw guard.explain(versionExists(err, listing), { plugin: listing.name, version: listing.version, sha256: listing.archive.sha256 });
        })
        .finally(() => bar?.stop());
      const s = res.submission;
      guard.answered(s.id);
      const secs = Math.max(0.001, (ctx.clock.now() - t1) / 1000);
      ctx.out.debug(`upload and checks took ${secs.toFixed(2)} s (${formatBytes(listing.archive.size / secs)}/s), ${res.attempts} attempt(s)`);
      return {
        existing: res.existing,
        plugin: listing.name,
        version: listing.version,
        sha256: listing.archive.sha256,
        size: listing.archive.size,
        marketplace: target.baseUrl,
        listingFile: prep.listingFile!,
        attempts: res.attempts,
        submission: s,
        signedBy: signature?.keyId ?? null,
        attestations: { sbom: digestOf(attested.sbom), provenance: digestOf(attested.provenance) },
        permissionDiff: listing.permission_diff,
        dependencyDiff: parseDependencyDiff((s.permission_diff as { dependencies?: unknown } | null | undefined)?.dependencies) ?? null,
        sbomDiff,
      };
    });
  } finally {
    guard.dispose();
  }
}

/** The SBOM sent against the one the marketplace serves for the latest published version (none: null). */
async function sbomSincePublished(client: MarketplaceClient, listing: Ready['listing'], sbom: string | undefined): Promise<SbomDiff | null> {
  const from = listing.permission_diff?.from.version;
  if (from === undefined || sbom === undefined) return null;
  const [{ sbomComponents, diffComponents }, { MAX_SBOM_BYTES }] = await Promise.all([import('../../attest/sbom-diff.js'), import('../../attest/sbom.js')]);
  const before = await client.attestationFile(listing.name, from, 'sbom', MAX_SBOM_BYTES).catch(() => undefined);
  if (!before) return null;
  try {
    return diffComponents(sbomComponents(before.toString('utf8')), sbomComponents(sbom));
  } catch {
    return null;
  }
}

function digestOf(text: string | undefined): string | null {
  return text === undefined ? null : createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The marketplace has this version with another archive: say so, and that a version is never replaced. */
function versionExists(err: unknown, listing: Listing): unknown {
  if (!(err instanceof CliError) || err.code !== 'VERSION_EXISTS') return err;
  const rid = typeof err.details?.requestId === 'string' ? ` (request id ${err.details.requestId})` : '';
  return new WorkFailedError(`version ${listing.version} of ${listing.name} was already submitted with a different archive; bump the version${rid}`, {
    code: 'VERSION_EXISTS',
    hint: 'a version is never replaced: raise plugin.version in config/plugin.yaml, add its CHANGELOG.md entry, build and submit again',
    details: err.details,
  });
}

/** A listing that is not ready: every problem with its fix, before the error line. */
export function renderError(err: unknown, ctx: Ctx): void {
  if (err instanceof CliError && err.code === 'NEW_PERMISSION' && err.details) {
    for (const line of describeDiff(err.details.diff as ManifestDiff)) ctx.out.stderr.write(`  ${line}\n`);
    return;
  }
  if (err instanceof CliError && typeof err.details?.archive === 'string') return renderVerifyFindings(err, ctx);
  if (!(err instanceof CliError) || err.code !== 'LISTING_INCOMPLETE' || !err.details) return;
  const { plugin, version, problems } = err.details as { plugin: string; version: string; problems: ListingProblem[] };
  renderProblems({ ok: false, name: plugin, version, problems, archive: { file: '' } }, ctx);
}

export function render(r: SubmitResult, ctx: Ctx): void {
  const { id, state } = r.submission;
  if (r.existing) {
    ctx.out.result(inline(`${r.plugin} ${r.version} was already submitted with this archive: ${id} (${state}). Nothing new was created.`));
  } else {
    ctx.out.result(inline(`Submitted ${r.plugin} ${r.version} for review: ${id} (${state}).`));
    ctx.out.info(r.signedBy ? `  signed with key ${inline(r.signedBy)}` : '  not signed (no .sig beside the archive; see `plexichat-plugin build --sign`)');
    const a = r.attestations;
    if (a.sbom) ctx.out.info(`  SBOM sent: sha256 ${a.sbom.slice(0, 16)}…`);
    if (a.provenance) ctx.out.info(`  provenance sent: sha256 ${a.provenance.slice(0, 16)}… (SLSA Build L1: signed on your machine)`);
  }
  const d = r.permissionDiff;
  if (d && !d.unchanged) {
    ctx.out.result(inline(`  changes since ${d.from.version}, shown to the reviewer:`));
    for (const line of describeDiff(d)) ctx.out.result(`    ${inline(line)}`);
    if (d.accepted.length) ctx.out.result(inline(`  accepted: ${d.accepted.join(', ')}`));
  }
  if (r.dependencyDiff && !r.dependencyDiff.unchanged) {
    ctx.out.result('  Python packages changed, shown to the reviewer:');
    for (const line of dependencyLines(r.dependencyDiff)) ctx.out.result(`    ${inline(line)}`);
  }
  if (r.sbomDiff && d) {
    const lines = sbomDiffLines(r.sbomDiff);
    ctx.out.result(inline(`  SBOM components since ${d.from.version}:${lines.length === 0 ? ' unchanged' : ''}`));
    for (const line of lines) ctx.out.result(`    ${inline(line)}`);
  }
  if (state === 'approved') ctx.out.info(inline(`next: plexichat-plugin marketplace publish ${id}`));
  else if (state !== 'published') ctx.out.info(inline(`next: plexichat-plugin marketplace status ${id} --wait`));
}
