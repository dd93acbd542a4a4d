import { jsonDocument } from './json-document.js';
import { MARK_CLOSE, MARK_OPEN, inline, terminalSafe } from './terminal.js';

/**
 * Colours: a fixed ANSI table instead of chalk. chalk costs ~6 ms of
 * start-up on every command (measured with commander already loaded) and
 * ignores NO_COLOR anyway; the decision is made once, in wantColor().
 */
const ANSI = {
  bold: [1, 22],
  dim: [2, 22],
  underline: [4, 24],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
  gray: [90, 39],
} as const;

export type Palette = Record<keyof typeof ANSI, (text: string) => string>;

export function palette(enabled: boolean): Palette {
  const entries = Object.entries(ANSI).map(([name, [open, close]]) => [
    name,
    enabled ? (t: string) => `${MARK_OPEN}${open}${MARK_CLOSE}${t}${MARK_OPEN}${close}${MARK_CLOSE}` : (t: string) => t,
  ]);
  return Object.fromEntries(entries) as Palette;
}

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  color: boolean;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * The one way commands talk to the user. In human mode results go to
 * stdout, progress and warnings to stderr. With --json stdout carries
 * exactly one JSON document (written by the boundary) and every human line
 * goes to stderr.
 */
export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly c: Palette;
  readonly stdout: OutputOptions['stdout'];
  readonly stderr: OutputOptions['stderr'];
  private silent = false;

  constructor(opts: OutputOptions) {
    this.json = opts.json;
    this.quiet = opts.quiet;
    this.verbose = opts.verbose;
    this.stdout = opts.stdout;
    this.stderr = opts.stderr;
    this.c = palette(opts.color);
  }

  /**
   * The reader of stdout or stderr went away (`| head -1`): from now on every
   * line is dropped, so the command ends without a word (src/io/closed-pipe.ts).
   */
  mute(): void {
    this.silent = true;
  }

  /** True once mute() was called. */
  get muted(): boolean {
    return this.silent;
  }

  private put(stream: OutputOptions['stdout'], text: string): void {
    if (!this.silent) stream.write(text);
  }

  /** A result line (stdout in human mode; stderr under --json). */
  result(line = ''): void {
    this.put(this.json ? this.stderr : this.stdout, terminalSafe(`${line}\n`));
  }

  /** Informational progress line; dropped by --quiet. */
  info(line: string): void {
    if (!this.quiet) this.put(this.stderr, terminalSafe(`${line}\n`));
  }

  /** A line on stderr that --quiet keeps (hints, diagnostics, details). */
  note(line: string): void {
    this.put(this.stderr, terminalSafe(`${line}\n`));
  }

  /** One line: a line break inside it (from foreign text) is shown escaped, as are warn, error and debug lines. */
  success(line: string): void {
    this.info(`${this.c.green('✔')} ${inline(line)}`);
  }

  warn(line: string): void {
    this.put(this.stderr, terminalSafe(`${this.c.yellow('warning:')} ${inline(line)}\n`));
  }

  error(line: string): void {
    this.put(this.stderr, terminalSafe(`${this.c.red('error:')} ${inline(line)}\n`));
  }

  debug(line: string): void {
    if (this.verbose) this.put(this.stderr, terminalSafe(`${this.c.dim(`debug: ${inline(line)}`)}\n`));
  }

  /** Write the single JSON document of a --json run (schemaVersion and camelCase added here: docs/json.md). */
  writeJson(doc: object): void {
    this.put(this.stdout, `${JSON.stringify(jsonDocument(doc), null, 2)}\n`);
  }

  /** One document of a stream of them (`dev --json`: one per line), in the same shape. */
  writeJsonLine(doc: object): void {
    this.put(this.stdout, `${JSON.stringify(jsonDocument(doc))}\n`);
  }

  /** True when a live progress bar may be drawn on stderr. */
  get canAnimate(): boolean {
    return Boolean(this.stderr.isTTY) && !this.json && !this.quiet && !this.silent;
  }
}

/**
 * Decide colour once (NO_COLOR is honoured here; chalk would not):
 * FORCE_COLOR wins, then --no-color / NO_COLOR / --json / non-TTY turn it off.
 */
export function wantColor(opts: { env: NodeJS.ProcessEnv; noColorFlag: boolean; json: boolean; isTTY: boolean }): boolean {
  const force = opts.env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  if (opts.noColorFlag || opts.json) return false;
  if (opts.env.NO_COLOR !== undefined && opts.env.NO_COLOR !== '') return false;
  if (opts.env.TERM === 'dumb') return false;
  return opts.isTTY;
}
