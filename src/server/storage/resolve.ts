/**
 * Where `marketplace serve` and `marketplace migrate` keep the data, from
 * their flags and the environment: shared storage (config.ts: PostgreSQL +
 * S3 from the flags, the variables or --config), else a data dir (--data-dir,
 * else the user's data folder), never one `build` would pack.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { userPath, type Ctx } from '../../io/context.js';
import { MANIFEST_PATH } from '../../core/manifest/types.js';
import { UsageError, WorkFailedError, type CliError } from '../../errors.js';
import { userDir } from '../../io/dirs.js';
import { registerSecret } from '../../io/redact.js';
import { readStorageFile, sharedStorage, STORAGE_ENV, StorageConfigError, type StorageFlags } from './config.js';
import type { StorageConfig } from './open.js';

/** Under the user's data dir (io/dirs.ts). */
export const DEFAULT_DATA_DIR = 'marketplace';
/** The one name a data dir inside a project may have: build never packs it (core/package/file-list.ts). */
export const PROJECT_DATA_DIR = '.plexichat-marketplace';

/** The plugin project (a folder with config/plugin.yaml) that holds `dir`, if any. */
async function projectAround(dir: string): Promise<string | undefined> {
  for (let cur = dir; ; cur = path.dirname(cur)) {
    const st = await fs.stat(path.join(cur, MANIFEST_PATH)).catch(() => undefined);
    if (st?.isFile()) return cur;
    if (path.dirname(cur) === cur) return undefined;
  }
}

export async function resolveDataDir(opts: { dataDir?: string }, ctx: Ctx, flag = '--data-dir'): Promise<string> {
  let dataDir: string;
  if (opts.dataDir !== undefined) {
    dataDir = userPath(ctx, opts.dataDir);
  } else {
    const base = userDir('data', ctx.env);
    if (base === undefined) {
      throw new UsageError('no home folder to keep the marketplace data in (HOME and XDG_DATA_HOME are not set)', {
        hint: `pass ${flag} <dir>`,
      });
    }
    dataDir = path.join(base, DEFAULT_DATA_DIR);
  }
  const project = await projectAround(dataDir);
  if (project !== undefined && !path.relative(project, dataDir).split(path.sep).includes(PROJECT_DATA_DIR)) {
    throw new UsageError(`the data dir ${dataDir} is inside the plugin project ${project}, and build would pack it`, {
      code: 'DATA_DIR_IN_PROJECT',
      hint: `omit ${flag} (the default is in your data folder), choose a folder outside the project, or use ${PROJECT_DATA_DIR}`,
    });
  }
  return dataDir;
}

/** The shared storage the flags, the environment or the config file name; undefined for a data dir. */
export async function sharedOf(opts: StorageFlags & { dataDir?: string }, ctx: Ctx): Promise<Extract<StorageConfig, { kind: 'shared' }> | undefined> {
  try {
    const given = opts.config ?? ctx.env[STORAGE_ENV.config];
    const file = given ? await readStorageFile(userPath(ctx, given), given) : {};
    const shared = sharedStorage(opts, ctx.env, file);
    if (shared && opts.dataDir !== undefined) {
      throw new StorageConfigError(
        '--data-dir is for the SQLite + folder storage, not with a database and a blob store',
        'drop --data-dir, or drop --database and --blobs',
      );
    }
    if (shared) {
      const password = new URL(shared.database).password;
      if (password) registerSecret(decodeURIComponent(password));
    }
    return shared;
  } catch (err) {
    if (err instanceof StorageConfigError) throw new UsageError(err.message, { code: err.code, hint: err.hint });
    throw err;
  }
}

/** A StorageError (open.ts) as the CLI says it. */
export function storageError(err: { part: 'database' | 'blobs'; message: string; cause?: unknown }): CliError {
  return new WorkFailedError(err.message, {
    code: err.part === 'database' ? 'DATABASE_UNUSABLE' : 'BLOBS_UNUSABLE',
    hint:
      err.part === 'database'
        ? 'check the --database URL, that the server is up, and PGPASSWORD or ~/.pgpass'
        : 'check --blobs, --s3-endpoint, that the bucket exists, and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY',
    cause: err.cause,
  });
}
