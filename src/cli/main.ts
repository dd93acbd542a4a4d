/**
 * The only error boundary: every run of the CLI ends here with an exit
 * code, and every error is handed to ./report.ts (loaded only when there
 * is one, so --help and --version stay close to bare Node start-up).
 */
import { CommanderError, type Command } from 'commander';
import { CancelledError, CliError, ExitCode, UsageError, terminatedBySigterm } from '../errors.js';
import { cliVersion } from '../io/cli-version.js';
import { READER_GONE_EXIT, watchClosedPipes } from '../io/closed-pipe.js';
import type { Output } from '../io/output.js';
import { createProgram, type CommandModule, type Runner } from './program.js';
import { programName, renameProgram } from './program-name.js';
import type { Ctx, GlobalFlags } from '../io/context.js';

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
  /** With pid: the forced end raises the signal again (the real process has both). */
  kill?(pid: number, signal: NodeJS.Signals): unknown;
  pid?: number;
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

/** The output mode: JSON or human, quiet or verbose, colour or not (loaded when there is output to write). */
async function outputFor(proc: Process, flags: ModeFlags): Promise<Output> {
  const { Output, wantColor } = await import('../io/output.js');
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
  const g = command.optsWithGlobals<Record<string, unknown>>();
  return {
    json: Boolean(g.json),
    verbose: Boolean(g.verbose),
    quiet: Boolean(g.quiet),
    color: g.color !== false,
    cwd: typeof g.cwd === 'string' ? g.cwd : undefined,
    marketplace: typeof g.marketplace === 'string' ? g.marketplace : undefined,
    target: typeof g.target === 'string' ? g.target : undefined,
  };
}

/**
 * SIGINT/SIGTERM abort the running command: the abort's reason is a
 * CancelledError, so work that throws it ends as a cancellation (exit 130,
 * 143 for SIGTERM), never as a bug. A second signal, or work that ignores
 * the abort for 10 s, ends the process at once: the signal's listeners are
 * removed and the signal is raised again, so the system ends it (exit
 * 128 + n as the shell reports it) without waiting for anything, not even
 * a read stuck in the thread pool.
 */
function trapSignals(proc: Process): { signal: AbortSignal; abort(reason: Error): void; release(): void; received(): NodeJS.Signals | undefined } {
  const controller = new AbortController();
  let signals = 0;
  let first: NodeJS.Signals | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  const release = () => {
    proc.off('SIGINT', onSignal);
    proc.off('SIGTERM', onSignal);
    if (graceTimer) clearTimeout(graceTimer);
  };
  const force = (sig: NodeJS.Signals) => {
    const code = sig === 'SIGTERM' ? ExitCode.terminated : ExitCode.cancelled;
    if (!proc.kill || proc.pid === undefined) return void proc.exit?.(code);
    release();
    proc.kill(proc.pid, sig);
  };
  function onSignal(sig: NodeJS.Signals) {
    signals += 1;
    first ??= sig;
    if (signals > 1) return force(sig);
    controller.abort(new CancelledError(`Cancelled (${sig})`));
    // Work that does not watch the signal still ends, after a grace period.
    graceTimer = setTimeout(() => force(sig), 10_000);
    graceTimer.unref();
  }
  proc.on('SIGINT', onSignal);
  proc.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    release,
    received: () => first,
  };
}

/** The context a command runs in: its directory (the plugin root, found upward), streams, flags. */
async function contextFor(command: Command, opts: unknown, s: { proc: Process; out: Output; flags: GlobalFlags; signal: AbortSignal }): Promise<Ctx> {
  // Loaded when a command runs, not for --help and --version.
  const [{ findProjectRoot, isProjectCommand, startDir }, { isCI, stdioFiles, systemClock }] = await Promise.all([
    import('./resolve-cwd.js'),
    import('../io/context.js'),
  ]);
  const { proc, out, flags } = s;
  const project = isProjectCommand(command);
  const start = startDir(() => proc.cwd(), flags.cwd, proc.env, project);
  let cwd = start;
  if (project) {
    const root = findProjectRoot(start);
    if (root && root !== start) {
      out.info(`using the plugin at ${root}`);
      cwd = root;
    }
  }
  return {
    cwd,
    start,
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

/** What one run of the CLI holds: the output of the command that ran (the boundary reports to it), and the exit code. */
interface Run {
  out?: Output;
  code: number;
  /** The reader of stdout or stderr went away: nothing more is written. */
  readerGone?: boolean;
}

/** Runs the command commander chose: load its module, run it, render or print its JSON, set the code. */
function dispatcher(proc: Process, signal: AbortSignal, run: Run): Runner {
  return async (load, opts, command) => {
    const flags = globalFlags(command);
    // The command's module loads while the output and the context are set up.
    const loading = load();
    loading.catch(() => undefined);
    const out = (run.out = await outputFor(proc, flags));
    if (run.readerGone) out.mute();
    const ctx = await contextFor(command, opts, { proc, out, flags, signal });
    // validate/test/build/check over the plugins of a workspace (docs/workspace.md).
    const { workspaceRun } = await import('./workspace-route.js');
    const wsOpts = await workspaceRun(command, opts as Record<string, unknown>, ctx);
    const mod = wsOpts ? ((await import('../commands/workspace.js')) as unknown as CommandModule<unknown, unknown>) : await loading;
    const result = await mod.run(wsOpts ?? opts, ctx).catch((err: unknown) => {
      if (!flags.json) mod.renderError?.(err, ctx); // what the error carries, before its one line
      throw err;
    });
    // A command that already printed its JSON document (marketplace serve) returns undefined.
    if (flags.json) {
      if (result !== undefined) out.writeJson(result as object);
    } else mod.render?.(result, ctx);
    run.code = mod.exitCode?.(result) ?? ExitCode.ok;
  };
}

/**
 * Commander throws instead of exiting, and its help and version text go to
 * proc's streams; under --json that text is collected for one JSON document.
 */
function routeHelpOutput(program: Command, proc: Process, json: boolean, name: string): () => string {
  let printed = '';
  const configure = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({
      writeOut: (s) => (json ? void (printed += renameProgram(s, name)) : proc.stdout.write(renameProgram(s, name))),
      writeErr: (s) => (json ? void (printed += renameProgram(s, name)) : proc.stderr.write(renameProgram(s, name))),
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
  const run: Run = { code: ExitCode.ok };
  const signals = trapSignals(proc);
  // A reader that went away (`| head -1`) ends the run quietly: no stack, no message, exit 141.
  const pipes = watchClosedPipes([proc.stdout, proc.stderr], () => {
    run.readerGone = true;
    run.out?.mute();
    signals.abort(new Error('the reader of the output went away'));
  });
  const version = cliVersion();
  const name = programName(argv[1]);
  const program = createProgram(version, dispatcher(proc, signals.signal, run), name);
  const printed = routeHelpOutput(program, proc, early.json, name);
  try {
    await refuseUnknownHelpTopic(program, argv);
    await program.parseAsync(argv);
  } catch (err) {
    await pipes.settle();
    // A run SIGTERM cancelled exits 143, its --json document saying so.
    if (err instanceof CliError && signals.received() === 'SIGTERM') terminatedBySigterm(err);
    if (pipes.gone) run.code = READER_GONE_EXIT;
    else if (isPlainHelp(err, early.json)) run.code = ExitCode.ok;
    else {
      // The error reporting is loaded only when there is something to report.
      const { report, reportJsonHelp } = await import('./report.js');
      const out = run.out ?? (await outputFor(proc, early));
      run.code = early.json && err instanceof CommanderError ? reportJsonHelp(err, { program, argv, printed: printed(), version, out }) : report(err, out);
    }
  } finally {
    signals.release();
  }
  await pipes.settle();
  if (run.code === ExitCode.cancelled && signals.received() === 'SIGTERM') run.code = ExitCode.terminated;
  return pipes.gone ? READER_GONE_EXIT : run.code;
}

/** Help or the version, printed already (not under --json, where they become a document). */
function isPlainHelp(err: unknown, json: boolean): boolean {
  if (json || !(err instanceof CommanderError)) return false;
  return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version';
}

/** `help nonexist` is an unknown command (exit 2, did-you-mean), not the full help. */
async function refuseUnknownHelpTopic(program: Command, argv: string[]): Promise<void> {
  const args = argv.slice(2).filter((a) => !a.startsWith('-'));
  if (args[0] !== 'help' || args[1] === undefined) return;
  let cmd: Command = program;
  for (const name of args.slice(1)) {
    const next = cmd.commands.find((c) => c.name() === name || c.aliases().includes(name));
    if (!next) {
      const names = cmd.commands.map((c) => c.name());
      const { didYouMean } = await import('../core/suggest.js');
      throw new UsageError(`unknown command '${name}'${didYouMean(name, names)}`, { hint: `the commands are: ${names.join(', ')}` });
    }
    cmd = next;
  }
}
