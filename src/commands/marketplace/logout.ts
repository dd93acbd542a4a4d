/**
 * `marketplace logout`: forget the stored token for this marketplace. It
 * never talks to the server, so it works when the server is unreachable.
 */
import type { Ctx } from '../../io/context.js';
import { resolveTarget } from '../../marketplace/targets.js';
import { removeToken } from '../../marketplace/credentials.js';

export interface LogoutResult {
  marketplace: string;
  removed: boolean;
  credentialsFile?: string;
  envTokenSet: boolean;
}

export async function run(_opts: unknown, ctx: Ctx): Promise<LogoutResult> {
  const target = await resolveTarget({ flag: ctx.flags.marketplace, env: ctx.env, target: ctx.flags.target, start: ctx.start });
  const { removed, file } = await removeToken(ctx.env, target.baseUrl);
  return { marketplace: target.baseUrl, removed, credentialsFile: file, envTokenSet: Boolean(ctx.env.PLEXICHAT_TOKEN) };
}

export function render(r: LogoutResult, ctx: Ctx): void {
  ctx.out.result(r.removed ? `Logged out of ${r.marketplace}: the stored token was removed.` : `No token was stored for ${r.marketplace}.`);
  if (r.envTokenSet) ctx.out.warn('PLEXICHAT_TOKEN is still set in your environment; unset it to stop using that token');
}
