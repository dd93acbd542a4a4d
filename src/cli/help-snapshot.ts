/**
 * `--help` and `--version` without loading commander or the program: the
 * bins try this first. `npm run build` runs every command's `--help` through
 * `main` once (scripts/help-snapshot.mjs) and keeps the text in
 * dist/cli/help-snapshot.json; a run whose whole command line asks only for
 * help or the version prints it from there. Commander and the CLI's modules
 * cost a third of the start-up on top of bare Node (bench/startup.mjs).
 *
 * The snapshot is the plain text commander prints to a pipe (80 columns, no
 * colour), so it answers only when stdout is not a terminal and no colour is
 * forced; a terminal gets commander's own rendering at its width. It is
 * ignored when it does not match the package version or the modules the
 * help comes from (their size and mtime), e.g. after a bare `tsc`.
 * Imports nothing but node:fs: it runs before anything else loads.
 */
import { READER_GONE_EXIT } from '../io/closed-pipe.js';
import { readFileSync, statSync } from 'node:fs';
import { programName, renameProgram } from './program-name.js';

export interface HelpSnapshot {
  version: string;
  /** Size and mtime (ms) of each module the help text comes from, by file name under dist/cli/. */
  sources: Record<string, [number, number]>;
  /** The help text by command path: '' for the program, 'build', 'marketplace serve'. */
  help: Record<string, string>;
}

/** Where the snapshot lives (next to this module in dist/). */
export const SNAPSHOT_URL = new URL('./help-snapshot.json', import.meta.url);
const PACKAGE_URL = new URL('../../package.json', import.meta.url);
/** The modules whose code decides the help text. */
export const SNAPSHOT_SOURCES = ['program.js', 'examples.js', 'command-path.js', 'main.js'] as const;

/** Size and mtime of the snapshot's sources now. */
export function sourceStamps(): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const name of SNAPSHOT_SOURCES) {
    const st = statSync(new URL(`./${name}`, import.meta.url));
    out[name] = [st.size, Math.trunc(st.mtimeMs)];
  }
  return out;
}

/**
 * The command path whose help this command line asks for, or undefined:
 * `--help`, `-h` and `help` alone; `<path> --help`, `<path> -h`; `help <command>`
 * (commander's `help a b` shows a's help, so only one word after `help`).
 * Anything else (another flag, --json, no argument) goes through commander.
 */
export function helpPath(args: readonly string[]): string | undefined {
  if (args.length === 0) return undefined;
  const last = args[args.length - 1];
  let words: readonly string[];
  if (args[0] === 'help' && args.length <= 2) words = args.slice(1);
  else if (last === '--help' || last === '-h') words = args.slice(0, -1);
  else return undefined;
  return words.every((w) => /^[a-z][a-z-]*$/.test(w)) ? words.join(' ') : undefined;
}

interface Out {
  stdout: { isTTY?: boolean; write(s: string): unknown; once?(event: 'error', listener: () => void): unknown };
  env: NodeJS.ProcessEnv;
  exitCode?: number | string | null;
}

/** Prints help or the version from the snapshot and returns true, or returns false (commander must answer). */
export function printFromSnapshot(argv: readonly string[], proc: Out): boolean {
  const args = argv.slice(2);
  const version = args.length === 1 && (args[0] === '--version' || args[0] === '-V');
  const path = version ? undefined : helpPath(args);
  if (!version && path === undefined) return false;
  if (proc.stdout.isTTY || proc.env.FORCE_COLOR !== undefined || proc.env.CLICOLOR_FORCE !== undefined) return false;
  const snap = readSnapshot();
  if (!snap) return false;
  const text = version ? `${snap.version}\n` : snap.help[path!] && renameProgram(snap.help[path!], programName(argv[1]));
  if (text === undefined) return false;
  // A reader that went away (`| head`, a closed pipe): quiet, exit 141, as io/closed-pipe.ts ends every other command.
  proc.stdout.once?.('error', () => {
    proc.exitCode = READER_GONE_EXIT;
  });
  proc.stdout.write(text);
  return true;
}

/** The snapshot when it is there and current, else undefined. */
function readSnapshot(): HelpSnapshot | undefined {
  try {
    const snap = JSON.parse(readFileSync(SNAPSHOT_URL, 'utf8')) as HelpSnapshot;
    const pkg = JSON.parse(readFileSync(PACKAGE_URL, 'utf8')) as { version?: unknown };
    if (snap.version !== String(pkg.version)) return undefined;
    const now = sourceStamps();
    for (const name of SNAPSHOT_SOURCES) {
      const a = now[name];
      const b = snap.sources[name];
      if (!b || a[0] !== b[0] || a[1] !== b[1]) return undefined;
    }
    return snap;
  } catch {
    return undefined;
  }
}
