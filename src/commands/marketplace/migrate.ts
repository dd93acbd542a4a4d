/**
 * `marketplace migrate`: bring a marketplace's storage up to date without
 * serving it (the schema migrations `serve` runs at start), optionally sweep
 * the archives no row names (--sweep, after --sweep-grace), or copy one
 * storage into another, losing nothing (--from/--from-database+--from-blobs
 * into --to/--to-database+--to-blobs): SQLite + folder → PostgreSQL + S3 and
 * back (server/storage/copy.ts; docs/marketplace-deploy.md).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Ctx } from '../../io/context.js';
import { UsageError, WorkFailedError, type CliError } from '../../errors.js';
import { redact, sharedStorage, StorageConfigError } from '../../server/storage/config.js';
import { resolveDataDir, sharedOf, storageError } from '../../server/storage/resolve.js';
import type { Storage, StorageConfig } from '../../server/storage/open.js';

/** The database file of a data dir (server/storage/open.ts). */
const DB_FILE = 'marketplace.db';
import type { CopyReport } from '../../server/storage/copy.js';

export interface MigrateOptions {
  dataDir?: string;
  database?: string;
  blobs?: string;
  s3Endpoint?: string;
  config?: string;
  sweep?: boolean;
  sweepGrace?: number;
  from?: string;
  fromDatabase?: string;
  fromBlobs?: string;
  to?: string;
  toDatabase?: string;
  toBlobs?: string;
}

export interface MigrateResult {
  /** Where the storage is: a data dir, or the database (without password) and the bucket. */
  storage: string;
  storageSchema: number;
  swept: { temps: number; orphans: number } | null;
  copy: (CopyReport & { from: string; to: string }) | null;
}

type Open = typeof import('../../server/storage/open.js');

function where(c: StorageConfig): string {
  return c.kind === 'data-dir' ? c.dataDir : `${redact(c.database)} + ${c.blobs}`;
}

/** One side of a copy: a data dir, or a database and a bucket given together. */
async function side(opts: MigrateOptions, which: 'from' | 'to', ctx: Ctx): Promise<StorageConfig> {
  const dir = opts[which];
  const database = which === 'from' ? opts.fromDatabase : opts.toDatabase;
  const blobs = which === 'from' ? opts.fromBlobs : opts.toBlobs;
  if (dir !== undefined && (database !== undefined || blobs !== undefined)) {
    throw new UsageError(`--${which} names a data dir; --${which}-database and --${which}-blobs name the other storage: give one of them`);
  }
  if (dir !== undefined) {
    const dataDir = await resolveDataDir({ dataDir: dir }, ctx, `--${which}`);
    if (which === 'from' && !(await fs.stat(path.join(dataDir, DB_FILE)).catch(() => undefined))?.isFile()) {
      throw new UsageError(`--from ${dir} is not a marketplace data dir (it has no ${DB_FILE})`, { hint: 'give the --data-dir that `marketplace serve` used' });
    }
    return { kind: 'data-dir', dataDir };
  }
  try {
    const shared = sharedStorage({ database, blobs, s3Endpoint: opts.s3Endpoint }, {});
    if (!shared) throw new UsageError(`a copy needs --${which} <data-dir>, or --${which}-database and --${which}-blobs`);
    return shared;
  } catch (err) {
    if (err instanceof StorageConfigError) throw new UsageError(err.message.replace(/^the /, `--${which}: the `), { code: err.code, hint: err.hint });
    throw err;
  }
}

function openError(err: unknown, open: Open, c: StorageConfig): CliError {
  if (err instanceof open.StorageError) return storageError(err);
  if (err instanceof open.DataDirError) {
    const inUse = (err.cause as { code?: string })?.code === 'DATA_DIR_IN_USE';
    return new WorkFailedError(inUse ? `another marketplace server is using ${where(c)}` : err.message, {
      code: inUse ? 'DATA_DIR_IN_USE' : 'DATA_DIR_UNUSABLE',
      hint: inUse ? 'stop it first' : 'choose another data dir',
      cause: err,
    });
  }
  throw err;
}

async function openOne(open: Open, c: StorageConfig, ctx: Ctx, maintain: boolean): Promise<Storage> {
  try {
    return await open.openStorage(
      c,
      () => ctx.clock.now(),
      (l) => ctx.out.info(l),
      maintain,
    );
  } catch (err) {
    throw openError(err, open, c);
  }
}

async function loadOpen(shared: boolean): Promise<Open> {
  const { missingServerPackages } = await import('../../server/deps.js');
  const missing = await missingServerPackages(shared);
  if (missing.length > 0) {
    throw new WorkFailedError(`marketplace migrate needs ${missing.map((m) => m.name).join(', ')}, optional dependencies that are missing`, {
      code: 'SERVER_DEPS_MISSING',
      hint: `run npm install ${missing.map((m) => `${m.name}@${m.range}`).join(' ')} where plexichat-plugin-cli is installed`,
    });
  }
  return import('../../server/storage/open.js');
}

async function copy(opts: MigrateOptions, ctx: Ctx): Promise<MigrateResult> {
  const from = await side(opts, 'from', ctx);
  const to = await side(opts, 'to', ctx);
  const open = await loadOpen(from.kind === 'shared' || to.kind === 'shared');
  const { copyStorage, CopyError } = await import('../../server/storage/copy.js');
  const source = await openOne(open, from, ctx, false);
  try {
    const target = await openOne(open, to, ctx, false);
    try {
      const report = await copyStorage(source, target);
      return { storage: where(to), storageSchema: await target.meta.schemaVersion(), swept: null, copy: { ...report, from: where(from), to: where(to) } };
    } catch (err) {
      if (err instanceof CopyError)
        throw new WorkFailedError(err.message, { code: err.code, hint: 'copy into a new data dir or an empty database and bucket' });
      throw err;
    } finally {
      await target.meta.close();
      await target.blobs.close();
    }
  } finally {
    await source.meta.close();
    await source.blobs.close();
  }
}

export async function run(opts: MigrateOptions, ctx: Ctx): Promise<MigrateResult> {
  const copying = [opts.from, opts.fromDatabase, opts.fromBlobs, opts.to, opts.toDatabase, opts.toBlobs].some((v) => v !== undefined);
  if (copying) {
    if (opts.sweep || opts.dataDir !== undefined || opts.database !== undefined || opts.blobs !== undefined) {
      throw new UsageError('a copy (--from…, --to…) takes no --data-dir, --database, --blobs or --sweep', {
        hint: 'run the copy, then `marketplace migrate --sweep` on the target',
      });
    }
    return copy(opts, ctx);
  }
  if (opts.sweepGrace !== undefined && !opts.sweep) throw new UsageError('--sweep-grace is for --sweep', { hint: 'add --sweep' });
  const shared = await sharedOf(opts, ctx);
  const config: StorageConfig = shared ?? { kind: 'data-dir', dataDir: await resolveDataDir(opts, ctx) };
  if (config.kind === 'shared' && opts.sweepGrace !== undefined) config.sweepGraceMs = opts.sweepGrace * 1000;
  const open = await loadOpen(config.kind === 'shared');
  const storage = await openOne(open, config, ctx, false);
  try {
    let swept: MigrateResult['swept'] = null;
    if (opts.sweep) {
      const grace =
        opts.sweepGrace !== undefined ? opts.sweepGrace * 1000 : config.kind === 'shared' ? (config.sweepGraceMs ?? open.DEFAULT_SWEEP_GRACE_MS) : 0;
      swept = await storage.meta.exclusive(() => storage.blobs.sweep(() => storage.meta.referencedDigests(), grace));
    }
    return { storage: where(config), storageSchema: await storage.meta.schemaVersion(), swept, copy: null };
  } finally {
    await storage.meta.close();
    await storage.blobs.close();
  }
}

export function render(r: MigrateResult, ctx: Ctx): void {
  if (r.copy) {
    const rows = Object.entries(r.copy.rows)
      .map(([t, n]) => `${n} ${t}`)
      .join(', ');
    ctx.out.result(`copied ${r.copy.from} into ${r.copy.to}: ${rows}; ${r.copy.archives} archive(s), ${r.copy.bytes} bytes; ${r.copy.files.length} file(s)`);
    ctx.out.info('read back and compared: every row and archive matches');
    return;
  }
  ctx.out.result(`${r.storage}: schema version ${r.storageSchema}`);
  if (r.swept) ctx.out.result(`sweep removed ${r.swept.temps} temp file(s) and ${r.swept.orphans} unreferenced archive(s)`);
}
