/** `marketplace whoami`: who the token in use belongs to (GET /me). */
import type { Ctx } from '../../io/context.js';
import { withSession } from '../../marketplace/session.js';
import { inline } from '../../io/terminal.js';

export interface WhoamiResult {
  marketplace: string;
  user: string;
  role: string;
  /** PLEXICHAT_TOKEN, a named target's variable (--target), or the credentials file. */
  tokenSource: string;
}

export async function run(_opts: unknown, ctx: Ctx): Promise<WhoamiResult> {
  return withSession(ctx, { token: 'required' }, async ({ client, target, token }) => {
    const me = await client.me();
    return {
      marketplace: target.baseUrl,
      user: me.user,
      role: me.role,
      tokenSource: token?.source === 'env' ? (token.variable ?? 'PLEXICHAT_TOKEN') : 'credentials file',
    };
  });
}

export function render(r: WhoamiResult, ctx: Ctx): void {
  ctx.out.result(inline(`${r.user} (${r.role}) on ${r.marketplace}`));
  ctx.out.info(`token from ${r.tokenSource}`);
}
