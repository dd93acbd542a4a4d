/**
 * Where the CLI keeps per-user files, by the XDG base directory rules: the
 * config dir ($XDG_CONFIG_HOME, else ~/.config) for the marketplace URL and
 * token, the cache dir ($XDG_CACHE_HOME, else ~/.cache) for the code-scan
 * cache, the data dir ($XDG_DATA_HOME, else ~/.local/share) for what
 * `marketplace serve` stores. A relative XDG_* value is ignored, as the spec says; undefined when
 * neither the variable nor HOME (or USERPROFILE) gives an absolute path.
 */
import path from 'node:path';

export const APP_DIR = 'plexichat-plugin';
/** Under the data dir: the development marketplace's data (`marketplace serve`, `marketplace index`). */
export const MARKETPLACE_DATA_DIR = 'marketplace';

const BASES = {
  config: { variable: 'XDG_CONFIG_HOME', fallback: '.config' },
  cache: { variable: 'XDG_CACHE_HOME', fallback: '.cache' },
  data: { variable: 'XDG_DATA_HOME', fallback: '.local/share' },
} as const;

export function userDir(kind: keyof typeof BASES, env: NodeJS.ProcessEnv): string | undefined {
  const { variable, fallback } = BASES[kind];
  const xdg = env[variable];
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, APP_DIR);
  const home = env.HOME || env.USERPROFILE;
  if (home && path.isAbsolute(home)) return path.join(home, fallback, APP_DIR);
  return undefined;
}
