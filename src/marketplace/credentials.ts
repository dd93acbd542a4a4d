/**
 * The stored marketplace token.
 *
 * $XDG_CONFIG_HOME/plexichat-plugin/credentials.json (or
 * ~/.config/plexichat-plugin/credentials.json): directory 0700, file 0600,
 * written through a temp file and a rename. Tokens are keyed by the
 * marketplace base URL, so a token saved for one marketplace is never sent
 * to another. PLEXICHAT_TOKEN wins over the file. Every token that is read
 * is registered with the redactor so it cannot reach any output.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { AuthError, CliError, errnoCode } from '../errors.js';
import { readRegularText } from '../io/read-file.js';
import { registerSecret } from '../io/redact.js';
import { configDir, requireConfigDir, writePrivateFile } from './config.js';

export interface StoredToken {
  token: string;
  /** Who /me said the token belongs to when it was saved. */
  user?: string;
  role?: string;
  savedAt?: string;
}

interface CredentialsFile {
  version: 1;
  tokens: Record<string, StoredToken>;
}

export function credentialsFile(env: NodeJS.ProcessEnv): string | undefined {
  const dir = configDir(env);
  return dir && path.join(dir, 'credentials.json');
}

/** Larger than this is not a credentials file. */
const MAX_CREDENTIALS_BYTES = 1024 * 1024;

async function readFile(file: string): Promise<CredentialsFile> {
  let text: string;
  try {
    const st = await fs.stat(file);
    // An older or hand-made file readable by others is tightened, as npm does.
    if ((st.mode & 0o077) !== 0) await fs.chmod(file, 0o600).catch(() => undefined);
    text = await readRegularText(file, { maxBytes: MAX_CREDENTIALS_BYTES });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { version: 1, tokens: {} };
    if (err instanceof CliError)
      throw new AuthError(err.message, {
        hint: 'make it a regular file (or remove it and log in again), or set PLEXICHAT_TOKEN',
        code: 'CREDENTIALS_UNREADABLE',
      });
    throw new AuthError(`cannot read ${file}: ${code ?? String(err)}`, {
      hint: 'check the permissions of the file, or set PLEXICHAT_TOKEN',
      code: 'CREDENTIALS_UNREADABLE',
    });
  }
  try {
    const doc = JSON.parse(text.replace(/^\uFEFF/, '')) as Partial<CredentialsFile>;
    if (typeof doc !== 'object' || doc === null || typeof doc.tokens !== 'object' || doc.tokens === null) {
      throw new Error('bad shape');
    }
    for (const entry of Object.values(doc.tokens)) {
      if (typeof entry?.token !== 'string') throw new Error('bad entry');
      registerSecret(entry.token);
    }
    return { version: 1, tokens: doc.tokens };
  } catch {
    throw new AuthError(`cannot parse ${file}`, {
      hint: 'delete the file and run `plexichat-plugin marketplace login` again',
      code: 'CREDENTIALS_CORRUPT',
    });
  }
}

export interface ResolvedToken {
  token: string;
  source: 'env' | 'file';
  user?: string;
  /** The environment variable it came from, when not PLEXICHAT_TOKEN (a named target's token-env). */
  variable?: string;
}

/** The token to use for baseUrl: PLEXICHAT_TOKEN first, then the file. Undefined when there is none. */
export async function findToken(env: NodeJS.ProcessEnv, baseUrl: string): Promise<ResolvedToken | undefined> {
  const fromEnv = env.PLEXICHAT_TOKEN?.trim();
  if (fromEnv) {
    registerSecret(fromEnv);
    return { token: fromEnv, source: 'env' };
  }
  const file = credentialsFile(env);
  if (!file) return undefined;
  const doc = await readFile(file);
  const entry = doc.tokens[baseUrl];
  return entry ? { token: entry.token, source: 'file', user: entry.user } : undefined;
}

export function notLoggedIn(baseUrl: string): AuthError {
  return new AuthError(`not logged in to ${baseUrl}`, {
    hint: 'run `plexichat-plugin marketplace login` or set PLEXICHAT_TOKEN',
    code: 'NOT_LOGGED_IN',
  });
}

/**
 * A named target's token (marketplace/targets.ts): its environment variable,
 * else the stored login of its credential URL (default: its own URL).
 * PLEXICHAT_TOKEN only when it is the variable named.
 */
export async function targetToken(
  env: NodeJS.ProcessEnv,
  baseUrl: string,
  named: { name: string; tokenEnv?: string; credential?: string },
): Promise<ResolvedToken> {
  if (named.tokenEnv) {
    const v = env[named.tokenEnv]?.trim();
    if (!v) {
      throw new AuthError(`no token for target ${named.name}: ${named.tokenEnv} is not set`, {
        code: 'NOT_LOGGED_IN',
        hint: `set ${named.tokenEnv} to the token of ${baseUrl}`,
      });
    }
    registerSecret(v);
    return { token: v, source: 'env', ...(named.tokenEnv !== 'PLEXICHAT_TOKEN' ? { variable: named.tokenEnv } : {}) };
  }
  const file = credentialsFile(env);
  const url = named.credential?.replace(/\/+$/, '') ?? baseUrl;
  const entry = file ? (await readFile(file)).tokens[url] : undefined;
  if (!entry)
    throw new AuthError(`no token for target ${named.name}: not logged in to ${url}`, {
      code: 'NOT_LOGGED_IN',
      hint: `run \`plexichat-plugin marketplace login --target ${named.name}\`, or give the target a token-env`,
    });
  return { token: entry.token, source: 'file', user: entry.user };
}

export async function requireToken(env: NodeJS.ProcessEnv, baseUrl: string): Promise<ResolvedToken> {
  const t = await findToken(env, baseUrl);
  if (!t) throw notLoggedIn(baseUrl);
  return t;
}

export async function saveToken(env: NodeJS.ProcessEnv, baseUrl: string, entry: StoredToken): Promise<string> {
  registerSecret(entry.token);
  const file = path.join(requireConfigDir(env), 'credentials.json');
  let doc: CredentialsFile;
  try {
    doc = await readFile(file);
  } catch {
    // A corrupt file is replaced by login: that is the fix the error message suggests.
    doc = { version: 1, tokens: {} };
  }
  doc.tokens[baseUrl] = entry;
  await writePrivateFile(file, `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}

/** Forget the token for baseUrl. Returns whether one was stored. Never touches the network. */
export async function removeToken(env: NodeJS.ProcessEnv, baseUrl: string): Promise<{ removed: boolean; file?: string }> {
  const file = credentialsFile(env);
  if (!file) return { removed: false };
  let doc: CredentialsFile;
  try {
    doc = await readFile(file);
  } catch (err) {
    if (err instanceof AuthError && err.code === 'CREDENTIALS_CORRUPT') {
      // Unreadable as JSON: the only safe way to forget the token is to remove the file.
      await fs.rm(file, { force: true });
      return { removed: true, file };
    }
    throw err;
  }
  if (!(baseUrl in doc.tokens)) return { removed: false, file };
  delete doc.tokens[baseUrl];
  if (Object.keys(doc.tokens).length === 0) await fs.rm(file, { force: true });
  else await writePrivateFile(file, `${JSON.stringify(doc, null, 2)}\n`);
  return { removed: true, file };
}
