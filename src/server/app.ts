/**
 * The Fastify app: body parsers, then the plugins in hook order
 * (lifecycle → faults → auth), the error and not-found answers, and one
 * route per entry of routes.ts with its handler from handlers/.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import { ATTESTATION_PART_MAX } from './attestations.js';
import type { TokenTable } from './auth.js';
import type { RequestRecord, ServerCore, ServerState } from './core.js';
import { ApiError, errorBody, toApiError } from './errors.js';
import type { FaultQueue } from './faults.js';
import { handlersFor } from './handlers/index.js';
import { authPlugin } from './plugins/auth.js';
import { faultsPlugin } from './plugins/faults.js';
import { lifecyclePlugin } from './plugins/lifecycle.js';
import { API_PREFIX, ROUTES, fastifyPath, mediaTypeProblem } from './routes.js';

export interface AppParts {
  core: ServerCore;
  state: ServerState;
  tokens: TokenTable;
  faults: FaultQueue;
  requests: RequestRecord[];
  /** Filled with `METHOD /path/{param}` for each API route as it is registered. */
  registeredRoutes: string[];
}

/** JSON bodies; an empty body counts as {}. */
function jsonParser(app: FastifyInstance): void {
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
}

export async function buildApp(p: AppParts): Promise<FastifyInstance> {
  const { core, state } = p;
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    genReqId: () => `req_${randomBytes(8).toString('hex')}`,
    // The lifecycle plugin answers 503 with the API's error body and Retry-After instead.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });

  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith(`${API_PREFIX}/`)) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      if (m === 'HEAD') continue;
      p.registeredRoutes.push(`${m} ${route.url.slice(API_PREFIX.length).replace(/:(\w+)/g, '{$1}')}`);
    }
  });

  jsonParser(app);
  await app.register(multipart, {
    throwFileSizeLimit: false,
    limits: { fileSize: core.maxUploadBytes + 1, fieldSize: ATTESTATION_PART_MAX, files: 4, fields: 4, parts: 5, headerPairs: 100 },
  });
  await app.register(lifecyclePlugin, { state, requests: p.requests, log: core.log });
  await app.register(faultsPlugin, { faults: p.faults, state });
  await app.register(authPlugin, { tokens: p.tokens, now: core.now });
  // After the token and role: a body of the wrong media type is refused before it is read.
  const routeByName = new Map(ROUTES.map((r) => [r.name, r]));
  app.addHook('onRequest', async (req) => {
    const name = req.routeOptions.config.routeName;
    const problem = mediaTypeProblem(name === undefined ? undefined : routeByName.get(name), req.headers);
    if (problem) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', problem);
  });

  app.setErrorHandler((err, req, reply) => {
    const e = toApiError(err, core.log);
    if (reply.sent || req.raw.socket?.destroyed) return;
    for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
    reply.code(e.status).send(errorBody(e.code, e.message, req.id, e.extra));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, req.id));
  });

  const handlers = handlersFor(core);
  for (const r of ROUTES) {
    app.route({
      method: r.method,
      url: fastifyPath(r.path),
      config: { routeName: r.name, access: r.access },
      handler: handlers[r.name],
    });
  }
  return app;
}
