/**
 * The development marketplace's published plugins as an IndexSource
 * (registry/writer.ts): what `marketplace index` and `serve --index-to`
 * write into a static registry. The one place that reads the store for it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeRegistry, type IndexSource } from '../registry/writer.js';
import type { RegistrySink } from '../registry/sink.js';
import type { IndexedVersion } from '../registry/layout.js';
import type { MetaStore, SubmissionRow } from './storage/meta.js';
import type { BlobStore } from './storage/blobs.js';
import { DB_FILE, openStorage } from './storage/open.js';
import { SignatureRecords } from './signing.js';

/** What the index reads of a running or opened marketplace: its stores (storage/: SQLite + folder or PostgreSQL + S3) and its keys. */
interface Stores {
  meta: MetaStore;
  blobs: BlobStore;
  signing: SignatureRecords;
}

async function indexed(row: SubmissionRow, signing: SignatureRecords): Promise<IndexedVersion | undefined> {
  const s = await signing.signaturesOf(row);
  // A version published before counter-signatures existed has none: nothing could verify it from a registry.
  if (!s.marketplace) return undefined;
  return {
    version: row.version,
    ...(row.platform ? { platform: row.platform } : {}),
    channel: row.channel,
    published_at: row.published_at,
    sha256: row.sha256,
    size: row.size,
    publisher: s.publisher,
    publisherKey: s.publisher_key,
    countersignature: s.marketplace,
  };
}

export function serverIndexSource(core: Stores): IndexSource {
  const { meta, blobs, signing } = core;
  return {
    marketplaceKeys: async () => signing.marketplaceKeys(),
    async plugins() {
      const names = (await meta.plugins()).map((p) => p.name).sort();
      const published = await Promise.all(names.map(async (n) => ((await meta.published(n)).length > 0 ? n : undefined)));
      return published.filter((n): n is string => n !== undefined);
    },
    async plugin(name) {
      const p = await meta.plugin(name);
      if (!p) return undefined;
      const versions = (await Promise.all((await meta.published(name)).map((r) => indexed(r, signing)))).filter((v): v is IndexedVersion => v !== undefined);
      return { owner: p.owner, versions };
    },
    blob: async (sha256) => blobs.open(sha256),
  };
}

/** A data dir of a stopped `marketplace serve`, opened for reading its published plugins. */
export async function openDataDirSource(dataDir: string): Promise<{ source: IndexSource; close(): Promise<void> } | undefined> {
  if (!(await fs.stat(path.join(dataDir, DB_FILE)).catch(() => undefined))?.isFile()) return undefined;
  const storage = await openStorage({ kind: 'data-dir', dataDir }, Date.now, () => undefined, false);
  try {
    // Only what is recorded is read: the marketplace's key is neither needed nor made.
    const signing = new SignatureRecords(storage.meta);
    const close = async () => {
      await storage.blobs.close();
      await storage.meta.close();
    };
    return { source: serverIndexSource({ meta: storage.meta, blobs: storage.blobs, signing }), close };
  } catch (err) {
    await storage.blobs.close();
    await storage.meta.close();
    throw err;
  }
}

/**
 * serve --index-to: write the whole registry now (a failure stops the start),
 * then return the publish hook: one plugin's index, its shard and the root,
 * one publish after another. A failed write is logged; the publish stands
 * and the next write or `marketplace index` catches up.
 */
export async function keepRegistry(core: Stores & { log: (l: string) => void }, sink: RegistrySink): Promise<(plugin: string) => Promise<void>> {
  const source = serverIndexSource(core);
  const first = await writeRegistry(source, sink).catch((err: unknown) => {
    throw new RegistryStartError(err);
  });
  core.log(`index: ${sink.label}: ${first.plugins.length} plugin(s), ${first.written.length} file(s) written`);
  let queue: Promise<void> = Promise.resolve();
  return (plugin) => {
    queue = queue.then(async () => {
      try {
        const r = await writeRegistry(source, sink, { only: [plugin] });
        core.log(`index: ${plugin}: ${r.written.length} file(s) written to ${sink.label}`);
      } catch (err) {
        core.log(`index: writing ${plugin} to ${sink.label} failed: ${String((err as Error).message ?? err).split('\n')[0]}`);
      }
    });
    return queue;
  };
}

/** The registry could not be written at start; `cause` is the file system's or the S3 store's error. */
export class RegistryStartError extends Error {
  constructor(cause: unknown) {
    super(`cannot write the static registry: ${String((cause as Error)?.message ?? cause).split('\n')[0]}`, { cause });
    this.name = 'RegistryStartError';
  }
}
