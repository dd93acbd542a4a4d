/** GET /health and GET /me. */
import { callerOf, type RouteHandlers } from '../core.js';

export function accountHandlers(): RouteHandlers<'health' | 'me'> {
  return {
    async health() {
      return { ok: true, version: '1' };
    },
    async me(req) {
      const caller = callerOf(req);
      return { user: caller.user, role: caller.role };
    },
  };
}
