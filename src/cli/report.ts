/**
 * How the boundary (./main.ts) reports what ended a run: CliError
 * subclasses are user errors (one line and a hint, the stack only with
 * --verbose); a filesystem failure nothing wrapped is the user's too;
 * anything else is a bug and says so. Under --json: one document.
 */
import { CommanderError, type Command } from 'commander';
import { CliError, ExitCode, UsageError } from '../errors.js';
import type { Output } from '../io/output.js';
import { fsError } from '../io/fs-errors.js';
import { redact, redactDeep } from '../io/redact.js';
import { inline } from '../io/terminal.js';
import { commandPath } from './command-path.js';
import { examplesOf } from './examples.js';
import { valueText } from '../io/value-text.js';

/** The deepest command named by argv (for `marketplace` with no subcommand: marketplace). */
function commandOf(program: Command, argv: string[]): Command {
  let cmd = program;
  for (const a of argv.slice(2)) {
    if (a === '--') break;
    const next = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (next) cmd = next;
  }
  return cmd;
}

/** --json with --help, --version, or a command group without its subcommand. */
export function reportJsonHelp(err: CommanderError, s: { program: Command; argv: string[]; printed: string; version: string; out: Output }): number {
  if (err.code === 'commander.version') {
    s.out.writeJson({ version: s.version });
    return ExitCode.ok;
  }
  const cmd = commandOf(s.program, s.argv);
  const path = [s.program.name(), commandPath(cmd)].filter(Boolean).join(' ');
  const subcommands = cmd.commands.map((c) => ({ name: c.name(), description: c.description() }));
  const options = cmd.options.map((o) => ({ flags: o.flags, description: o.description }));
  if (err.code === 'commander.helpDisplayed' || err.exitCode === 0) {
    s.out.writeJson({ command: path, help: s.printed, subcommands, options, examples: examplesOf(cmd) });
    return ExitCode.ok;
  }
  if (err.code === 'commander.help') {
    const names = subcommands.map((c) => c.name).join(', ');
    return report(
      new UsageError(`${path} needs a subcommand: ${names}`, { code: 'MISSING_SUBCOMMAND', hint: `run ${path} --help`, details: { subcommands } }),
      s.out,
    );
  }
  return report(err, s.out);
}

/**
 * Commander's text as one line, worded as the CLI's own did-you-mean:
 * "error: unknown command 'biuld'\n(Did you mean build?)" becomes
 * "unknown command 'biuld' (did you mean 'build'?)".
 */
export function commanderMessage(text: string): string {
  const [first = '', ...rest] = text
    .replace(/^error:\s*/, '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  let message = first;
  for (const line of rest) {
    const m = /^\(Did you mean (one of )?(.+?)\?\)$/.exec(line);
    message += m
      ? ` (did you mean ${m[1] ?? ''}${m[2]
          .split(/,\s*/)
          .map((s) => `'${s}'`)
          .join(', ')}?)`
      : `; ${line}`;
  }
  return message;
}

export function report(err: unknown, out: Output): number {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') {
      return ExitCode.ok;
    }
    if (err.code === 'commander.help') return ExitCode.usage;
    return report(new UsageError(commanderMessage(err.message), { hint: 'run with --help to see the commands and flags' }), out);
  }
  if (err instanceof CliError) {
    if (out.json) {
      // Every field: a server's words reach the message, the hint and the details (request id, code, findings).
      out.writeJson({ error: redactDeep({ code: err.code, message: err.message, hint: err.hint, exitCode: err.exitCode, ...err.details }) });
    }
    // One line: a message may carry a server's or a file's text, so its line breaks are shown, not obeyed.
    out.error(inline(redact(err.message)));
    if (err.hint) out.note(`  ${out.c.dim(`hint: ${inline(redact(err.hint))}`)}`);
    if (out.verbose) {
      out.note(redact(err.stack ?? ''));
      if (err.cause) out.note(`caused by: ${redact(valueText((err.cause as Error).stack ?? err.cause))}`);
    }
    return err.exitCode;
  }
  // A filesystem failure no command wrapped is still the user's to fix, not a bug.
  const fs = fsError(err);
  if (fs) return report(fs, out);
  const e = err instanceof Error ? err : new Error(String(err));
  if (out.json) out.writeJson({ error: { code: 'INTERNAL', message: redact(e.message), exitCode: 1 } });
  out.error(`unexpected internal error: ${inline(redact(e.message))}`);
  out.note(redact(e.stack ?? ''));
  out.note('This is a bug in plexichat-plugin-cli; please report it with the output above.');
  return ExitCode.failed;
}
