/**
 * Bearer-token authentication and the route's role, as a Fastify plugin:
 * an onRequest hook that reads the route's `access` (routes.ts) and sets
 * `req.caller`. Handlers check ownership; this checks who may call at all.
 */
import fp from 'fastify-plugin';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { bearer, type TokenTable } from '../auth.js';

export interface AuthOptions {
  tokens: TokenTable;
  now: () => number;
}

function authenticate(req: FastifyRequest, tokens: TokenTable, now: number): void {
  const access = req.routeOptions.config.access;
  if (!access) return; // 404 handler
  const token = bearer(req.headers.authorization);
  if (token === undefined) {
    if (access === 'public') return;
    throw new ApiError(
      401,
      'UNAUTHENTICATED',
      'missing bearer token: send Authorization: Bearer <token>',
      {},
      {
        'WWW-Authenticate': 'Bearer',
      },
    );
  }
  const found = token === '' ? undefined : tokens.lookup(token, now);
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
    throw new ApiError(403, 'FORBIDDEN_ROLE', `this needs a ${access} token; yours is a ${found.role} token`, {
      required_role: access,
      token_role: found.role,
    });
  }
}

const auth: FastifyPluginAsync<AuthOptions> = async (app, { tokens, now }) => {
  app.addHook('onRequest', async (req) => authenticate(req, tokens, now()));
};

export const authPlugin = fp(auth, { name: 'marketplace-auth', dependencies: ['marketplace-faults'] });
