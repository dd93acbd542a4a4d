/**
 * Which storage `marketplace serve` and `marketplace migrate` use, from the
 * flags, then the environment, then a config file (docs/marketplace-deploy.md):
 *
 *   --database postgres://user@host/db   PLEXICHAT_SERVE_DATABASE   "database"
 *   --blobs s3://bucket/prefix           PLEXICHAT_SERVE_BLOBS      "blobs"
 *   --s3-endpoint URL                    PLEXICHAT_SERVE_S3_ENDPOINT "s3_endpoint"
 *   --sweep-grace SECONDS                PLEXICHAT_SERVE_SWEEP_GRACE "sweep_grace_seconds"
 *   serve --signing-key FILE             PLEXICHAT_SERVE_SIGNING_KEY_FILE "signing_key_file"
 *   --config FILE                        PLEXICHAT_SERVE_CONFIG     (a JSON object of the keys above)
 *
 * Credentials never come from a flag: a password in a --database URL is
 * refused (PGPASSWORD, a ~/.pgpass file, the variable or the config file
 * carry it); S3 credentials come from the AWS_* environment only. Pure
 * except readStorageFile(); imports no database or S3 package.
 */
import { readRegularText } from '../../io/read-file.js';
import { parseS3Url, S3UrlError } from './s3-client.js';
import type { StorageConfig } from './open.js';

export const STORAGE_ENV = {
  database: 'PLEXICHAT_SERVE_DATABASE',
  blobs: 'PLEXICHAT_SERVE_BLOBS',
  s3Endpoint: 'PLEXICHAT_SERVE_S3_ENDPOINT',
  sweepGrace: 'PLEXICHAT_SERVE_SWEEP_GRACE',
  config: 'PLEXICHAT_SERVE_CONFIG',
} as const;

export interface StorageFlags {
  database?: string;
  blobs?: string;
  s3Endpoint?: string;
  sweepGrace?: number;
  config?: string;
  /** serve --index-to: an s3:// registry uses the endpoint too. */
  indexTo?: string;
}

/** The config file's members. */
export interface StorageFile {
  database?: string;
  blobs?: string;
  s3_endpoint?: string;
  sweep_grace_seconds?: number;
  /** serve: the marketplace's own key file, relative to the config file's folder (migrate ignores it). */
  signing_key_file?: string;
}

/** A storage setting that cannot be used: a one-line message, a hint, and a stable code. */
export class StorageConfigError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    readonly code = 'BAD_STORAGE_CONFIG',
  ) {
    super(message);
    this.name = 'StorageConfigError';
  }
}

const PASSWORD_HINT = 'put the password in PGPASSWORD, in a ~/.pgpass file (or PGPASSFILE), in PLEXICHAT_SERVE_DATABASE or in the --config file';

/** A postgres:// URL; `from` says where it came from (a password is refused only on the command line). */
export function checkDatabaseUrl(text: string, from: 'flag' | 'env' | 'file'): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new StorageConfigError(`the database "${redact(text).slice(0, 80)}" is not a postgres:// URL`, 'give postgres://user@host:5432/dbname');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new StorageConfigError(`the database ${redact(text).slice(0, 80)} is not a postgres:// URL`, 'give postgres://user@host:5432/dbname');
  }
  if (from === 'flag' && (url.password || url.searchParams.has('password'))) {
    throw new StorageConfigError('--database carries a password, which ps and the shell history show', PASSWORD_HINT, 'SECRET_ON_COMMAND_LINE');
  }
  return text;
}

/** The URL with its password shown as ***. */
export function redact(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    if (url.searchParams.has('password')) url.searchParams.set('password', '***');
    return url.toString();
  } catch {
    return text.replace(/:[^:@/]*@/, ':***@');
  }
}

function checkBlobs(text: string): string {
  try {
    parseS3Url(text);
  } catch (err) {
    if (err instanceof S3UrlError)
      throw new StorageConfigError(err.message, 'give s3://bucket/prefix; credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY');
    throw err;
  }
  return text;
}

function checkEndpoint(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new StorageConfigError(`the S3 endpoint "${text.slice(0, 80)}" is not an http(s):// URL`, 'give e.g. http://127.0.0.1:9000');
  }
  if (url.username || url.password) {
    throw new StorageConfigError('the S3 endpoint carries credentials', 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment');
  }
  return text;
}

/** Parse the config file's text (a JSON object of the known keys). */
export function parseStorageFile(text: string, shown: string): StorageFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new StorageConfigError(
      `${shown} is not JSON: ${(err as Error).message.split('\n')[0]}`,
      'write a JSON object such as {"database": "postgres://…", "blobs": "s3://…"}',
    );
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new StorageConfigError(`${shown} is not a JSON object`, 'write a JSON object such as {"database": "postgres://…", "blobs": "s3://…"}');
  }
  const known = ['database', 'blobs', 's3_endpoint', 'sweep_grace_seconds', 'signing_key_file'];
  for (const [k, v] of Object.entries(doc)) {
    if (!known.includes(k)) throw new StorageConfigError(`${shown}: unknown key "${k.slice(0, 40)}"`, `the keys are ${known.join(', ')}`);
    const ok = k === 'sweep_grace_seconds' ? Number.isInteger(v) && (v as number) >= 0 : typeof v === 'string' && v !== '';
    if (!ok)
      throw new StorageConfigError(
        `${shown}: "${k}" must be ${k === 'sweep_grace_seconds' ? 'a whole number of seconds' : 'a non-empty string'}`,
        `fix ${k} in ${shown}`,
      );
  }
  return doc;
}

/** Read the config file (a regular file of at most 64 KiB). */
export async function readStorageFile(file: string, shown: string): Promise<StorageFile> {
  let text: string;
  try {
    text = await readRegularText(file, { maxBytes: 64 * 1024, shown });
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new StorageConfigError(
      code === 'ENOENT' ? `the config file ${shown} was not found` : `cannot read the config file ${shown} (${code ?? (err as Error).message})`,
      'pass a JSON file with "database" and "blobs"',
    );
  }
  return parseStorageFile(text, shown);
}

function graceOf(flag: number | undefined, env: string | undefined, file: number | undefined): number | undefined {
  if (flag !== undefined) return flag * 1000;
  if (env !== undefined && env !== '') {
    if (!/^\d+$/.test(env)) throw new StorageConfigError(`${STORAGE_ENV.sweepGrace}="${env.slice(0, 20)}" is not a whole number of seconds`, 'e.g. 3600');
    return Number(env) * 1000;
  }
  return file === undefined ? undefined : file * 1000;
}

/**
 * The shared storage these settings name, or undefined when none is named
 * (the data dir). Both the database and the blobs, or neither.
 */
export function sharedStorage(flags: StorageFlags, env: NodeJS.ProcessEnv, file: StorageFile = {}): Extract<StorageConfig, { kind: 'shared' }> | undefined {
  const pick = (flag: string | undefined, name: string | undefined, inFile: string | undefined) => {
    if (flag !== undefined) return { value: flag, from: 'flag' as const };
    if (name !== undefined && name !== '') return { value: name, from: 'env' as const };
    return inFile === undefined ? undefined : { value: inFile, from: 'file' as const };
  };
  const database = pick(flags.database, env[STORAGE_ENV.database], file.database);
  const blobs = pick(flags.blobs, env[STORAGE_ENV.blobs], file.blobs);
  const endpoint = pick(flags.s3Endpoint, env[STORAGE_ENV.s3Endpoint], file.s3_endpoint);
  if (!database && !blobs) {
    if (endpoint && !flags.indexTo?.startsWith('s3://')) {
      throw new StorageConfigError(
        'an S3 endpoint is set but no s3:// blob store or registry',
        'add --blobs s3://bucket/prefix (and --database), or --index-to s3://bucket/prefix',
      );
    }
    return undefined;
  }
  if (!database) throw new StorageConfigError('the blob store is set but no database', 'add --database postgres://user@host/db (or PLEXICHAT_SERVE_DATABASE)');
  if (!blobs) throw new StorageConfigError('the database is set but no blob store', 'add --blobs s3://bucket/prefix (or PLEXICHAT_SERVE_BLOBS)');
  const grace = graceOf(flags.sweepGrace, env[STORAGE_ENV.sweepGrace], file.sweep_grace_seconds);
  return {
    kind: 'shared',
    database: checkDatabaseUrl(database.value, database.from),
    blobs: checkBlobs(blobs.value),
    ...(endpoint ? { s3Endpoint: checkEndpoint(endpoint.value) } : {}),
    ...(grace !== undefined ? { sweepGraceMs: grace } : {}),
  };
}
