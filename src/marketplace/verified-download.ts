/**
 * A published archive fetched into a temp file and checked before anything
 * is written under its name: the marketplace's counter-signature (against
 * its keys, or a pinned keyring), the publisher signature it vouches for
 * (against the publisher's key at the publication time), the name and
 * version asked for (WRONG_PLUGIN) and the archive checks. One operation for
 * `marketplace download` (from a server or a static registry) and
 * `marketplace mirror`. Any failure is a WorkFailedError with the check's code.
 */
import { VERIFY_DEFAULTS } from '../core/package/limits.js';
import { quotedName } from '../core/package/names.js';
import { WorkFailedError } from '../errors.js';
import type { AtomicFile } from '../io/atomic.js';
import type { ArchiveView } from '../attest/sbom.js';
import { factsOf } from '../signing/archive.js';
import { parseSignature, type SignatureDocument } from '../signing/document.js';
import { parseKeyRecord, type KeyRecord, type TrustedKey } from '../signing/keyring.js';
import { checkSignature, expectedPluginProblem, signatureDigest, type SignatureCheck } from '../signing/verify.js';
import type { PluginInfo, VersionSignatures } from './client.js';

/** Where published plugins are read from: a marketplace server (client.ts) or a static registry (registry/reader.ts). */
export interface PluginReader {
  /** The server's or registry's URL, for messages and results. */
  readonly baseUrl: string;
  plugin(name: string): Promise<PluginInfo>;
  /** `platform`: the variant of a version built with --split-platforms (absent: the version's one archive). */
  signatures(name: string, version: string, platform?: string): Promise<VersionSignatures>;
  marketplaceKeys(): Promise<KeyRecord[]>;
  download(name: string, version: string, sink: (body: NodeJS.ReadableStream) => Promise<void>, deadlineMs?: number, platform?: string): Promise<unknown>;
  /** An attestation file named by the version's signatures (a static registry names none). */
  attestationFile(name: string, version: string, kind: 'sbom' | 'provenance', maxBytes: number, platform?: string): Promise<Buffer>;
  close(): Promise<void>;
}

export interface Verified {
  counter: SignatureDocument;
  publisherDoc: SignatureDocument | undefined;
  warnings: string[];
  sha256: string;
  size: number;
  /** What the attestation checks need of the archive (attest/sbom.ts ArchiveView). */
  view: ArchiveView;
}

export const TAMPERED = 'the marketplace served bytes that are not the ones that were signed: do not install them; report it to the marketplace';

/** A failed check as the command's error: exit 1, the check's code, nothing written. */
export function refused(
  name: string,
  version: string,
  c: Extract<SignatureCheck, { ok: false }> | { code: string; message: string; hint: string },
): WorkFailedError {
  const hint = c.code === 'SIGNATURE_INVALID' || c.code === 'WRONG_PLUGIN' ? TAMPERED : c.hint;
  return new WorkFailedError(`refusing ${name} ${version}: ${c.message}; nothing was written`, { code: c.code, hint });
}

export function parseDoc(raw: unknown, what: string, name: string, version: string): SignatureDocument {
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

/** Stream the body into the temp file, from its start on every attempt, within the archive size cap. */
export function sinkInto(tmp: AtomicFile, name: string, version: string) {
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

/** The archive's wheels section names the platform asked for: another variant (signed too) is not what was asked. */
function checkPlatform(name: string, version: string, got: string | undefined, asked: string | undefined): void {
  if ((got ?? '') === (asked ?? '')) return;
  throw refused(name, version, {
    code: 'WRONG_PLUGIN',
    message: `the archive is the ${got || 'all-platform'} archive, not the ${asked || 'all-platform'} one asked for`,
    hint: TAMPERED,
  });
}

export async function verifyDownloaded(o: {
  file: string;
  name: string;
  version: string;
  sigs: VersionSignatures;
  marketKeys: TrustedKey[];
  pinned: boolean;
  /** The platform variant asked for ('' or absent: the version's one archive). */
  platform?: string;
}): Promise<Verified> {
  const { name, version } = o;
  const { verifyArchive } = await import('../core/package/verify.js');
  const report = await verifyArchive(o.file, { hashFile: true });
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
  checkPlatform(name, version, report.platform, o.platform);
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

/** Fetch name@version from the reader into `tmp` and verify it (nothing is renamed into place here). */
export async function fetchVerified(o: {
  reader: PluginReader;
  name: string;
  version: string;
  tmp: AtomicFile;
  marketKeys: TrustedKey[];
  pinned: boolean;
  platform?: string;
  wrapSink?: (sink: (body: NodeJS.ReadableStream) => Promise<void>) => (body: NodeJS.ReadableStream) => Promise<void>;
}): Promise<Verified & { sigs: VersionSignatures }> {
  const sigs = await o.reader.signatures(o.name, o.version, o.platform);
  const sink = sinkInto(o.tmp, o.name, o.version);
  await o.reader.download(o.name, o.version, o.wrapSink ? o.wrapSink(sink) : sink, undefined, o.platform);
  const v = await verifyDownloaded({
    file: o.tmp.tempPath,
    name: o.name,
    version: o.version,
    sigs,
    marketKeys: o.marketKeys,
    pinned: o.pinned,
    platform: o.platform,
  });
  return { ...v, sigs };
}

/** The marketplace keys to check counter-signatures with: the pinned keyring, else the reader's published ones. */
export async function marketplaceKeysOf(reader: PluginReader, pinned: TrustedKey[] | undefined): Promise<TrustedKey[]> {
  return pinned ?? (await reader.marketplaceKeys()).map((r, i) => parseKeyRecord(r, i));
}

/** A refusal as download and mirror say it: the error's words and "; nothing was written" (once). */
export function nothingWritten(err: unknown): unknown {
  if (!(err instanceof WorkFailedError) || err.message.endsWith('nothing was written')) return err;
  return new WorkFailedError(`${err.message}; nothing was written`, { code: err.code, hint: err.hint, details: err.details, cause: err });
}
