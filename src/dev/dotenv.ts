/**
 * The plugin folder's `.env`, read by `dev` only (never by test, build or
 * check, and never packed: build leaves it out at the root, refuses it opted in). KEY=VALUE lines;
 * blank lines and `#` comments skipped; `export ` before a key allowed;
 * a value in single or double quotes taken as written inside them. A
 * variable already set in the environment wins over the file.
 */
import path from 'node:path';
import { errnoCode, UsageError } from '../errors.js';
import { readRegularText } from '../io/read-file.js';

export const DOTENV = '.env';
const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;

/** Pure: the variables of a .env text, or a UsageError naming the first bad line. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '' || raw.trim().startsWith('#')) return;
    const m = LINE.exec(raw);
    if (!m)
      throw new UsageError(`${DOTENV}:${i + 1}: not a KEY=VALUE line`, { code: 'DOTENV_INVALID', hint: 'write NAME=value, one per line (# starts a comment)' });
    const v = m[2];
    const quoted = /^(['"])(.*)\1$/.exec(v);
    out[m[1]] = quoted ? quoted[2] : v.replace(/\s+#.*$/, '');
  });
  return out;
}

/** env with the project's .env under it (the environment wins); env itself when there is no .env. */
export async function withDotenv(dir: string, env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  let text: string;
  try {
    text = await readRegularText(path.join(dir, DOTENV), { shown: DOTENV, maxBytes: 1024 * 1024 });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return env;
    throw err;
  }
  return { ...parseDotenv(text), ...env };
}
