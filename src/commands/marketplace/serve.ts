/**
 * `marketplace serve`: run the development marketplace (src/server) until
 * SIGINT/SIGTERM, then stop accepting, finish requests in flight, close the
 * database and return (exit 0).
 *
 * Under --json the one JSON document ({ url, api, data_dir, tokens }) is
 * printed as soon as the server listens, because the command runs until a
 * signal; run() then resolves with undefined so nothing else is printed.
 */
import path from 'node:path';
import type { Ctx } from '../../context.js';
import { errnoCode, UsageError, WorkFailedError } from '../../errors.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  dataDir?: string;
  developerToken?: string[];
  reviewerToken?: string;
  autoApprove?: boolean;
  maxUploadMb?: number;
}

export interface ServeResult {
  url: string;
  stopped: true;
}

export const DEFAULT_DATA_DIR = '.plexichat-marketplace';

export async function run(opts: ServeOptions, ctx: Ctx): Promise<ServeResult | undefined> {
  const host = opts.host ?? '127.0.0.1';
  const dataDir = path.resolve(ctx.cwd, opts.dataDir ?? DEFAULT_DATA_DIR);
  for (const t of [...(opts.developerToken ?? []), ...(opts.reviewerToken ? [opts.reviewerToken] : [])]) {
    if (t.length < 8 || /\s/.test(t)) {
      throw new UsageError('a token must be at least 8 characters with no spaces', {
        hint: 'omit the token flags to have tokens generated',
      });
    }
  }
  if (ctx.signal.aborted) return undefined;

  const { startServer } = await import('../../server/index.js');
  let handle: Awaited<ReturnType<typeof startServer>>;
  try {
    handle = await startServer({
      host,
      port: opts.port ?? 0,
      dataDir,
      developerTokens: opts.developerToken,
      reviewerTokens: opts.reviewerToken ? [opts.reviewerToken] : undefined,
      autoApprove: opts.autoApprove,
      maxUploadBytes: opts.maxUploadMb === undefined ? undefined : opts.maxUploadMb * 1024 * 1024,
      log: (line) => ctx.out.info(line),
    });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EADDRINUSE') {
      throw new WorkFailedError(`port ${opts.port} on ${host} is already in use`, {
        code: 'PORT_IN_USE',
        hint: 'choose another --port, or --port 0 for a free one',
        cause: err,
      });
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new UsageError(`cannot listen on ${host}: no such local address`, { hint: 'use --host 127.0.0.1', cause: err });
    }
    if ((code === 'EACCES' || code === 'EPERM') && opts.port !== undefined && opts.port > 0 && opts.port < 1024 && (err as { syscall?: string }).syscall === 'listen') {
      throw new WorkFailedError(`not allowed to listen on port ${opts.port}`, {
        code: 'SERVE_FAILED',
        hint: 'choose a port above 1023, or --port 0 for a free one',
        cause: err,
      });
    }
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new WorkFailedError(`--data-dir ${dataDir} is not a directory`, {
        code: 'SERVE_FAILED',
        hint: 'point --data-dir at a directory (it is created if missing)',
        cause: err,
      });
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new WorkFailedError(`cannot write to ${dataDir} (${code})`, {
        code: 'SERVE_FAILED',
        hint: 'choose a writable --data-dir',
        cause: err,
      });
    }
    if ((err as { code?: string }).code === 'DATA_DIR_IN_USE') {
      throw new WorkFailedError(`another marketplace server is using ${dataDir}`, {
        code: 'DATA_DIR_IN_USE',
        hint: 'stop it first, or choose another --data-dir',
        cause: err,
      });
    }
    if ((err as { code?: string }).code === 'SQLITE_NOTADB' || (err as { code?: string }).code === 'SQLITE_CORRUPT') {
      throw new WorkFailedError(`${path.join(dataDir, 'marketplace.db')} is not a marketplace database`, {
        code: 'SERVE_FAILED',
        hint: 'point --data-dir at an empty directory',
        cause: err,
      });
    }
    throw err;
  }

  const tokens = {
    developer: handle.generated.developer,
    reviewer: handle.generated.reviewer[0] ?? null,
  };
  if (ctx.flags.json) {
    ctx.out.writeJson({ url: handle.url, api: handle.api, data_dir: handle.dataDir, tokens });
  } else {
    ctx.out.result(`Marketplace listening on ${handle.url}`);
    for (const t of tokens.developer) ctx.out.result(`developer token: ${t}`);
    if (tokens.reviewer) ctx.out.result(`reviewer token:  ${tokens.reviewer}`);
    ctx.out.info(`data: ${handle.dataDir}`);
    ctx.out.info(`use it with: PLEXICHAT_MARKETPLACE_URL=${handle.url}  (Ctrl-C stops the server)`);
  }
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    ctx.out.warn(`listening on ${host}: the development marketplace has no TLS; use it on trusted networks only`);
  }

  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) return resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  ctx.out.info('stopping: finishing requests in flight');
  await handle.close();
  ctx.out.info('marketplace stopped');
  return ctx.flags.json ? undefined : { url: handle.url, stopped: true };
}
