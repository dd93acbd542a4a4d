/**
 * Request ids, shutdown and the request record, as a Fastify plugin that
 * applies to every request (404s too). Registered before faults and auth,
 * so its onRequest hook runs first: a request that arrives while the
 * server stops gets 503 whatever its route.
 */
import type { Socket } from 'node:net';
import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import { ApiError } from '../errors.js';
import type { RequestRecord, ServerState } from '../core.js';

export interface LifecycleOptions {
  state: ServerState;
  requests: RequestRecord[];
  log: (line: string) => void;
}

/** Test fault: the work is done, the answer waits `ms` or until the client goes away. */
function holdAnswer(socket: Socket, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    const done = () => {
      clearTimeout(timer);
      socket.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    socket.once('close', done);
  });
}

const lifecycle: FastifyPluginAsync<LifecycleOptions> = async (app, { state, requests, log }) => {
  app.addHook('onRequest', async (req, reply) => {
    reply.header('X-Request-Id', req.id);
    if (state.stopping) {
      throw new ApiError(
        503,
        'UNAVAILABLE',
        'the marketplace is shutting down; retry shortly',
        {},
        {
          'Retry-After': '1',
          Connection: 'close',
        },
      );
    }
  });

  app.addHook('onSend', async (req, reply, payload) => {
    // A request that started before shutdown is answered, then its connection closes.
    if (state.stopping) reply.header('Connection', 'close');
    if (req.dropAnswer && reply.statusCode < 400) {
      // Test fault: the work is committed, the answer is lost.
      req.raw.socket.destroy();
    }
    if (req.holdAnswerMs !== undefined) await holdAnswer(req.raw.socket, req.holdAnswerMs);
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
};

export const lifecyclePlugin = fp(lifecycle, { name: 'marketplace-lifecycle' });
