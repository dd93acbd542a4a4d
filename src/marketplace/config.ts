/**
 * Where the marketplace is and where the user's settings live.
 *
 * The marketplace URL comes from, in order: the --marketplace flag,
 * PLEXICHAT_MARKETPLACE_URL, then `marketplace` in
 * $XDG_CONFIG_HOME/plexichat-plugin/config.json (written by `login`).
 * It is never a constant in code.
 *
 * Plain http is refused for any host that is not loopback unless the user
 * opts in with PLEXICHAT_INSECURE=1: a bearer token sent over plain http to
 * another machine can be read by anyone on the way. (An environment variable
 * rather than a flag, so it is set once for a CI job or a shell session.)
 */
import { isLoopback } from '../core/loopback.js';
import path from 'node:path';
import { CliError, errnoCode, UsageError } from '../errors.js';
import { readRegularText } from '../io/read-file.js';
import { userDir } from '../io/dirs.js';
import { writeFileAtomic } from './atomic.js';

/** The user config dir, or undefined when neither XDG_CONFIG_HOME nor HOME says where it is. */
export function configDir(env: NodeJS.ProcessEnv): string | undefined {
  return userDir('config', env);
}

export function requireConfigDir(env: NodeJS.ProcessEnv): string {
  const dir = configDir(env);
  if (!dir) {
    throw new UsageError('cannot find a config directory for the marketplace token', {
      hint: 'set XDG_CONFIG_HOME or HOME, or pass the token in PLEXICHAT_TOKEN',
      code: 'NO_CONFIG_DIR',
    });
  }
  return dir;
}

export interface UserConfig {
  marketplace?: string;
}

export function configFile(env: NodeJS.ProcessEnv): string | undefined {
  const dir = configDir(env);
  return dir && path.join(dir, 'config.json');
}

/** Larger than this is not a config file. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export async function readUserConfig(env: NodeJS.ProcessEnv): Promise<UserConfig> {
  const file = configFile(env);
  if (!file) return {};
  let text: string;
  try {
    text = await readRegularText(file, { maxBytes: MAX_CONFIG_BYTES });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return {};
    if (err instanceof CliError) throw new UsageError(err.message, { hint: 'make it a regular file, or remove it', code: 'CONFIG_UNREADABLE' });
    throw new UsageError(`cannot read ${file}: ${errnoCode(err) ?? String(err)}`, {
      hint: 'check the permissions of your config directory',
      code: 'CONFIG_UNREADABLE',
    });
  }
  try {
    const doc = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not an object');
    return doc;
  } catch {
    throw new UsageError(`cannot parse ${file}`, {
      hint: 'fix or delete the file; `plexichat-plugin marketplace login` writes a fresh one',
      code: 'CONFIG_CORRUPT',
    });
  }
}

export async function writeUserConfig(env: NodeJS.ProcessEnv, update: UserConfig): Promise<void> {
  const dir = requireConfigDir(env);
  // A config.json that does not parse is replaced: writing a fresh one is the fix its error suggests.
  const current = await readUserConfig(env).catch((err: unknown) => {
    if (err instanceof UsageError && err.code === 'CONFIG_CORRUPT') return {};
    throw err;
  });
  await writePrivateFile(path.join(dir, 'config.json'), `${JSON.stringify({ ...current, ...update }, null, 2)}\n`);
}

/** A file only its owner can read: directory 0700, file 0600, written atomically. */
export async function writePrivateFile(file: string, content: string): Promise<void> {
  await writeFileAtomic(file, content, { mode: 0o600, dirMode: 0o700 });
}

/** The loopback rule of core/loopback.ts, and names under `.localhost` (RFC 6761: they resolve to loopback). */
export function isLoopbackHost(hostname: string): boolean {
  return isLoopback(hostname) || hostname.toLowerCase().endsWith('.localhost');
}

export interface MarketplaceTarget {
  /** Normalised base URL without a trailing slash, e.g. https://market.example.com */
  baseUrl: string;
  /** Where it came from, for messages. */
  source: 'flag' | 'env' | 'config' | 'target';
  /** A named target (--target): where its token comes from (marketplace/targets.ts). */
  named?: { name: string; tokenEnv?: string; credential?: string };
}

/** Normalise and check a marketplace URL. Throws UsageError naming what is wrong. */
export function normaliseMarketplaceUrl(raw: string, opts: { insecure: boolean; source: string }): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new UsageError(`the marketplace URL from ${opts.source} is not a URL`, {
      hint: 'use a full URL such as https://marketplace.example.com',
      code: 'BAD_MARKETPLACE_URL',
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`the marketplace URL from ${opts.source} must start with https:// or http://`, {
      hint: 'use a full URL such as https://marketplace.example.com',
      code: 'BAD_MARKETPLACE_URL',
    });
  }
  if (url.username || url.password) {
    throw new UsageError(`the marketplace URL from ${opts.source} must not contain a user name or password`, {
      hint: 'remove the credentials from the URL and log in with `plexichat-plugin marketplace login`',
      code: 'BAD_MARKETPLACE_URL',
    });
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !opts.insecure) {
    throw new UsageError(`refusing to send a token over plain http to ${url.host}`, {
      hint: 'use https://, or set PLEXICHAT_INSECURE=1 if you really mean to send the token unencrypted',
      code: 'INSECURE_URL',
    });
  }
  let pathname = url.pathname.replace(/\/+$/, '');
  pathname = pathname.replace(/\/api\/v1$/, '');
  return `${url.protocol}//${url.host}${pathname}`;
}

export function insecureAllowed(env: NodeJS.ProcessEnv): boolean {
  const v = env.PLEXICHAT_INSECURE;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export async function resolveMarketplace(opts: { flag?: string; env: NodeJS.ProcessEnv }): Promise<MarketplaceTarget> {
  const insecure = insecureAllowed(opts.env);
  if (opts.flag) return { baseUrl: normaliseMarketplaceUrl(opts.flag, { insecure, source: '--marketplace' }), source: 'flag' };
  const fromEnv = opts.env.PLEXICHAT_MARKETPLACE_URL;
  if (fromEnv) {
    return {
      baseUrl: normaliseMarketplaceUrl(fromEnv, { insecure, source: 'PLEXICHAT_MARKETPLACE_URL' }),
      source: 'env',
    };
  }
  const cfg = await readUserConfig(opts.env);
  if (typeof cfg.marketplace === 'string' && cfg.marketplace) {
    return {
      baseUrl: normaliseMarketplaceUrl(cfg.marketplace, { insecure, source: configFile(opts.env) ?? 'config.json' }),
      source: 'config',
    };
  }
  throw new UsageError('no marketplace URL is set', {
    hint: 'pass --marketplace <url>, set PLEXICHAT_MARKETPLACE_URL, or run `plexichat-plugin --marketplace <url> marketplace login` once to remember it',
    code: 'NO_MARKETPLACE_URL',
  });
}
