/**
 * The development marketplace: docs/marketplace-api.md over Fastify, on a
 * metadata store and a content-addressed blob store (storage/): SQLite and a
 * folder in a data dir (the default), or PostgreSQL and an S3-compatible
 * bucket shared by any number of replicas (docs/marketplace-deploy.md).
 *
 * startServer() is what `marketplace serve` and the tests call. It has no
 * CLI or process dependencies: no process.*, no printing (pass `log`).
 *
 *   core.ts       ServerCore, the handler type and the Fastify type additions
 *   app.ts        the Fastify app: parsers, plugins/ (lifecycle, faults, auth), routes
 *   routes.ts     the route table (name, method, path, access)
 *   handlers/     one module per area; handlers/index.ts joins them by route name
 *   signing.ts    the marketplace's key, publisher keys, upload signatures, counter-signatures
 *   attestations.ts  the SBOMs and provenance envelopes of uploads: checked, stored, counter-signed, served
 *   rollover.ts   key rollover statements
 *   storage/      the stores (meta.ts, blobs.ts and their implementations), opening them (open.ts), copying (copy.ts)
 *   deps.ts       which of the server's optional packages are missing (imports none of them)
 */
import type { KeyObject } from 'node:crypto';
import path from 'node:path';
import { DataDirError, openStorage, StorageError, type StorageConfig } from './storage/open.js';
import { generateToken, TokenTable, type TokenSpec } from './auth.js';
import { FaultQueue, type Fault } from './faults.js';
import { defaultVerify, type VerifyFn } from './verify.js';
import { MARKETPLACE_KEY_FILE, openSigning, SigningKeyError, type ServerSigning } from './signing.js';
import { ServerRollovers } from './rollover.js';
import { ServerAttestations } from './attestations.js';
import { buildApp } from './app.js';
import { SqliteMeta } from './storage/sqlite-meta.js';
import type { RequestRecord, ServerCore, ServerState } from './core.js';
import type { RegistrySink } from '../registry/sink.js';
import { keepRegistry } from './index-source.js';

export type { Fault, FaultKind } from './faults.js';
export type { RouteName } from './routes.js';
export type { VerifyFn, VerifyReport } from './verify.js';
export type { RequestRecord, ServerCore } from './core.js';
export { ROUTES, API_PREFIX } from './routes.js';
export { DataDirError, StorageError, DEFAULT_SWEEP_GRACE_MS, type StorageConfig } from './storage/open.js';
export { RegistryStartError } from './index-source.js';
export { DataDirInUseError } from './storage/sqlite-meta.js';
export { SigningKeyError } from './signing.js';

export const DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

export interface ServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Database, archive store and temp files live here (created if missing); or give `storage`. */
  dataDir?: string;
  /** PostgreSQL + S3 (or a data dir): what replicas share. */
  storage?: StorageConfig;
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
  /** A static registry kept current (docs/static-registry.md): written whole at start, a plugin's part on each publish. */
  registry?: RegistrySink;
  /** The marketplace's signing key, kept out of the blob store (`serve --signing-key`); default: the store's, made on first start. */
  signingKey?: KeyObject;
}

export interface ServerHandle {
  /** http://host:port — the marketplace URL for the CLI. */
  url: string;
  /** url + /api/v1 */
  api: string;
  host: string;
  port: number;
  /** The data dir, or undefined on shared storage. */
  dataDir: string | undefined;
  /** Where the blobs are (the data dir, or s3://bucket/prefix). */
  blobsAt: string;
  /** Every accepted token by role (given and generated). */
  tokens: { developer: string[]; reviewer: string[] };
  /** Tokens this start generated (none when tokens were given). */
  generated: { developer: string[]; reviewer: string[] };
  /** What the start-up sweep removed. */
  swept: { temps: number; orphans: number };
  /** A signing key was given, and the blob store still holds a copy of it (serve says it may be removed). */
  signingKeyCopyInStore: boolean;
  /** Stop accepting, let requests in flight finish, close the database. Idempotent. */
  close(): Promise<void>;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  /** Every answered request, in order. */
  requests: RequestRecord[];
  /** Submission rows, in all or for one plugin (a data dir's database, read at once; 0 once closed). */
  countSubmissions(plugin?: string): number;
  /** Submission rows on any storage. */
  submissionCount(plugin?: string): Promise<number>;
  /** Files in the archive store (`aa/<sha256>.zip`). */
  storedArchives(): Promise<string[]>;
  /** Files in tmp/ (uploads in progress). */
  tempFiles(): Promise<string[]>;
  /** The API routes the server registered: `METHOD /path/{param}` under /api/v1. */
  registeredRoutes: string[];
}

interface Tokens {
  specs: TokenSpec[];
  generated: { developer: string[]; reviewer: string[] };
}

/** The given tokens, or one generated token per role when none was given. */
function tokensOf(opts: ServerOptions): Tokens {
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
  return { specs, generated };
}

/** A start-up step after the stores opened: when it fails, what this start made is removed. */
async function withUndo<T>(step: () => Promise<T>, undo: () => Promise<void>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    await undo();
    throw err;
  }
}

export async function startServer(opts: ServerOptions): Promise<ServerHandle> {
  const host = opts.host ?? '127.0.0.1';
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => undefined);
  const config: StorageConfig = opts.storage ?? { kind: 'data-dir', dataDir: opts.dataDir ?? '' };
  const dataDir = config.kind === 'data-dir' ? path.resolve(config.dataDir) : undefined;
  const { specs, generated } = tokensOf(opts);
  const tokens = new TokenTable(specs);
  const storage = await openStorage(dataDir === undefined ? config : { kind: 'data-dir', dataDir }, now, log);
  const { meta, blobs, swept, undo } = storage;
  let signing: ServerSigning;
  let attestations: ServerAttestations;
  let signingKeyCopyInStore = false;
  try {
    if (dataDir !== undefined && !opts.signingKey) await storage.trackNew(path.join(dataDir, MARKETPLACE_KEY_FILE));
    ({ signing, copyInStore: signingKeyCopyInStore } = await openSigning(meta, blobs, now, opts.signingKey));
    attestations = new ServerAttestations(meta, blobs, signing);
    await tokens.resolveIds((t) => meta.identity(t));
  } catch (err) {
    await undo();
    if (err instanceof SigningKeyError) throw err;
    throw dataDir !== undefined ? new DataDirError(dataDir, err) : new StorageError('database', err);
  }

  const core: ServerCore = {
    meta,
    blobs,
    verify: opts.verify ?? defaultVerify,
    signing,
    attestations,
    rollovers: new ServerRollovers(meta, signing, now),
    autoApprove: Boolean(opts.autoApprove),
    maxUploadBytes: opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    now,
    log,
    inflight: new Set(),
    pendingDigests: new Map(),
  };
  if (opts.registry) core.afterPublish = await withUndo(() => keepRegistry(core, opts.registry!), undo);
  const state: ServerState = { stopping: false, hung: new Set() };
  const faults = new FaultQueue(opts.faults);
  const requests: RequestRecord[] = [];
  const registeredRoutes: string[] = [];

  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    app = await buildApp({ core, state, tokens, faults, requests, registeredRoutes });
    await app.listen({ host, port: opts.port ?? 0 });
  } catch (err) {
    // Nothing is left of a start that failed: a busy port does not leave a new data dir behind.
    await undo();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      state.stopping = true;
      for (const s of state.hung) s.destroy();
      await app.close();
      await meta.close();
      await blobs.close();
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
    signingKeyCopyInStore,
    blobsAt: blobs.where,
    tokens: all,
    generated,
    swept,
    close,
    injectFault: (f) => faults.add(f),
    clearFaults: () => faults.clear(),
    requests,
    countSubmissions: (plugin) => {
      if (!(meta instanceof SqliteMeta)) throw new Error('countSubmissions reads a data dir; use submissionCount on shared storage');
      return meta.countNow(plugin);
    },
    submissionCount: (plugin) => meta.count(plugin),
    storedArchives: async () => (await blobs.list()).map((b) => `${b.sha256.slice(0, 2)}/${b.sha256}.zip`),
    tempFiles: () => blobs.listTemps(),
    registeredRoutes,
  };
}
