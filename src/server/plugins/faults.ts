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

async function apply(fault: FaultKind, req: FastifyRequest, reply: FastifyReply, state: ServerState): Promise<void> {
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
      return;
    }
    case 'reset':
      reply.hijack();
      req.raw.socket.destroy();
      return;
    case 'drop-after-commit':
      req.dropAnswer = true;
      return;
    case 'disk-full':
      req.diskFullAfter = fault.afterBytes ?? 0;
      return;
    case 'delay':
      await new Promise((r) => setTimeout(r, fault.ms));
      return;
  }
}

const faultsPlugin_: FastifyPluginAsync<FaultsOptions> = async (app, { faults, state }) => {
  app.addHook('onRequest', async (req, reply) => {
    const fault = faults.take(req.routeOptions.config.routeName);
    if (fault) await apply(fault, req, reply, state);
  });
};

export const faultsPlugin = fp(faultsPlugin_, { name: 'marketplace-faults', dependencies: ['marketplace-lifecycle'] });
