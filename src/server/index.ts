/**
 * The development marketplace: docs/marketplace-api.md over Fastify, with
 * SQLite (db.ts) and a content-addressed archive store (store.ts).
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
 *   storage.ts    the data dir: store, database, start-up sweep; undone when a start fails
 *   deps.ts       which of the server's optional packages are missing (imports none of them)
 */
import path from 'node:path';
import { DataDirError, openStorage } from './storage.js';
import { generateToken, TokenTable, type TokenSpec } from './auth.js';
import { FaultQueue, type Fault } from './faults.js';
import { defaultVerify, type VerifyFn } from './verify.js';
import { MARKETPLACE_KEY_FILE, openSigning, type ServerSigning } from './signing.js';
import { ServerRollovers } from './rollover.js';
import { ATTESTATIONS_DIR, openAttestations, type ServerAttestations } from './attestations.js';
import { buildApp } from './app.js';
import type { RequestRecord, ServerCore, ServerState } from './core.js';
import type { RegistrySink } from '../registry/sink.js';
import { keepRegistry } from './index-source.js';

export type { Fault, FaultKind } from './faults.js';
export type { RouteName } from './routes.js';
export type { VerifyFn, VerifyReport } from './verify.js';
export type { RequestRecord, ServerCore } from './core.js';
export { ROUTES, API_PREFIX } from './routes.js';
export { DataDirError } from './storage.js';
export { RegistryStartError } from './index-source.js';
export { DataDirInUseError } from './db.js';

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
  /** A static registry kept current (docs/static-registry.md): written whole at start, a plugin's part on each publish. */
  registry?: RegistrySink;
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

export async function startServer(opts: ServerOptions): Promise<ServerHandle> {
  const host = opts.host ?? '127.0.0.1';
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir);
  const { specs, generated } = tokensOf(opts);
  const tokens = new TokenTable(specs);
  const storage = await openStorage(dataDir, now(), log);
  const { store, db, swept, undo } = storage;
  let signing: ServerSigning;
  let attestations: ServerAttestations;
  try {
    await storage.trackNew(path.join(dataDir, MARKETPLACE_KEY_FILE));
    signing = await openSigning(dataDir, db.db, now);
    await storage.trackNew(path.join(dataDir, ATTESTATIONS_DIR));
    attestations = await openAttestations(dataDir, db.db, signing);
    tokens.resolveIds((t) => db.identity(t));
  } catch (err) {
    await undo();
    throw new DataDirError(dataDir, err);
  }

  const core: ServerCore = {
    db,
    store,
    verify: opts.verify ?? defaultVerify,
    signing,
    attestations,
    rollovers: new ServerRollovers(db.db, signing, now),
    autoApprove: Boolean(opts.autoApprove),
    maxUploadBytes: opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    now,
    log,
    inflight: new Set(),
    pendingDigests: new Map(),
  };
  if (opts.registry) {
    try {
      core.afterPublish = await keepRegistry(core, opts.registry);
    } catch (err) {
      await undo();
      throw err;
    }
  }
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
