/**
 * `marketplace login`: take a token from --token-stdin or a hidden prompt,
 * check it with GET /me, then store it (0600) for this marketplace and
 * remember the marketplace URL. Nothing is written when the check fails.
 */
import type { Ctx } from '../../io/context.js';
import { AuthError, CliError, UsageError, WorkFailedError } from '../../errors.js';
import { registerSecret } from '../../io/redact.js';
import { askSecret } from '../../io/prompt.js';
import { MarketplaceClient } from '../../marketplace/client.js';
import { writeUserConfig } from '../../marketplace/config.js';
import { resolveTarget } from '../../marketplace/targets.js';
import { saveToken } from '../../marketplace/credentials.js';
import { inline } from '../../io/terminal.js';

export interface LoginOptions {
  tokenStdin?: boolean;
}

export interface LoginResult {
  marketplace: string;
  user: string;
  role: string;
  credentialsFile: string;
}

const MAX_TOKEN_BYTES = 4096;

async function readStdin(stdin: Ctx['stdin']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > MAX_TOKEN_BYTES) {
      throw new UsageError('standard input is too long to be a token', { hint: 'pipe only the token, e.g. `printf %s "$TOKEN" | …`' });
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function run(opts: LoginOptions, ctx: Ctx): Promise<LoginResult> {
  const target = await resolveTarget({ flag: ctx.flags.marketplace, env: ctx.env, target: ctx.flags.target, start: ctx.start });
  let token: string;
  if (opts.tokenStdin) {
    token = (await readStdin(ctx.stdin)).trim();
    if (!token) {
      throw new UsageError('no token on standard input', {
        hint: 'pipe the token in: `printf %s "$TOKEN" | plexichat-plugin marketplace login --token-stdin`',
      });
    }
  } else if (ctx.interactive) {
    token = (await askSecret(ctx, { flag: '--token-stdin', message: `Token for ${target.baseUrl}:` })).trim();
    if (!token) throw new UsageError('no token entered', { hint: 'paste the token from your marketplace account' });
  } else {
    throw new UsageError('no token given and no terminal to ask for one', {
      hint: 'pipe it in with --token-stdin (`printf %s "$TOKEN" | plexichat-plugin marketplace login --token-stdin`), or set PLEXICHAT_TOKEN',
    });
  }
  if (/\s/.test(token)) {
    throw new UsageError('the token contains white space', { hint: 'pass the token alone, on one line' });
  }
  registerSecret(token);

  const client = new MarketplaceClient({
    baseUrl: target.baseUrl,
    token,
    env: ctx.env,
    clock: ctx.clock,
    signal: ctx.signal,
    debug: (l) => ctx.out.debug(l),
  });
  let me;
  try {
    me = await client.me();
  } catch (err) {
    if (err instanceof AuthError && err.code === 'UNAUTHORIZED') {
      const rid = typeof err.details?.requestId === 'string' ? `, request id ${err.details.requestId}` : '';
      throw new AuthError(`${target.baseUrl} rejected this token (HTTP 401${rid}); nothing was saved`, {
        hint: 'check that you copied the whole token and that it is for this marketplace',
        code: 'UNAUTHORIZED',
        details: err.details,
      });
    }
    throw err;
  } finally {
    await client.close();
  }
  let credentialsFile: string;
  try {
    credentialsFile = await saveToken(ctx.env, target.baseUrl, {
      token,
      user: me.user,
      role: me.role,
      savedAt: new Date(ctx.clock.now()).toISOString(),
    });
    await writeUserConfig(ctx.env, { marketplace: target.baseUrl });
  } catch (err) {
    if (err instanceof CliError && err.code === 'WRITE_FAILED') {
      throw new WorkFailedError(err.message, {
        code: 'WRITE_FAILED',
        hint: `${err.hint}; or point XDG_CONFIG_HOME at a writable folder, or skip login and set PLEXICHAT_TOKEN`,
        cause: err,
      });
    }
    throw err;
  }
  if (ctx.env.PLEXICHAT_TOKEN) {
    ctx.out.warn('PLEXICHAT_TOKEN is set and is used instead of the stored token until you unset it');
  }
  return { marketplace: target.baseUrl, user: me.user, role: me.role, credentialsFile };
}

export function render(r: LoginResult, ctx: Ctx): void {
  ctx.out.result(inline(`Logged in to ${r.marketplace} as ${r.user} (${r.role}).`));
  ctx.out.info(inline(`Token saved in ${r.credentialsFile} (readable only by you).`));
}
