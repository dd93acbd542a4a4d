/**
 * The development marketplace's published plugins as an IndexSource
 * (registry/writer.ts): what `marketplace index` and `serve --index-to`
 * write into a static registry. The one place that reads the store for it.
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeRegistry, type IndexSource } from '../registry/writer.js';
import type { RegistrySink } from '../registry/sink.js';
import type { IndexedVersion } from '../registry/layout.js';
import { MarketDb, type SubmissionRow } from './db.js';
import { openSigning, type ServerSigning } from './signing.js';
import { ArchiveStore } from './store.js';
import { DB_FILE } from './storage.js';

function indexed(row: SubmissionRow, signing: ServerSigning): IndexedVersion | undefined {
  const s = signing.signaturesOf(row);
  // A version published before counter-signatures existed has none: nothing could verify it from a registry.
  if (!s.marketplace) return undefined;
  return {
    version: row.version,
    channel: row.channel,
    published_at: row.published_at,
    sha256: row.sha256,
    size: row.size,
    publisher: s.publisher,
    publisherKey: s.publisher_key,
    countersignature: s.marketplace,
  };
}

export function serverIndexSource(core: { db: MarketDb; store: ArchiveStore; signing: ServerSigning }): IndexSource {
  const { db, store, signing } = core;
  return {
    marketplaceKeys: async () => signing.marketplaceKeys(),
    plugins: async () =>
      (db.db.prepare("SELECT DISTINCT plugin FROM submissions WHERE state = 'published' ORDER BY plugin").all() as { plugin: string }[]).map((r) => r.plugin),
    async plugin(name) {
      const p = db.plugin(name);
      if (!p) return undefined;
      const versions = db.published(name).flatMap((r) => indexed(r, signing) ?? []);
      return { owner: p.owner, versions };
    },
    blob: async (sha256) => createReadStream(store.pathOf(sha256)),
  };
}

/** A data dir of a stopped `marketplace serve`, opened for reading its published plugins. */
export async function openDataDirSource(dataDir: string): Promise<{ source: IndexSource; close(): void } | undefined> {
  const file = path.join(dataDir, DB_FILE);
  if (!(await fs.stat(file).catch(() => undefined))?.isFile()) return undefined;
  const db = new MarketDb(file);
  try {
    const signing = await openSigning(dataDir, db.db, Date.now);
    return { source: serverIndexSource({ db, store: new ArchiveStore(dataDir), signing }), close: () => db.close() };
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * serve --index-to: write the whole registry now (a failure stops the start),
 * then return the publish hook: one plugin's index, its shard and the root,
 * one publish after another. A failed write is logged; the publish stands
 * and the next write or `marketplace index` catches up.
 */
export async function keepRegistry(
  core: { db: MarketDb; store: ArchiveStore; signing: ServerSigning; log: (l: string) => void },
  sink: RegistrySink,
): Promise<(plugin: string) => Promise<void>> {
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
