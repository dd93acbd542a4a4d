/**
 * Which reader a reading command uses: a static registry when one is set
 * (--registry, else PLEXICHAT_REGISTRY_URL, else `registry` in the user's
 * config.json; a --marketplace flag without --registry keeps the server),
 * else the marketplace server (no token is sent either way).
 */
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Ctx } from '../io/context.js';
import { UsageError } from '../errors.js';
import { configFile, readUserConfig } from '../marketplace/config.js';
import { openSession } from '../marketplace/session.js';
import type { PluginReader } from '../marketplace/verified-download.js';
import { StaticRegistry } from './reader.js';

export const REGISTRY_ENV = 'PLEXICHAT_REGISTRY_URL';

/** A registry URL: http(s):// or file:// of a folder that exists. */
export async function registryUrl(raw: string, source: string): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    url = new URL('invalid:');
  }
  const hint = 'use https://host/path, http://host/path or file:///path/to/registry (the folder that holds registry.json)';
  if (!['http:', 'https:', 'file:'].includes(url.protocol)) {
    throw new UsageError(`the registry URL from ${source} must start with https://, http:// or file://`, { code: 'BAD_REGISTRY_URL', hint });
  }
  if (url.username || url.password) {
    throw new UsageError(`the registry URL from ${source} must not contain a user name or password`, { code: 'BAD_REGISTRY_URL', hint });
  }
  if (url.protocol === 'file:') {
    const st = await fs.stat(fileURLToPath(url)).catch(() => undefined);
    if (!st?.isDirectory()) throw new UsageError(`the registry ${url.href} from ${source} is not a folder`, { code: 'BAD_REGISTRY_URL', hint });
  }
  return url;
}

/** The static registry the command reads from, or undefined for the marketplace server. */
export async function resolveRegistry(ctx: Ctx, flag: string | undefined): Promise<URL | undefined> {
  if (flag !== undefined) return registryUrl(flag, '--registry');
  if (ctx.flags.marketplace) return undefined;
  const env = ctx.env[REGISTRY_ENV];
  if (env) return registryUrl(env, REGISTRY_ENV);
  const cfg = (await readUserConfig(ctx.env)) as { registry?: unknown };
  if (typeof cfg.registry === 'string' && cfg.registry) return registryUrl(cfg.registry, configFile(ctx.env) ?? 'config.json');
  return undefined;
}

/** Run fn with the reader (a static registry or a server session) and release it after. */
export async function withReader<T>(ctx: Ctx, registryFlag: string | undefined, fn: (r: PluginReader) => Promise<T>): Promise<T> {
  const url = await resolveRegistry(ctx, registryFlag);
  let reader: PluginReader;
  if (url) {
    ctx.out.debug(`static registry ${url.href}`);
    reader = new StaticRegistry(url, ctx.signal);
  } else {
    reader = (await openSession(ctx, { token: 'none' })).client;
  }
  try {
    return await fn(reader);
  } finally {
    await reader.close();
  }
}

/** `mirror --from URL`: a static registry when the URL holds registry.json, else a marketplace server. */
export async function openMirrorSource(ctx: Ctx, from: string): Promise<{ reader: PluginReader; registry?: StaticRegistry }> {
  const url = await registryUrl(from, '--from');
  const registry = new StaticRegistry(url, ctx.signal);
  if (url.protocol === 'file:' || (await registry.isRegistry())) return { reader: registry, registry };
  const { MarketplaceClient } = await import('../marketplace/client.js');
  const { insecureAllowed, normaliseMarketplaceUrl } = await import('../marketplace/config.js');
  const baseUrl = normaliseMarketplaceUrl(from, { insecure: insecureAllowed(ctx.env), source: '--from' });
  const client = new MarketplaceClient({ baseUrl, env: ctx.env, clock: ctx.clock, signal: ctx.signal, debug: (l) => ctx.out.debug(l) });
  return { reader: client };
}
