/**
 * The development marketplace: docs/marketplace-api.md over Fastify, with
 * SQLite (db.ts) and a content-addressed archive store (store.ts).
 *
 * startServer() is what `marketplace serve` and the tests call. It has no
 * CLI or process dependencies: no process.*, no printing (pass `log`).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import type { Socket } from 'node:net';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import { ApiError, errorBody } from './errors.js';
import { MarketDb } from './db.js';
import { ArchiveStore } from './store.js';
import { bearer, generateToken, TokenTable, type Caller, type TokenSpec } from './auth.js';
import { FaultQueue, type Fault } from './faults.js';
import { ROUTES, fastifyPath, type Access, type RouteName } from './routes.js';
import { defaultVerify, type VerifyFn } from './verify.js';
import { registerHandlers } from './handlers.js';

export type { Fault, FaultKind } from './faults.js';
export type { RouteName } from './routes.js';
export type { VerifyFn, VerifyReport } from './verify.js';
export { ROUTES, API_PREFIX } from './routes.js';

export const DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

export interface ServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Database, archive store and temp files live here (created if missing). */
  dataDir: string;
  developerTokens?: string[];
  reviewerTokens?: string[];
  /** General form, e.g. with an expiry. */
  tokens?: TokenSpec[];
  /** Approve every valid submission at once. */
  autoApprove?: boolean;
  /** Largest accepted archive in bytes (default 100 MiB). */
  maxUploadBytes?: number;
  /** The archive check (default: src/core/package/verify.ts). */
  verify?: VerifyFn;
  /** Test-only fault injection. */
  faults?: Fault[];
  /** One line per request and per notable event. Never contains a token. */
  log?: (line: string) => void;
  /** Clock in epoch ms (tests). */
  now?: () => number;
}

export interface RequestRecord {
  route: RouteName | undefined;
  method: string;
  url: string;
  status: number;
  requestId: string;
  idempotencyKey?: string;
}

export interface ServerHandle {
  /** http://host:port — the marketplace URL for the CLI. */
  url: string;
  /** url + /api/v1 */
  api: string;
  host: string;
  port: number;
  dataDir: string;
  /** Every accepted token by role (given and generated). */
  tokens: { developer: string[]; reviewer: string[] };
  /** Tokens this start generated (none when tokens were given). */
  generated: { developer: string[]; reviewer: string[] };
  /** What the start-up sweep removed. */
  swept: { temps: number; orphans: number };
  /** Stop accepting, let requests in flight finish, close the database. Idempotent. */
  close(): Promise<void>;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  /** Every answered request, in order. */
  requests: RequestRecord[];
  /** Submission rows, in all or for one plugin. */
  countSubmissions(plugin?: string): number;
  /** Files in the archive store (`aa/<sha256>.zip`). */
  storedArchives(): Promise<string[]>;
  /** Files in tmp/ (uploads in progress). */
  tempFiles(): Promise<string[]>;
  /** The API routes the server registered: `METHOD /path/{param}` under /api/v1. */
  registeredRoutes: string[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    routeName?: RouteName;
    access?: Access;
  }
  interface FastifyRequest {
    caller?: Caller;
    dropAnswer?: boolean;
    /** Test fault: the upload write fails with ENOSPC after this many bytes. */
    diskFullAfter?: number;
  }
}

/** What the handlers need from the server. */
export interface ServerCore {
  db: MarketDb;
  store: ArchiveStore;
  verify: VerifyFn;
  autoApprove: boolean;
  maxUploadBytes: number;
  now: () => number;
  log: (line: string) => void;
  /** Idempotency keys being processed: `${user}\n${key}`. */
  inflight: Set<string>;
  /** Digests committed to the store whose row is not yet inserted. */
  pendingDigests: Map<string, number>;
}

function mapError(err: unknown, log: (l: string) => void): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED') {
    return new ApiError(503, 'UNAVAILABLE', 'storage is busy; retry shortly', {}, { 'Retry-After': '1' });
  }
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') {
    log(`storage full: ${(err as Error).message}`);
    return new ApiError(503, 'UNAVAILABLE', 'the marketplace is out of disk space; retry later', {}, { 'Retry-After': '60' });
  }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new ApiError(413, 'PAYLOAD_TOO_LARGE', 'request body too large (JSON bodies: 64 KiB)');
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'unsupported content type: send application/json');
  }
  if (e.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
    return new ApiError(400, 'BAD_MULTIPART', 'expected a multipart/form-data body with "archive" and "listing" parts');
  }
  if (e.code === 'FST_PARTS_LIMIT' || e.code === 'FST_FILES_LIMIT' || e.code === 'FST_FIELDS_LIMIT') {
    return new ApiError(400, 'BAD_MULTIPART', 'too many parts: send exactly "archive" and "listing"');
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError(e.statusCode, 'BAD_REQUEST', (e.message ?? 'bad request').split('\n')[0]);
  }
  log(`internal error: ${(err as Error)?.stack ?? String(err)}`);
  return new ApiError(500, 'INTERNAL', 'internal server error');
}

export async function startServer(opts: ServerOptions): Promise<ServerHandle> {
  const host = opts.host ?? '127.0.0.1';
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => undefined);
  const maxUploadBytes = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const dataDir = path.resolve(opts.dataDir);

  const specs: TokenSpec[] = [
    ...(opts.tokens ?? []),
    ...(opts.developerTokens ?? []).map((token) => ({ token, role: 'developer' as const })),
    ...(opts.reviewerTokens ?? []).map((token) => ({ token, role: 'reviewer' as const })),
  ];
  const generated = { developer: [] as string[], reviewer: [] as string[] };
  if (specs.length === 0) {
    generated.developer.push(generateToken());
    generated.reviewer.push(generateToken());
    specs.push({ token: generated.developer[0], role: 'developer' }, { token: generated.reviewer[0], role: 'reviewer' });
  }
  const tokens = new TokenTable(specs);

  await fs.mkdir(dataDir, { recursive: true });
  const store = new ArchiveStore(dataDir);
  await store.init();
  const db = new MarketDb(path.join(dataDir, 'marketplace.db'));
  let swept: { temps: number; orphans: number };
  try {
    db.purgeExpiredIdempotency(now());
    swept = await store.sweep(db.referencedDigests());
  } catch (err) {
    db.close();
    throw err;
  }
  if (swept.temps || swept.orphans) {
    log(`start-up sweep removed ${swept.temps} temp file(s) and ${swept.orphans} unreferenced archive(s)`);
  }

  const core: ServerCore = {
    db,
    store,
    verify: opts.verify ?? defaultVerify,
    autoApprove: Boolean(opts.autoApprove),
    maxUploadBytes,
    now,
    log,
    inflight: new Set(),
    pendingDigests: new Map(),
  };
  const faults = new FaultQueue(opts.faults);
  const hung = new Set<Socket>();
  const requests: RequestRecord[] = [];
  const registeredRoutes: string[] = [];

  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    genReqId: () => `req_${randomBytes(8).toString('hex')}`,
    // Our onRequest hook answers 503 with the API's error body and Retry-After instead.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });

  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/v1/')) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      if (m === 'HEAD') continue;
      registeredRoutes.push(`${m} ${route.url.slice('/api/v1'.length).replace(/:(\w+)/g, '{$1}')}`);
    }
  });

  // JSON bodies; an empty body counts as {}.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new ApiError(400, 'BAD_REQUEST', 'the request body is not valid JSON'), undefined);
    }
  });

  await app.register(multipart, {
    throwFileSizeLimit: false,
    limits: { fileSize: maxUploadBytes + 1, fieldSize: 1024 * 1024, files: 2, fields: 2, parts: 3, headerPairs: 100 },
  });

  let stopping = false;
  app.addHook('onRequest', async (req, reply) => {
    reply.header('X-Request-Id', req.id);
    if (stopping) {
      throw new ApiError(503, 'UNAVAILABLE', 'the marketplace is shutting down; retry shortly', {}, {
        'Retry-After': '1',
        Connection: 'close',
      });
    }
    const config = req.routeOptions.config;
    const fault = faults.take(config.routeName);
    if (fault) {
      switch (fault.kind) {
        case 'status': {
          const headers: Record<string, string> = {};
          if (fault.retryAfter !== undefined) headers['Retry-After'] = String(fault.retryAfter);
          const code =
            fault.code ?? (fault.status === 429 ? 'RATE_LIMITED' : fault.status === 503 ? 'UNAVAILABLE' : 'INTERNAL');
          throw new ApiError(fault.status, code, fault.message ?? 'injected fault', {}, headers);
        }
        case 'hang': {
          reply.hijack();
          const socket = req.raw.socket;
          hung.add(socket);
          socket.once('close', () => hung.delete(socket));
          return;
        }
        case 'reset':
          reply.hijack();
          req.raw.socket.destroy();
          return;
        case 'drop-after-commit':
          req.dropAnswer = true;
          break;
        case 'disk-full':
          req.diskFullAfter = fault.afterBytes ?? 0;
          break;
        case 'delay':
          await new Promise((r) => setTimeout(r, fault.ms));
          break;
      }
    }
    const access = config.access;
    if (!access) return; // 404 handler
    const header = req.headers.authorization;
    const token = bearer(header);
    if (token === undefined) {
      if (access === 'public') return;
      throw new ApiError(401, 'UNAUTHENTICATED', 'missing bearer token: send Authorization: Bearer <token>', {}, {
        'WWW-Authenticate': 'Bearer',
      });
    }
    const found = token === '' ? undefined : tokens.lookup(token, now());
    if (found === undefined || found === 'expired') {
      throw new ApiError(
        401,
        'UNAUTHENTICATED',
        found === 'expired' ? 'the token has expired' : 'the token is not valid for this marketplace',
        {},
        { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
      );
    }
    req.caller = found;
    if ((access === 'developer' || access === 'reviewer') && found.role !== access) {
      throw new ApiError(403, 'FORBIDDEN_ROLE', `this needs a ${access} token; yours is a ${found.role} token`);
    }
  });

  app.addHook('onSend', async (req, reply, payload) => {
    // A request that started before shutdown is answered, then its connection closes.
    if (stopping) reply.header('Connection', 'close');
    if (req.dropAnswer && reply.statusCode < 400) {
      // Test fault: the work is committed, the answer is lost.
      req.raw.socket.destroy();
    }
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const rec: RequestRecord = {
      route: req.routeOptions.config.routeName,
      method: req.method,
      url: req.url,
      status: reply.statusCode,
      requestId: req.id,
    };
    const key = req.headers['idempotency-key'];
    if (typeof key === 'string') rec.idempotencyKey = key;
    requests.push(rec);
    log(`${req.method} ${req.url.split('?')[0]} ${reply.statusCode} ${Math.round(reply.elapsedTime)}ms ${req.id}`);
  });

  app.setErrorHandler((err, req, reply) => {
    const e = mapError(err, log);
    if (reply.sent || req.raw.socket?.destroyed) return;
    for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
    reply.code(e.status).send(errorBody(e.code, e.message, req.id, e.extra));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, req.id));
  });

  registerHandlers(app, core, ROUTES, fastifyPath);

  try {
    await app.listen({ host, port: opts.port ?? 0 });
  } catch (err) {
    db.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      stopping = true;
      for (const s of hung) s.destroy();
      await app.close();
      db.close();
    })();
    return closing;
  };

  const all = { developer: [] as string[], reviewer: [] as string[] };
  for (const s of specs) all[s.role].push(s.token);

  return {
    url,
    api: `${url}/api/v1`,
    host,
    port,
    dataDir,
    tokens: all,
    generated,
    swept,
    close,
    injectFault: (f) => faults.add(f),
    clearFaults: () => faults.clear(),
    requests,
    countSubmissions: (plugin) => (db.db.open ? db.count(plugin) : 0),
    storedArchives: () => store.listArchives(),
    tempFiles: () => store.listTemps(),
    registeredRoutes,
  };
}
