/**
 * Test-only fault injection (faults.ts holds the queue) as a Fastify plugin:
 * an onRequest hook that runs after the lifecycle hook and before auth, so
 * a fault applies to a request whatever its token.
 */
import fp from 'fastify-plugin';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { FaultKind, FaultQueue } from '../faults.js';
import type { ServerState } from '../core.js';

export interface FaultsOptions {
  faults: FaultQueue;
  state: ServerState;
}

/** Apply a fault; true when it answered the request itself. */
async function apply(fault: FaultKind, req: FastifyRequest, reply: FastifyReply, state: ServerState): Promise<boolean> {
  switch (fault.kind) {
    case 'status': {
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers['Retry-After'] = String(fault.retryAfter);
      const code = fault.code ?? (fault.status === 429 ? 'RATE_LIMITED' : fault.status === 503 ? 'UNAVAILABLE' : 'INTERNAL');
      throw new ApiError(fault.status, code, fault.message ?? 'injected fault', {}, headers);
    }
    case 'hang': {
      reply.hijack();
      const socket = req.raw.socket;
      state.hung.add(socket);
      socket.once('close', () => state.hung.delete(socket));
      return true;
    }
    case 'reset':
      reply.hijack();
      req.raw.socket.destroy();
      return true;
    case 'drop-after-commit':
      req.dropAnswer = true;
      return false;
    case 'disk-full':
      req.diskFullAfter = fault.afterBytes ?? 0;
      return false;
    case 'delay':
      await new Promise((r) => setTimeout(r, fault.ms));
      return false;
    case 'delay-answer':
      req.holdAnswerMs = fault.ms;
      return false;
    case 'answer':
      await reply
        .code(fault.status ?? 200)
        .type('application/json; charset=utf-8')
        .send(JSON.stringify(fault.json));
      return true;
  }
}

const faultsPlugin_: FastifyPluginAsync<FaultsOptions> = async (app, { faults, state }) => {
  app.addHook('onRequest', async (req, reply) => {
    const fault = faults.take(req.routeOptions.config.routeName);
    if (fault && (await apply(fault, req, reply, state))) return reply;
  });
  // disk-full on a route that writes only to the database (keys, review, publish): its write fails as
  // SQLite's does on a full disk, once the request is authenticated and its body read.
  app.addHook('preHandler', async (req) => {
    if (req.diskFullAfter !== undefined && req.routeOptions.config.routeName !== 'submit') {
      throw Object.assign(new Error('database or disk is full (injected)'), { code: 'SQLITE_FULL' });
    }
  });
};

export const faultsPlugin = fp(faultsPlugin_, { name: 'marketplace-faults', dependencies: ['marketplace-lifecycle'] });
