/**
 * `.pluginignore`: gitignore syntax, matched with the `ignore` package.
 * A pattern that can never work is an error naming its line; a path is
 * reported with the line that dropped it, or the `!` line that kept it.
 */
import ignore, { type Ignore } from 'ignore';
import { WorkFailedError } from '../../errors.js';

export const IGNORE_FILE = '.pluginignore';

export interface IgnoreRules {
  matcher: Ignore;
  /** The `!pattern` lines, each on its own, to name the one that re-includes a path. */
  negations: { line: string; mark: string; matcher: Ignore }[];
}

/** Parse .pluginignore; a pattern that can never work is an error naming its line. */
export function parseIgnoreFile(text: string, file = IGNORE_FILE): IgnoreRules {
  const matcher = ignore();
  const negations: IgnoreRules['negations'] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/(?<!\\)\s+$/, '');
    if (line === '' || line.startsWith('#')) return;
    const problem = badPattern(line);
    if (problem) {
      throw new WorkFailedError(`${file}:${i + 1}: bad pattern ${JSON.stringify(raw)}: ${problem}`, {
        code: 'BAD_IGNORE_PATTERN',
        hint: `fix or remove line ${i + 1} of ${file} (gitignore syntax: https://git-scm.com/docs/gitignore)`,
      });
    }
    matcher.add({ pattern: line, mark: String(i + 1) });
    if (line.startsWith('!')) negations.push({ line, mark: String(i + 1), matcher: ignore().add(line.slice(1)) });
  });
  return { matcher, negations };
}

/** Why a gitignore pattern is broken, or undefined. */
export function badPattern(line: string): string | undefined {
  const body = line.startsWith('!') ? line.slice(1) : line;
  if (body === '' || body === '/') return 'the pattern is empty';
  if (/(^|[^\\])(\\\\)*\\$/.test(body)) return 'it ends with a lone backslash';
  if (/(^|\/)\.\.(\/|$)/.test(body)) return 'patterns are relative to the project; ".." never matches';
  if (/^[A-Za-z]:[\\/]/.test(body)) return 'patterns are relative to the project, not absolute paths';
  // Bracket expressions must close, and ranges must ascend.
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '\\') {
      i += 1;
      continue;
    }
    if (ch !== '[') continue;
    let j = i + 1;
    if (body[j] === '!' || body[j] === '^') j += 1;
    if (body[j] === ']') j += 1;
    let closed = false;
    for (; j < body.length; j++) {
      if (body[j] === '\\') {
        j += 1;
        continue;
      }
      if (body[j] === '[' && body[j + 1] === ':') {
        const end = body.indexOf(':]', j + 2);
        if (end !== -1) {
          j = end + 1;
          continue;
        }
      }
      if (body[j] === ']') {
        closed = true;
        break;
      }
      if (body[j] === '-' && j + 1 < body.length && body[j + 1] !== ']' && j - 1 > i) {
        const lo = body[j - 1];
        const hi = body[j + 1];
        if (lo > hi) return `the range "${lo}-${hi}" is reversed`;
      }
    }
    if (!closed) return 'a "[" is never closed';
    i = j;
  }
  return undefined;
}

/**
 * The .pluginignore verdict on one path (folders end with "/"): the line
 * that drops it, the `!` line that re-includes it, or undefined when no
 * line speaks of it.
 */
export function ignoreVerdict(rules: IgnoreRules | undefined, rel: string): { action: 'dropped' | 'kept'; rule: string } | undefined {
  if (!rules) return undefined;
  const r = rules.matcher.test(rel);
  if (r.ignored) return { action: 'dropped', rule: `${IGNORE_FILE}:${r.rule?.mark ?? '?'}: ${r.rule?.pattern ?? ''}` };
  if (!r.unignored) return undefined;
  // The last `!` line that matches is the one that decided (as git check-ignore reports).
  const neg = [...rules.negations].reverse().find((n) => n.matcher.ignores(rel));
  return { action: 'kept', rule: neg ? `${IGNORE_FILE}:${neg.mark}: ${neg.line}` : `${IGNORE_FILE}: re-included` };
}
