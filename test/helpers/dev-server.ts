/**
 * The development marketplace for tests: the real server (src/server) started
 * in-process on 127.0.0.1 port 0 with a temp data dir. Never a mock.
 *
 *   const srv = await startDevServer();            // beforeAll
 *   runCli([...], { env: srv.env(srv.developer) }) // PLEXICHAT_MARKETPLACE_URL + PLEXICHAT_TOKEN
 *   await srv.stop();                              // afterAll: closes and removes the data dir
 *
 * Tokens: `srv.developer` and `srv.developer2` (two developers, for ownership
 * cases) and `srv.reviewer`; random `pcx_` strings, so a test can grep output
 * for them (they must never appear).
 *
 * What the server recorded, for idempotency assertions:
 *   srv.countSubmissions(plugin?)  rows in the database (exactly one after a retried submit)
 *   srv.requests                   every answered request: { route, method, url, status, requestId, idempotencyKey? }
 *   srv.storedArchives()           files in the archive store; srv.tempFiles(): uploads in progress
 *
 * Faults (test-only; production never enables them, nothing is read from env).
 * Pass `faults` to startDevServer or call `srv.injectFault(f)` at any time;
 * each fault applies to the next `times` (default 1) requests of `route`
 * (default: any route), then is used up. `srv.clearFaults()` drops the rest.
 * Route names: health, me, submit, listPluginSubmissions, listSubmissions,
 * getSubmission, review, publish, getPlugin, download.
 *
 *   { route: 'submit', kind: 'status', status: 503, retryAfter: 1 }  answer 503 + Retry-After: 1 at once (body not read)
 *   { route: 'submit', kind: 'status', status: 429, retryAfter: 2 }  likewise 429 RATE_LIMITED
 *   { route: 'submit', kind: 'drop-after-commit' }  store the submission, then close the socket instead of answering
 *                                                   (the "lost answer": a retry with the same Idempotency-Key must
 *                                                   get the stored 201 back, and countSubmissions stays 1)
 *   { route: 'me', kind: 'reset' }                  close the socket without answering, before any work
 *   { route: 'getSubmission', kind: 'hang', times: Infinity }  never answer (for --timeout tests); stop() frees it
 *   { kind: 'delay', ms: 200 }                      wait, then process normally
 *   { route: 'submit', kind: 'delay-answer', ms: 8000 }  process and commit, then hold the answer 8 s (or until
 *                                                   the client goes away): the submission exists, no answer yet
 *   { route: 'me', kind: 'answer', json: { user: 'x', role: 'admin' } }  answer 200 with this body instead:
 *                                                   a server that breaks the contract
 *   { route: 'submit', kind: 'disk-full', afterBytes: 1024 }  the upload write fails as on a full disk: 503 UNAVAILABLE
 *
 * `srv.restart(downMs?)` closes the server (for `downMs`: connections are refused) and starts it again on the same data dir,
 * the same port when it is still free (else a new one: read `srv.url` again)
 * and the same tokens: submissions survive.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateToken } from '../../src/server/auth.js';
import { startServer, type Fault, type ServerHandle, type ServerOptions } from '../../src/server/index.js';
import { afterAll, afterEach, beforeAll } from 'vitest';

export type { Fault } from '../../src/server/index.js';

export interface DevServer extends ServerHandle {
  developer: string;
  developer2: string;
  reviewer: string;
  /** Env for runCli: the marketplace URL and (optionally) a token. */
  env(token?: string): Record<string, string>;
  /** Close, stay down `downMs` (default 0: start again at once), start again on the same data dir, tokens and port. */
  restart(downMs?: number): Promise<void>;
  /** Close and remove the data dir. */
  stop(): Promise<void>;
}

/**
 * One development server for a whole test file: started before its first
 * test, injected faults cleared after each test, stopped after the last.
 * `bind` receives the server once it listens (`let srv!: DevServer;
 * useDevServer((s) => (srv = s));`).
 */
export function useDevServer(bind: (srv: DevServer) => void, opts: Partial<ServerOptions> & { keepData?: boolean } = {}): void {
  let srv: DevServer | undefined;
  beforeAll(async () => {
    srv = await startDevServer(opts);
    bind(srv);
  });
  afterEach(() => srv?.clearFaults());
  afterAll(async () => {
    await srv?.stop();
  });
}

export async function startDevServer(opts: Partial<ServerOptions> & { keepData?: boolean } = {}): Promise<DevServer> {
  const dataDir = opts.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'pxp-market-')));
  const developer = generateToken();
  const developer2 = generateToken();
  const reviewer = generateToken();
  const options: ServerOptions = {
    host: '127.0.0.1',
    port: 0,
    developerTokens: [developer, developer2],
    reviewerTokens: [reviewer],
    ...opts,
    dataDir,
  };
  let handle = await startServer(options);
  const srv = {} as DevServer;
  const bind = () => {
    const h = handle;
    Object.assign(srv, {
      url: h.url,
      api: h.api,
      host: h.host,
      port: h.port,
      dataDir: h.dataDir,
      tokens: h.tokens,
      generated: h.generated,
      swept: h.swept,
      requests: h.requests,
      registeredRoutes: h.registeredRoutes,
      close: () => h.close(),
      injectFault: (f: Fault) => h.injectFault(f),
      clearFaults: () => h.clearFaults(),
      countSubmissions: (p?: string) => h.countSubmissions(p),
      storedArchives: () => h.storedArchives(),
      tempFiles: () => h.tempFiles(),
    });
  };
  bind();
  Object.assign(srv, {
    developer,
    developer2,
    reviewer,
    env: (token?: string) => ({
      PLEXICHAT_MARKETPLACE_URL: srv.url,
      ...(token === undefined ? {} : { PLEXICHAT_TOKEN: token }),
    }),
    restart: async (downMs = 0) => {
      const port = handle.port;
      await handle.close();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      try {
        handle = await startServer({ ...options, port, faults: [] });
      } catch {
        handle = await startServer({ ...options, port: 0, faults: [] });
      }
      bind();
    },
    stop: async () => {
      await handle.close();
      if (!opts.keepData && opts.dataDir === undefined) await fs.rm(dataDir, { recursive: true, force: true });
    },
  });
  return srv;
}
