/**
 * The only error boundary and the only place that exits. It maps every
 * error to a message and an exit code: CliError subclasses are user
 * errors (one line and a hint, the stack only with --verbose); anything
 * else is a bug and says so.
 */
import { readFileSync } from 'node:fs';
import { CommanderError, type Command } from 'commander';
import { CliError, ExitCode, UsageError } from '../errors.js';
import { Output, wantColor } from '../io/output.js';
import { fsError } from '../io/fs-errors.js';
import { redact } from '../io/redact.js';
import { inline } from '../io/terminal.js';
import { didYouMean } from '../core/suggest.js';
import { createProgram, type Runner } from './program.js';
import { isCI, stdioFiles, systemClock, type Ctx, type GlobalFlags } from '../context.js';
import { commandPath, findProjectRoot, isProjectCommand, startDir } from './resolve-cwd.js';
import { examplesOf } from './examples.js';

/**
 * What `main` needs of the process. The real `process` fits; tests hand in
 * their own streams, env and cwd to run the CLI in-process.
 */
export interface Process {
  env: NodeJS.ProcessEnv;
  cwd(): string;
  stdin: NodeJS.ReadStream | (NodeJS.ReadableStream & { isTTY?: boolean });
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Signal subscription (SIGINT/SIGTERM abort the running command). */
  on(event: 'SIGINT' | 'SIGTERM', listener: (sig: NodeJS.Signals) => void): unknown;
  off(event: 'SIGINT' | 'SIGTERM', listener: (sig: NodeJS.Signals) => void): unknown;
  /** Forced exit for a second Ctrl-C or work that ignores the abort; absent in tests. */
  exit?(code: number): never | void;
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

type ModeFlags = Pick<GlobalFlags, 'json' | 'verbose' | 'quiet' | 'color'>;

/** Flags the boundary needs even when commander never got to parse them. */
function earlyFlags(argv: string[]): ModeFlags {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  const own = end === -1 ? args : args.slice(0, end);
  return {
    json: own.includes('--json'),
    verbose: own.includes('--verbose') || own.includes('-v'),
    quiet: own.includes('--quiet') || own.includes('-q'),
    color: !own.includes('--no-color'),
  };
}

/** The output mode: JSON or human, quiet or verbose, colour or not. */
function outputFor(proc: Process, flags: ModeFlags): Output {
  return new Output({
    json: flags.json,
    quiet: flags.quiet,
    verbose: flags.verbose,
    color: wantColor({ env: proc.env, noColorFlag: !flags.color, json: flags.json, isTTY: Boolean(proc.stderr.isTTY) }),
    stdout: proc.stdout,
    stderr: proc.stderr,
  });
}

/** The global flags as commander parsed them for this command. */
function globalFlags(command: Command): GlobalFlags {
  const g = command.optsWithGlobals() as Record<string, unknown>;
  return {
    json: Boolean(g.json),
    verbose: Boolean(g.verbose),
    quiet: Boolean(g.quiet),
    color: g.color !== false,
    cwd: typeof g.cwd === 'string' ? g.cwd : undefined,
    marketplace: typeof g.marketplace === 'string' ? g.marketplace : undefined,
  };
}

/**
 * SIGINT/SIGTERM abort the running command; a second signal, or work that
 * ignores the abort for 10 s, exits through proc.exit.
 */
function trapSignals(proc: Process): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  let signals = 0;
  let graceTimer: NodeJS.Timeout | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) proc.exit?.(ExitCode.cancelled);
    controller.abort(new Error(`received ${sig}`));
    // Work that does not watch the signal still ends, after a grace period.
    graceTimer = setTimeout(() => proc.exit?.(ExitCode.cancelled), 10_000);
    graceTimer.unref();
  };
  proc.on('SIGINT', onSignal);
  proc.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    release() {
      proc.off('SIGINT', onSignal);
      proc.off('SIGTERM', onSignal);
      if (graceTimer) clearTimeout(graceTimer);
    },
  };
}

/** The context a command runs in: its directory (the plugin root, found upward), streams, flags. */
function contextFor(command: Command, opts: unknown, s: { proc: Process; out: Output; flags: GlobalFlags; signal: AbortSignal }): Ctx {
  const { proc, out, flags } = s;
  const project = isProjectCommand(command);
  let cwd = startDir(() => proc.cwd(), flags.cwd, proc.env, project);
  if (project) {
    const root = findProjectRoot(cwd);
    if (root && root !== cwd) {
      out.info(`using the plugin at ${root}`);
      cwd = root;
    }
  }
  return {
    cwd,
    env: proc.env,
    out,
    flags,
    interactive: Boolean(proc.stdin.isTTY) && !isCI(proc.env) && !(opts as { yes?: boolean }).yes && !flags.json,
    stdin: proc.stdin,
    clock: systemClock,
    signal: s.signal,
    stdio: () => stdioFiles(proc),
  };
}

/** What one run of the CLI holds: the output the boundary reports to, and the exit code. */
interface Run {
  out: Output;
  code: number;
}

/** Runs the command commander chose: load its module, run it, render or print its JSON, set the code. */
function dispatcher(proc: Process, signal: AbortSignal, run: Run): Runner {
  return async (load, opts, command) => {
    const flags = globalFlags(command);
    run.out = outputFor(proc, flags);
    const ctx = contextFor(command, opts, { proc, out: run.out, flags, signal });
    const mod = await load();
    const result = await mod.run(opts, ctx).catch((err: unknown) => {
      if (!flags.json) mod.renderError?.(err, ctx); // what the error carries, before its one line
      throw err;
    });
    // A command that already printed its JSON document (marketplace serve) returns undefined.
    if (flags.json) {
      if (result !== undefined) run.out.writeJson(result);
    }
    else mod.render?.(result, ctx);
    run.code = mod.exitCode?.(result) ?? ExitCode.ok;
  };
}

/**
 * Commander throws instead of exiting, and its help and version text go to
 * proc's streams; under --json that text is collected for one JSON document.
 */
function routeHelpOutput(program: Command, proc: Process, json: boolean): () => string {
  let printed = '';
  const configure = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({
      writeOut: (s) => (json ? void (printed += s) : proc.stdout.write(s)),
      writeErr: (s) => (json ? void (printed += s) : proc.stderr.write(s)),
      outputError: () => {
        /* printed by the boundary */
      },
    });
    cmd.commands.forEach(configure);
  };
  configure(program);
  return () => printed;
}

/**
 * Runs the CLI once and resolves to its exit code; it never exits the
 * process itself (the bin sets process.exitCode), so tests can call it.
 */
export async function main(argv: string[], proc: Process = process): Promise<number> {
  const early = earlyFlags(argv);
  const run: Run = { out: outputFor(proc, early), code: ExitCode.ok };
  const signals = trapSignals(proc);
  const version = readVersion();
  const program = createProgram(version, dispatcher(proc, signals.signal, run));
  const printed = routeHelpOutput(program, proc, early.json);
  try {
    refuseUnknownHelpTopic(program, argv);
    await program.parseAsync(argv);
  } catch (err) {
    run.code = early.json && err instanceof CommanderError ? reportJsonHelp(err, { program, argv, printed: printed(), version, out: run.out }) : report(err, run.out);
  } finally {
    signals.release();
  }
  return run.code;
}

/** `help nonexist` is an unknown command (exit 2, did-you-mean), not the full help. */
function refuseUnknownHelpTopic(program: Command, argv: string[]): void {
  const args = argv.slice(2).filter((a) => !a.startsWith('-'));
  if (args[0] !== 'help' || args[1] === undefined) return;
  let cmd: Command = program;
  for (const name of args.slice(1)) {
    const next = cmd.commands.find((c) => c.name() === name || c.aliases().includes(name));
    if (!next) {
      const names = cmd.commands.map((c) => c.name());
      throw new UsageError(`unknown command '${name}'${didYouMean(name, names)}`, { hint: `the commands are: ${names.join(', ')}` });
    }
    cmd = next;
  }
}

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
function reportJsonHelp(
  err: CommanderError,
  s: { program: Command; argv: string[]; printed: string; version: string; out: Output },
): number {
  if (err.code === 'commander.version') {
    s.out.writeJson({ schemaVersion: 1, version: s.version });
    return ExitCode.ok;
  }
  const cmd = commandOf(s.program, s.argv);
  const path = [s.program.name(), commandPath(cmd)].filter(Boolean).join(' ');
  const subcommands = cmd.commands.map((c) => ({ name: c.name(), description: c.description() }));
  const options = cmd.options.map((o) => ({ flags: o.flags, description: o.description }));
  if (err.code === 'commander.helpDisplayed' || err.exitCode === 0) {
    s.out.writeJson({ schemaVersion: 1, command: path, help: s.printed, subcommands, options, examples: examplesOf(cmd) });
    return ExitCode.ok;
  }
  if (err.code === 'commander.help') {
    const names = subcommands.map((c) => c.name).join(', ');
    return report(new UsageError(`${path} needs a subcommand: ${names}`, { code: 'MISSING_SUBCOMMAND', hint: `run ${path} --help`, details: { subcommands } }), s.out);
  }
  return report(err, s.out);
}

function report(err: unknown, out: Output): number {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') {
      return ExitCode.ok;
    }
    if (err.code === 'commander.help') return ExitCode.usage;
    const message = err.message.replace(/^error:\s*/, '');
    return report(new UsageError(message, { hint: 'run with --help to see the commands and flags' }), out);
  }
  if (err instanceof CliError) {
    if (out.json) {
      out.writeJson({
        error: { code: err.code, message: redact(err.message), hint: err.hint, exitCode: err.exitCode, ...err.details },
      });
    }
    // One line: a message may carry a server's or a file's text, so its line breaks are shown, not obeyed.
    out.error(inline(redact(err.message)));
    if (err.hint) out.note(`  ${out.c.dim(`hint: ${inline(redact(err.hint))}`)}`);
    if (out.verbose) {
      out.note(redact(err.stack ?? ''));
      if (err.cause) out.note(`caused by: ${redact(String((err.cause as Error).stack ?? err.cause))}`);
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
