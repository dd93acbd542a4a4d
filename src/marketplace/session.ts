/**
 * From a command's Ctx to a ready client: resolve the marketplace URL,
 * find the token (PLEXICHAT_TOKEN, then the credentials file) and build a
 * MarketplaceClient that writes its debug lines through ctx.out.
 */
import type { Ctx } from '../io/context.js';
import { MarketplaceClient, type ClientOptions } from './client.js';
import type { MarketplaceTarget } from './config.js';
import { resolveTarget } from './targets.js';
import { requireToken, targetToken, type ResolvedToken } from './credentials.js';

export interface Session {
  client: MarketplaceClient;
  target: MarketplaceTarget;
  token?: ResolvedToken;
}

export async function openSession(
  ctx: Ctx,
  opts: { token?: 'required' | 'none'; explicitToken?: string; client?: Partial<ClientOptions> } = {},
): Promise<Session> {
  const target = await resolveTarget({ flag: ctx.flags.marketplace, env: ctx.env, target: ctx.flags.target, start: ctx.start });
  let token: ResolvedToken | undefined;
  if (opts.explicitToken !== undefined) token = { token: opts.explicitToken, source: 'env' };
  else if (opts.token !== 'none') token = target.named ? await targetToken(ctx.env, target.baseUrl, target.named) : await requireToken(ctx.env, target.baseUrl);
  ctx.out.debug(
    `marketplace ${target.baseUrl} (from ${target.source})${token ? `, token from ${token.source === 'env' ? 'PLEXICHAT_TOKEN' : 'the credentials file'}` : ''}`,
  );
  const client = new MarketplaceClient({
    baseUrl: target.baseUrl,
    token: token?.token,
    env: ctx.env,
    clock: ctx.clock,
    signal: ctx.signal,
    debug: (line) => ctx.out.debug(line),
    ...opts.client,
  });
  return { client, target, token };
}

/** Run fn with a session and always release its connections. */
export async function withSession<T>(ctx: Ctx, opts: Parameters<typeof openSession>[1], fn: (s: Session) => Promise<T>): Promise<T> {
  const s = await openSession(ctx, opts);
  try {
    return await fn(s);
  } finally {
    await s.client.close();
  }
}
