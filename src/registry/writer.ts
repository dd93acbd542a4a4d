/**
 * Writing a static registry (layout.ts) from a source of published plugins:
 * `marketplace index` and `serve --index-to` read the server's store through
 * an IndexSource (server/index-source.ts), `marketplace mirror` a set of
 * downloads it has verified. Order: every content-addressed blob, then each
 * plugin's index, the catalogue shards, the keys, and the root last, so a
 * reader following the root never finds a name whose file is not there yet.
 * A file whose bytes are already there is not written again: a second run
 * changes nothing. What is in the registry and not in the source (plugins,
 * versions, keys a mirror put there earlier) is kept.
 */
import type { Readable } from 'node:stream';
import type { KeyRecord } from '../signing/keyring.js';
import { isObject } from '../core/schema/issues.js';
import {
  blobPath,
  byVersion,
  documentBytes,
  KEYS_PATH,
  parsePluginIndex,
  parseRoot,
  parseShard,
  pluginDocument,
  pluginIndexPath,
  ROOT_PATH,
  rootDocument,
  shardDocument,
  shardEntry,
  shardOf,
  shardPath,
  signatureBytes,
  versionEntry,
  type IndexedVersion,
  type RegistryVersion,
  type ShardEntry,
} from './layout.js';
import type { RegistrySink } from './sink.js';
import { sha256Hex } from '../signing/verify.js';

/** What the writer reads: the published plugins of a marketplace (or of a verified mirror). */
export interface IndexSource {
  marketplaceKeys(): Promise<KeyRecord[]>;
  /** Every plugin with a published version. */
  plugins(): Promise<string[]>;
  /** A plugin's owner and published versions (undefined: none). */
  plugin(name: string): Promise<{ owner: string | null; versions: IndexedVersion[] } | undefined>;
  /** The archive of this digest. */
  blob(sha256: string): Promise<Readable>;
}

export interface IndexReport {
  plugins: string[];
  versions: number;
  /** Paths written (new or changed), in the order written. */
  written: string[];
  /** Files that were already there with the same bytes. */
  unchanged: number;
}

class Run {
  readonly report: IndexReport = { plugins: [], versions: 0, written: [], unchanged: 0 };
  constructor(readonly sink: RegistrySink) {}

  /** A document: written when its bytes differ from what is there. */
  async document(rel: string, bytes: Buffer): Promise<void> {
    const now = await this.sink.read(rel);
    if (now?.equals(bytes)) {
      this.report.unchanged += 1;
      return;
    }
    await this.sink.put(rel, bytes);
    this.report.written.push(rel);
  }

  /** A content-addressed file: written when absent. */
  async blob(rel: string, put: () => Promise<void>): Promise<void> {
    if (await this.sink.has(rel)) {
      this.report.unchanged += 1;
      return;
    }
    await put();
    this.report.written.push(rel);
  }

  /** The registry's current document at rel, parsed; a missing or unreadable one is none (it is rewritten). */
  async current<T>(rel: string, parse: (b: Buffer) => T): Promise<T | undefined> {
    const bytes = await this.sink.read(rel);
    if (!bytes) return undefined;
    try {
      return parse(bytes);
    } catch {
      return undefined;
    }
  }
}

type Published = { name: string; owner: string | null; versions: IndexedVersion[] };

/** A plugin's archives and publisher signatures (before any document names them). */
async function writeBlobs(run: Run, source: IndexSource, p: Published): Promise<void> {
  for (const v of p.versions) {
    await run.blob(blobPath(v.sha256), async () => run.sink.putStream(blobPath(v.sha256), await source.blob(v.sha256), v.size));
    if (v.publisher) {
      const bytes = signatureBytes(v.publisher);
      await run.blob(blobPath(sha256Hex(bytes)), () => run.sink.put(blobPath(sha256Hex(bytes)), bytes));
    }
  }
}

/** A plugin's index: the versions already in the registry and the source's (the source's win). */
async function writeIndex(run: Run, p: Published): Promise<ShardEntry> {
  const rel = pluginIndexPath(p.name);
  const before = await run.current(rel, (b) => parsePluginIndex(b, rel));
  // One entry per archive: a version's one archive, or each of its platform variants.
  const key = (v: { version: string; platform?: string }) => `${v.version} ${v.platform ?? ''}`;
  const merged = new Map<string, RegistryVersion>((before?.name === p.name ? before.versions : []).map((v) => [key(v), v]));
  for (const v of p.versions) merged.set(key(v), versionEntry(v));
  const doc = pluginDocument(p.name, p.owner ?? before?.owner ?? null, [...merged.values()].sort(byVersion));
  const bytes = documentBytes(doc);
  await run.document(rel, bytes);
  run.report.plugins.push(p.name);
  run.report.versions += p.versions.length;
  return shardEntry(doc, bytes);
}

async function writeShards(run: Run, entries: ShardEntry[]) {
  const byShard = new Map<string, ShardEntry[]>();
  for (const e of entries) byShard.set(shardOf(e.name), [...(byShard.get(shardOf(e.name)) ?? []), e]);
  const refs = [];
  for (const [shard, list] of byShard) {
    const before = await run.current(shardPath(shard), (b) => parseShard(b, shard));
    const merged = new Map((before?.plugins ?? []).map((e) => [e.name, e]));
    for (const e of list) merged.set(e.name, e);
    const doc = shardDocument(shard, [...merged.values()]);
    const bytes = documentBytes(doc);
    await run.document(shardPath(shard), bytes);
    refs.push({ shard, path: shardPath(shard), sha256: sha256Hex(bytes), plugins: doc.plugins.length });
  }
  return refs;
}

async function writeKeys(run: Run, keys: KeyRecord[]) {
  const before = await run.current(KEYS_PATH, (b) => JSON.parse(b.toString('utf8')) as unknown);
  const merged = new Map<string, unknown>();
  if (isObject(before) && Array.isArray(before.keys)) for (const k of before.keys) if (isObject(k) && typeof k.key_id === 'string') merged.set(k.key_id, k);
  for (const k of keys) merged.set(k.key_id, k);
  const list = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, k]) => k);
  await run.document(KEYS_PATH, documentBytes({ keys: list }));
}

/** Write the plugins named in `only` (default: all of the source's) into the registry at `sink`. */
export async function writeRegistry(source: IndexSource, sink: RegistrySink, opts: { only?: string[] } = {}): Promise<IndexReport> {
  const run = new Run(sink);
  const names = opts.only ?? (await source.plugins());
  const published: Published[] = [];
  for (const name of [...new Set(names)].sort()) {
    const p = await source.plugin(name);
    if (p && p.versions.length > 0) published.push({ name, ...p });
  }
  for (const p of published) await writeBlobs(run, source, p);
  const entries: ShardEntry[] = [];
  for (const p of published) entries.push(await writeIndex(run, p));
  const refs = await writeShards(run, entries);
  await writeKeys(run, await source.marketplaceKeys());
  const before = await run.current(ROOT_PATH, parseRoot);
  const shards = new Map((before?.shards ?? []).map((s) => [s.shard, s]));
  for (const r of refs) shards.set(r.shard, r);
  await run.document(ROOT_PATH, documentBytes(rootDocument([...shards.values()])));
  return run.report;
}
