/**
 * `marketplace serve`: run the development marketplace (src/server) until
 * SIGINT/SIGTERM, then stop accepting, finish requests in flight, close the
 * database and return (exit 0).
 *
 * Under --json the one JSON document ({ url, api, data_dir, tokens }) is
 * printed as soon as the server listens, because the command runs until a
 * signal; run() then resolves with undefined so nothing else is printed.
 *
 * The data lives in the user's data dir ($XDG_DATA_HOME/plexichat-plugin/
 * marketplace, else ~/.local/share/...) unless --data-dir says otherwise, and
 * never where `build` would pack it: a --data-dir inside a plugin project is
 * refused unless it is (inside) a `.plexichat-marketplace` folder, which
 * build never packs. The server's packages are optional dependencies: when
 * they are missing this says which and how to install them.
 */
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { userPath, type Ctx } from '../../io/context.js';
import { CliError, errnoCode, UsageError, WorkFailedError } from '../../errors.js';
import { fsProblem } from '../../io/fs-errors.js';
import { NotRegularFileError, readRegularFile } from '../../io/read-file.js';
import { registerSecret } from '../../io/redact.js';
import { tokenProblem, type TokenSpec } from '../../server/auth.js';
import type { MissingPackage } from '../../server/deps.js';
import type { ServerHandle, StorageConfig } from '../../server/index.js';
import { readStorageFile, redact, STORAGE_ENV } from '../../server/storage/config.js';
import { resolveDataDir, sharedOf, storageError } from '../../server/storage/resolve.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  dataDir?: string;
  developerToken?: string[];
  reviewerToken?: string;
  /** A file of `<role> <token>` lines (docs/marketplace-api.md, "Tokens"): tokens that ps does not show. */
  tokensFile?: string;
  autoApprove?: boolean;
  maxUploadMb?: number;
  /** Keep a static registry current here: a folder or s3://bucket/prefix (docs/static-registry.md). */
  indexTo?: string;
  /** Shared storage (docs/marketplace-deploy.md): PostgreSQL + S3, also from the environment and --config. */
  database?: string;
  blobs?: string;
  /** The S3 endpoint of a non-AWS store, for --blobs and --index-to. */
  s3Endpoint?: string;
  sweepGrace?: number;
  config?: string;
  /** The marketplace's own key, kept out of the store (also PLEXICHAT_SERVE_SIGNING_KEY_FILE). */
  signingKey?: string;
}

export interface ServeResult {
  url: string;
  stopped: true;
}

type Server = typeof import('../../server/index.js');

/** The variable naming the marketplace's key file, as --signing-key does (a path, never the key). */
export const SIGNING_KEY_FILE_ENV = 'PLEXICHAT_SERVE_SIGNING_KEY_FILE';

/** The config file's signing_key_file, as a path relative to the config file's folder. */
async function configSigningKey(opts: ServeOptions, ctx: Ctx): Promise<{ shown: string; file: string } | undefined> {
  const config = opts.config ?? (ctx.env[STORAGE_ENV.config] || undefined);
  if (config === undefined) return undefined;
  const at = userPath(ctx, config);
  const value = (await readStorageFile(at, config)).signing_key_file;
  return value === undefined ? undefined : { shown: value, file: path.resolve(path.dirname(at), value) };
}

/** --signing-key, else the variable, else the config file: the private key, read with the CLI's own key reader (a loose mode is said). */
async function givenSigningKey(opts: ServeOptions, ctx: Ctx): Promise<KeyObject | undefined> {
  const named = opts.signingKey ?? (ctx.env[SIGNING_KEY_FILE_ENV] || undefined);
  const given = named === undefined ? await configSigningKey(opts, ctx) : { shown: named, file: userPath(ctx, named) };
  if (given === undefined) return undefined;
  const { privateKeyFromFile } = await import('../../signing/files.js');
  const key = await privateKeyFromFile(given.file, given.shown);
  for (const w of key.warnings) ctx.out.warn(w);
  return key.privateKey;
}

/** Environment variables with tokens (whitespace- or comma-separated): not visible in ps, as flags are. */
export const TOKEN_ENV = { developer: 'PLEXICHAT_SERVE_DEVELOPER_TOKENS', reviewer: 'PLEXICHAT_SERVE_REVIEWER_TOKENS' } as const;
const MAX_TOKENS_FILE_BYTES = 1024 * 1024;

function envTokens(env: NodeJS.ProcessEnv): TokenSpec[] {
  return (['developer', 'reviewer'] as const).flatMap((role) =>
    (env[TOKEN_ENV[role]] ?? '')
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((token) => ({ token, role })),
  );
}

/**
 * --tokens-file: one `<role> <token>` per line (`developer` or `reviewer`),
 * blank lines and `#` comments ignored. A bad line is named by its number,
 * never by its token. A file others can read is said (chmod 600).
 */
async function fileTokens(given: string, ctx: Ctx): Promise<TokenSpec[]> {
  const file = userPath(ctx, given);
  let text: string;
  try {
    const buf = await readRegularFile(file, { shown: given, maxBytes: MAX_TOKENS_FILE_BYTES });
    if (buf.length > MAX_TOKENS_FILE_BYTES) throw new UsageError(`--tokens-file ${given} is over 1 MiB: not a tokens file`, { code: 'BAD_TOKENS' });
    text = buf.toString('utf8');
  } catch (err) {
    // A FIFO or a folder is a wrong flag value, as a missing file is.
    if (err instanceof NotRegularFileError) throw new UsageError(`--tokens-file ${err.message}`, { code: err.code, hint: err.hint });
    if (err instanceof CliError) throw err;
    const code = errnoCode(err);
    throw new UsageError(code === 'ENOENT' ? `--tokens-file ${given} not found` : `cannot read --tokens-file ${given} (${code ?? (err as Error).message})`, {
      code: 'BAD_TOKENS',
      hint: 'pass a file of "developer <token>" and "reviewer <token>" lines',
    });
  }
  const specs: TokenSpec[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(developer|reviewer)[ \t]+(\S+)$/.exec(line);
    if (!m) {
      throw new UsageError(`--tokens-file ${given} line ${i + 1} is not "developer <token>" or "reviewer <token>"`, {
        code: 'BAD_TOKENS',
        hint: 'one role and one token per line; # starts a comment',
      });
    }
    specs.push({ token: m[2], role: m[1] as TokenSpec['role'] });
  });
  if (specs.length === 0) throw new UsageError(`--tokens-file ${given} has no tokens`, { code: 'BAD_TOKENS', hint: 'add "developer <token>" lines' });
  const st = await fs.stat(file);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    ctx.out.warn(`--tokens-file ${given} can be read by other users (mode ${(st.mode & 0o777).toString(8)}): run chmod 600 ${given}`);
  }
  return specs;
}

/** The tokens from the flags, --tokens-file and the environment, together. */
async function tokenSpecs(opts: ServeOptions, ctx: Ctx): Promise<TokenSpec[]> {
  const specs: TokenSpec[] = [
    ...(opts.developerToken ?? []).map((token) => ({ token, role: 'developer' as const })),
    ...(opts.reviewerToken === undefined ? [] : [{ token: opts.reviewerToken, role: 'reviewer' as const }]),
    ...(opts.tokensFile === undefined ? [] : await fileTokens(opts.tokensFile, ctx)),
    ...envTokens(ctx.env),
  ];
  for (const s of specs) registerSecret(s.token);
  return specs;
}

function missingError(missing: MissingPackage[]): CliError {
  const what = missing.map((m) => (m.state === 'absent' ? m.name : `${m.name} (installed, but it does not load: ${m.detail})`));
  const install = missing.map((m) => `${m.name}@${m.range}`).join(' ');
  const native = missing.some((m) => m.name === 'better-sqlite3')
    ? '; better-sqlite3 needs a prebuilt binary for this Node or python3, make and a C++ compiler'
    : '';
  return new WorkFailedError(`marketplace serve needs ${what.join(', ')}: optional dependencies of plexichat-plugin-cli that are missing`, {
    code: 'SERVER_DEPS_MISSING',
    hint: `run npm install ${install} where plexichat-plugin-cli is installed (add -g for a global install)${native}`,
    details: { missing: missing.map((m) => ({ name: m.name, range: m.range, state: m.state })) },
  });
}

/** The server module, or a one-line error naming what to install. */
async function loadServer(shared: boolean): Promise<Server> {
  const { missingServerPackages } = await import('../../server/deps.js');
  const missing = await missingServerPackages(shared);
  if (missing.length > 0) throw missingError(missing);
  return import('../../server/index.js');
}

interface Failure {
  says: string;
  hint: string;
  code?: string;
}

/** SQLite's codes for what the file system said, as the errno io/fs-errors.ts explains. */
function sqliteErrno(code: string): string | undefined {
  if (code === 'SQLITE_FULL') return 'ENOSPC';
  if (code.startsWith('SQLITE_READONLY')) return 'EROFS';
  if (code.startsWith('SQLITE_IOERR')) return 'EIO';
  return undefined;
}

/** What a system or SQLite error under the data dir means: the data dir's own cases, then io/fs-errors.ts. */
function dataDirProblem(cause: unknown, dataDir: string): Failure {
  const code = errnoCode(cause) ?? '';
  const at = (cause as { path?: unknown }).path;
  const where = typeof at === 'string' ? at : dataDir;
  const db = path.join(dataDir, 'marketplace.db');
  if (code === 'EEXIST' || code === 'ENOTDIR') {
    return { says: `${where} is not a directory`, hint: 'point --data-dir at a folder (it is made if missing)', code: 'NOT_A_DIRECTORY' };
  }
  // io/make-dir.ts: the parent exists but refuses a folder (/proc).
  if (code === 'ENOENT') {
    return { says: `${path.dirname(where)} cannot hold new folders (ENOENT)`, hint: 'choose a --data-dir on an ordinary disk' };
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return { says: `${db} is not a marketplace database`, hint: 'point --data-dir at an empty directory' };
  }
  if (code === 'SQLITE_CANTOPEN') {
    return { says: `cannot open ${db} (${code})`, hint: 'marketplace.db must be a file in a folder you can write to' };
  }
  const errno = sqliteErrno(code);
  const fsp = fsProblem(errno === undefined ? cause : { code: errno });
  if (fsp) return { says: `${fsp.says} (${code})`, hint: fsp.hint, code: fsp.code };
  const first = String((cause as Error)?.message ?? cause).split('\n')[0];
  return { says: `${first}${code && !first.includes(code) ? ` (${code})` : ''}`, hint: 'choose another --data-dir' };
}

function dataDirError(cause: unknown, dataDir: string): CliError {
  if ((cause as { code?: string }).code === 'DATA_DIR_IN_USE') {
    return new WorkFailedError(`another marketplace server is using ${dataDir}`, {
      code: 'DATA_DIR_IN_USE',
      hint: 'stop it first, or choose another --data-dir',
      cause,
    });
  }
  const p = dataDirProblem(cause, dataDir);
  return new WorkFailedError(`cannot keep the marketplace data in ${dataDir}: ${p.says}`, {
    code: p.code ?? 'DATA_DIR_UNUSABLE',
    hint: p.hint,
    cause,
    details: { data_dir: dataDir, ...(errnoCode(cause) ? { errno: errnoCode(cause) } : {}) },
  });
}

/** A failure to listen on host:port. */
function listenError(err: unknown, host: string, port: number): CliError {
  const code = errnoCode(err);
  if (code === 'EADDRINUSE') {
    return new WorkFailedError(`port ${port} on ${host} is already in use`, {
      code: 'PORT_IN_USE',
      hint: 'choose another --port, or --port 0 for a free one',
      cause: err,
    });
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new UsageError(`cannot listen on ${host}: no such local address`, { hint: 'use --host 127.0.0.1', cause: err });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new WorkFailedError(`not allowed to listen on port ${port}`, {
      code: 'SERVE_FAILED',
      hint: 'choose a port above 1023, or --port 0 for a free one',
      cause: err,
    });
  }
  return new WorkFailedError(`cannot listen on ${host} port ${port}: ${String((err as Error)?.message ?? err).split('\n')[0]}`, {
    code: 'SERVE_FAILED',
    hint: 'choose another --host or --port',
    cause: err,
  });
}

/** --index-to: the folder (made when missing) or S3 location the server keeps a static registry in. */
async function openRegistry(opts: ServeOptions, ctx: Ctx) {
  const { openSink } = await import('../../registry/sink.js');
  return openSink(opts.indexTo!, { flag: '--index-to', endpoint: opts.s3Endpoint, env: ctx.env, cwd: ctx.cwd });
}

function announce(handle: ServerHandle, host: string, ctx: Ctx, shared: { database: string; blobs: string } | undefined): void {
  // Both roles as lists (the server accepts several of each): one shape for scripts (schemas/marketplace-serve.schema.json).
  const tokens = {
    developer: handle.generated.developer,
    reviewer: handle.generated.reviewer,
  };
  if (ctx.flags.json) {
    ctx.out.writeJson({
      url: handle.url,
      api: handle.api,
      data_dir: handle.dataDir ?? null,
      ...(shared ? { database: redact(shared.database), blobs: shared.blobs } : {}),
      tokens,
    });
  } else {
    ctx.out.result(`Marketplace listening on ${handle.url}`);
    for (const t of tokens.developer) ctx.out.result(`developer token: ${t}`);
    for (const t of tokens.reviewer) ctx.out.result(`reviewer token:  ${t}`);
    ctx.out.info(shared ? `data: ${redact(shared.database)} and ${shared.blobs}` : `data: ${handle.dataDir}`);
    ctx.out.info(`use it with: PLEXICHAT_MARKETPLACE_URL=${handle.url}  (Ctrl-C stops the server)`);
  }
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    ctx.out.warn(`listening on ${host}: the development marketplace has no TLS; use it on trusted networks only`);
  }
}

export async function run(opts: ServeOptions, ctx: Ctx): Promise<ServeResult | undefined> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  const tokens = await tokenSpecs(opts, ctx);
  const problem = tokenProblem(tokens);
  if (problem)
    throw new UsageError(problem, { code: 'BAD_TOKENS', hint: 'omit the token flags, --tokens-file and the token variables to have tokens generated' });
  const shared = await sharedOf(opts, ctx);
  const dataDir = shared ? undefined : await resolveDataDir(opts, ctx);
  const storage: StorageConfig = shared ?? { kind: 'data-dir', dataDir: dataDir! };
  const signingKey = await givenSigningKey(opts, ctx);
  const server = await loadServer(shared !== undefined);
  if (ctx.signal.aborted) return undefined;
  const registry = opts.indexTo === undefined ? undefined : await openRegistry(opts, ctx);

  let handle: ServerHandle;
  try {
    handle = await server.startServer({
      host,
      port,
      storage,
      tokens,
      autoApprove: opts.autoApprove,
      maxUploadBytes: opts.maxUploadMb === undefined ? undefined : opts.maxUploadMb * 1024 * 1024,
      log: (line) => ctx.out.info(line),
      registry,
      signingKey,
    });
  } catch (err) {
    await registry?.close();
    if (err instanceof CliError) throw err; // the signing key's refusals (server/signing.ts)
    if (err instanceof server.DataDirError) throw dataDirError(err.cause, err.dataDir);
    if (err instanceof server.StorageError) throw storageError(err);
    if (err instanceof server.RegistryStartError)
      throw (await import('../../registry/errors.js')).registryWriteError(err.cause, registry!.label, '--index-to <dir|s3://…>');
    throw listenError(err, host, port);
  }
  announce(handle, host, ctx, shared);
  if (handle.signingKeyCopyInStore) {
    ctx.out.warn(`${handle.blobsAt} still holds a copy of the signing key (signing-key.pem): delete it, so the store's readers cannot sign as the marketplace`);
  }

  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) return resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  ctx.out.info('stopping: finishing requests in flight');
  await handle.close();
  await registry?.close();
  ctx.out.info('marketplace stopped');
  return ctx.flags.json ? undefined : { url: handle.url, stopped: true };
}
