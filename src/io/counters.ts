/**
 * Debug counters of the work a run does more than once when it should not:
 * manifest parses, archive members inflated, whole archives hashed. Off
 * unless PLEXICHAT_DEBUG_COUNTS names a file: then, when the process exits,
 * the counts are written there as one JSON object per line
 * (`{"pid":…,"argv":[…],"counts":{…}}`), so a test can count what a
 * command (or the marketplace server) did. In-process callers read
 * `counts()` and `resetCounts()`.
 */
import { appendFileSync } from 'node:fs';

const table = new Map<string, number>();
let installed = false;

/** Add `n` to counter `name`. */
export function count(name: string, n = 1): void {
  table.set(name, (table.get(name) ?? 0) + n);
  if (!installed) install();
}

/** The counters so far, by name. */
export function counts(): Record<string, number> {
  return Object.fromEntries(table);
}

export function resetCounts(): void {
  table.clear();
}

function install(): void {
  installed = true;
  const file = process.env.PLEXICHAT_DEBUG_COUNTS;
  if (!file) return;
  process.once('exit', () => {
    try {
      appendFileSync(file, `${JSON.stringify({ pid: process.pid, argv: process.argv.slice(2), counts: counts() })}\n`);
    } catch {
      // a debug aid: never a reason to fail the command
    }
  });
}
