/**
 * Copying one storage into another (SQLite + folder → PostgreSQL + S3 and
 * back): every archive, SBOM and provenance envelope a row names (its bytes
 * checked against its digest),
 * the named files (the marketplace's signing key), then every row in one
 * transaction, then both read back and compared. The target must hold no
 * rows; a copy that fails leaves its rows uncommitted, and archives without
 * rows are what the sweep removes.
 */
import { createHash } from 'node:crypto';
import { NAMED_FILES, type BlobStore } from './blobs.js';
import { TABLES, type MetaStore, type Tables } from './meta.js';
import { ServerAttestations } from '../attestations.js';

export interface Stores {
  meta: MetaStore;
  blobs: BlobStore;
}

export interface CopyReport {
  rows: Record<keyof Tables, number>;
  archives: number;
  bytes: number;
  files: string[];
}

export class CopyError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'CopyError';
  }
}

const sha256Of = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A row as text with its keys in order (SQLite and PostgreSQL return columns in different orders). */
function canonical(row: object): string {
  const r = row as Record<string, unknown>;
  return JSON.stringify(
    Object.keys(r)
      .sort()
      .map((k) => [k, r[k] ?? null]),
  );
}

/** Every difference between two dumps, as lines (empty when equal). */
export function compareTables(a: Tables, b: Tables): string[] {
  const out: string[] = [];
  for (const t of TABLES) {
    const left = a[t].map(canonical).sort();
    const right = new Set(b[t].map(canonical));
    if (a[t].length !== b[t].length) out.push(`${t}: ${a[t].length} rows, then ${b[t].length}`);
    for (const row of left) if (!right.has(row)) out.push(`${t}: a row differs or is missing: ${row.slice(0, 200)}`);
  }
  return out;
}

async function copyFiles(from: BlobStore, to: BlobStore): Promise<string[]> {
  const copied: string[] = [];
  for (const name of NAMED_FILES) {
    const bytes = await from.getFile(name);
    if (bytes === undefined) continue;
    const there = await to.getFile(name);
    if (there !== undefined && !there.equals(bytes)) {
      throw new CopyError(`the target already holds another ${name}; copy into a new storage`, 'TARGET_NOT_EMPTY');
    }
    if (there === undefined) await to.putFile(name, bytes);
    copied.push(name);
  }
  return copied;
}

export async function copyStorage(from: Stores, to: Stores): Promise<CopyReport> {
  const target = await to.meta.dump();
  const held = TABLES.filter((t) => t !== 'marketplace_keys' && target[t].length > 0);
  if (held.length > 0) {
    throw new CopyError(
      `the target already holds rows (${held.map((t) => `${target[t].length} ${t}`).join(', ')}); copy into an empty one`,
      'TARGET_NOT_EMPTY',
    );
  }
  const tables = await from.meta.dump();
  const files = await copyFiles(from.blobs, to.blobs);
  const digests = [...new Set(tables.submissions.map((s) => s.sha256))].sort();
  let bytes = 0;
  for (const sha of digests) {
    const data = await from.blobs.read(sha);
    if (sha256Of(data) !== sha)
      throw new CopyError(`the archive ${sha} in ${from.blobs.where} does not match its digest; nothing was copied`, 'ARCHIVE_CORRUPT');
    await to.blobs.write(sha, data);
    bytes += data.length;
  }
  for (const [key, sha] of attestationKeys(tables)) {
    const data = await from.blobs.readAt(key);
    if (sha256Of(data) !== sha) throw new CopyError(`${key} in ${from.blobs.where} does not match its digest; nothing was copied`, 'ARCHIVE_CORRUPT');
    await to.blobs.writeAt(key, data);
    bytes += data.length;
  }
  // The marketplace key recorded by the target's own start (if any) is kept; the source's are added.
  const have = new Set(target.marketplace_keys.map((k) => k.key_id));
  await to.meta.load({ ...tables, marketplace_keys: tables.marketplace_keys.filter((k) => !have.has(k.key_id)) });
  await verifyCopy(from, to, tables, digests);
  return {
    rows: Object.fromEntries(TABLES.map((t) => [t, tables[t].length])) as Record<keyof Tables, number>,
    archives: digests.length,
    bytes,
    files,
  };
}

/** The blob keys of every SBOM and provenance envelope a row names, with their digests. */
function attestationKeys(tables: Tables): [string, string][] {
  const out: [string, string][] = [];
  for (const a of tables.attestations) {
    if (a.sbom_sha256 !== null) out.push([ServerAttestations.keyOf(a.sbom_sha256, 'sbom'), a.sbom_sha256]);
    if (a.provenance_sha256 !== null) out.push([ServerAttestations.keyOf(a.provenance_sha256, 'provenance'), a.provenance_sha256]);
  }
  return out;
}

/** Read the target back: the same rows, and every archive with its digest. */
async function verifyCopy(from: Stores, to: Stores, tables: Tables, digests: string[]): Promise<void> {
  const copied = await to.meta.dump();
  const extra = new Set(copied.marketplace_keys.map((k) => k.key_id));
  for (const k of tables.marketplace_keys) extra.delete(k.key_id);
  const diff = compareTables(tables, { ...copied, marketplace_keys: copied.marketplace_keys.filter((k) => !extra.has(k.key_id)) });
  if (diff.length > 0) throw new CopyError(`the copy differs from ${from.blobs.where}: ${diff[0]}`, 'COPY_MISMATCH');
  for (const sha of digests) {
    if (sha256Of(await to.blobs.read(sha)) !== sha)
      throw new CopyError(`the archive ${sha} reads back with other bytes from ${to.blobs.where}`, 'COPY_MISMATCH');
  }
}
