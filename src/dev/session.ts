/**
 * One `dev` session: the plugin host process, the watcher, and the reload
 * loop between them. On a batch of saves the manifest is read with the rules
 * of `validate`; errors there keep the last good version serving (the host is
 * told to report them), anything else is handed to the host to load, which
 * keeps the old version itself when the new one fails to import. The full
 * validation (the code scan) follows as a `validated` event. Reloads never
 * overlap: saves made during one are collected into the next. A host that
 * dies is started again (at most three times in ten seconds, then on the
 * next save).
 */
import { loadManifest, MANIFEST_PATH, type Diagnostic, type ParsedManifest } from '../core/manifest/index.js';
import { validateProject } from '../project/validate.js';
import { UsageError, WorkFailedError } from '../errors.js';
import type { Clock } from '../io/context.js';
import { HostProcess, type HostEvent, type HostOptions, type ReadyEvent } from './host-process.js';
import { watchProject, type ProjectWatcher } from './watcher.js';
import { diffFindings, withoutBlindSpots } from './findings.js';

export interface SessionOptions extends Omit<HostOptions, 'manifest'> {
  /** Called with every event, the host's and the session's own (host_exited, stopped). */
  emit(e: HostEvent): void;
  /** A line the host wrote to stderr. */
  stderr(line: string): void;
  clock: Clock;
  quietMs?: number;
}

export interface Check {
  diagnostics: Diagnostic[];
  /** Errors that keep the last good version serving. */
  blocking: Diagnostic[];
  /** The manifest as data, for the host (absent when it does not parse). */
  data?: Record<string, unknown>;
}

const RESULT_TIMEOUT_MS = 60_000;
const CRASH_WINDOW_MS = 10_000;
const MAX_CRASHES = 3;

/**
 * Errors in the manifest block a (re)load; so do Python syntax errors and a
 * missing src/, which no load survives. The code cross-checks (an undeclared
 * permission, say) are shown on every reload but do not stop it: the plugin
 * runs, and `validate`/`build` hold the line.
 */
export function isBlocking(d: Diagnostic): boolean {
  return d.severity === 'error' && (d.file === MANIFEST_PATH || d.code === 'PYTHON_SYNTAX' || d.code === 'MISSING_SOURCE');
}

/** Validate the project the way `validate` does, keeping the manifest's data for the host. */
export async function checkProject(project: string, python: string, env: NodeJS.ProcessEnv): Promise<Check> {
  let parsed: ParsedManifest | undefined;
  const loading = loadManifest(project).then((p) => (parsed = p));
  // validateProject awaits it after starting the scan; until then a rejection must not go unhandled.
  loading.catch(() => undefined);
  const report = await validateProject(project, { env, python, manifest: loading });
  const diagnostics = [...report.errors, ...report.warnings];
  return { diagnostics, blocking: report.errors.filter(isBlocking), data: parsed?.data };
}

export class DevSession {
  private host?: HostProcess;
  private watcher?: ProjectWatcher;
  private port: number;
  private data: Record<string, unknown> | undefined;
  private busy = false;
  private queued = new Set<string>();
  private crashes: number[] = [];
  private stopped = false;
  private waitingResult?: (e: HostEvent) => void;
  private needsStart = false;
  private started = false;
  private batches = 0;
  private validating = false;
  private pendingValidation?: { changed: string[]; seq: number };
  /** The findings of the last validated event (the next one reports what changed). */
  private findings: Diagnostic[] | undefined;
  /** What serves now, as the host's ready/reloaded events said. */
  private serving: { plugin: string; version: string; generation: number } | null = null;
  /** Reload requests handed to the host (or rejected before it). */
  reloads = 0;
  url = '';

  constructor(
    private readonly o: SessionOptions,
    /** The manifest as data (parsed by the CLI), for the first load. */
    data: Record<string, unknown> | undefined,
  ) {
    this.port = o.port;
    this.data = data;
  }

  /**
   * The full validation's findings: a `validated` event with the findings that are
   * new and those resolved since the last report (all of them are new the first time).
   */
  reportDiagnostics(diagnostics: Diagnostic[], changed: string[] = []): void {
    const before = this.findings ?? [];
    const current = withoutBlindSpots(diagnostics, before);
    const { added, resolved } = diffFindings(before, current);
    this.findings = current;
    const event: HostEvent = { event: 'validated', time: now(), diagnostics: current, changed, added, resolved };
    this.o.emit(event);
    this.host?.send({ op: 'validated', event });
  }

  /** Follows what serves from the host's events, for the reload_failed events the CLI reports itself. */
  private track(e: HostEvent): void {
    if ((e.event === 'ready' && e.loaded) || e.event === 'reloaded') {
      this.serving = { plugin: String(e.plugin), version: String(e.version), generation: Number(e.generation) };
    }
  }

  /**
   * Start the host and (unless --no-reload) the watcher; resolves with the host's
   * ready event, which is emitted only once both run.
   */
  async start(): Promise<ReadyEvent> {
    const ready = await this.spawn();
    this.port = ready.port;
    this.url = ready.url;
    if (!this.o.noReload && !this.stopped) {
      this.watcher = watchProject({
        root: this.o.project,
        quietMs: this.o.quietMs,
        onBatch: (changed) => this.onChange(changed),
        onError: (err) => this.o.emit({ event: 'log', level: 'warning', logger: 'watcher', message: err.message, time: now() }),
        onLost: () =>
          this.o.emit({
            event: 'log',
            level: 'error',
            logger: 'watcher',
            message: `the project folder ${this.o.project} was moved or deleted: saves are not seen and the last loaded version keeps serving; move it back, or stop dev (Ctrl-C) and start it in the folder's new place`,
            time: now(),
          }),
        onBack: () =>
          this.o.emit({
            event: 'log',
            level: 'info',
            logger: 'watcher',
            message: `the project folder ${this.o.project} is back: watching it again`,
            time: now(),
          }),
      });
      await this.watcher.ready;
    }
    this.started = true;
    if (!this.stopped) this.o.emit(ready);
    return ready;
  }

  private spawn(): Promise<ReadyEvent> {
    return new Promise<ReadyEvent>((resolve, reject) => {
      let ready = false;
      const host = new HostProcess(
        { ...this.o, port: this.port, manifest: this.data },
        (e) => {
          this.track(e);
          if (e.event === 'fatal') {
            const err = (e.error ?? {}) as { code?: string; message?: string };
            const inUse = err.code === 'PORT_IN_USE';
            reject(
              new WorkFailedError(inUse ? `port ${this.port} on ${this.o.host} is already in use` : String(err.message ?? 'the plugin host could not start'), {
                code: inUse ? 'PORT_IN_USE' : 'DEV_HOST_FAILED',
                hint: inUse ? 'choose another --port, or --port 0 for a free one' : 'run with --verbose to see the host output',
              }),
            );
            return;
          }
          if ((e.event === 'reloaded' || e.event === 'reload_failed') && this.waitingResult && !e.initial) {
            const w = this.waitingResult;
            this.waitingResult = undefined;
            this.o.emit(e);
            w(e);
            return;
          }
          if (e.event === 'ready' && !ready) {
            ready = true;
            // The first ready is emitted by start(), once the watcher runs too:
            // a save made right after `ready` must not be missed.
            if (this.started) this.o.emit(e);
            resolve(e as ReadyEvent);
            return;
          }
          this.o.emit(e);
        },
        (line) => this.o.stderr(line),
      );
      this.host = host;
      void host.exit.then((r) => {
        if (this.waitingResult) {
          const w = this.waitingResult;
          this.waitingResult = undefined;
          w({ event: 'host_exited' });
        }
        if (!ready && r.code === 2 && !this.started) {
          // The host refused its flags (argparse): a usage error, in its own words, on one line.
          const said = host.stderrLines.filter((l) => / error: /.test(l)).at(-1) ?? host.stderrLines.at(-1) ?? 'the plugin host refused its options';
          reject(new UsageError(said.replace(/^.*? error: /, ''), { hint: 'see plexichat-plugin dev --help' }));
          return;
        }
        if (!ready) {
          const tail = host.stderrLines.slice(-5).join('\n');
          reject(
            new WorkFailedError(
              r.error === 'ENOENT'
                ? `cannot run ${this.o.python} (not found)`
                : `the plugin host exited before it was ready (${r.code ?? r.signal ?? r.error})`,
              { code: 'DEV_HOST_FAILED', hint: tail ? `its last output: ${tail}` : 'run with --verbose to see the host output' },
            ),
          );
          return;
        }
        if (host.stopRequested || this.stopped) return;
        // What the plugin started would hold the port and the pipes: it goes with the host.
        host.reap();
        this.onCrash(r.code, r.signal);
      });
    });
  }

  private onCrash(code: number | null, signal: NodeJS.Signals | null): void {
    const t = this.o.clock.now();
    this.crashes = [...this.crashes.filter((c) => t - c < CRASH_WINDOW_MS), t];
    const restarting = this.crashes.length <= MAX_CRASHES;
    this.o.emit({ event: 'host_exited', code, signal, restarting, time: now() });
    if (restarting) this.restart();
    else this.needsStart = true;
  }

  private restart(): void {
    this.spawn().then(
      (r) => (this.url = r.url),
      (err: Error) => {
        this.needsStart = true;
        this.o.emit({ event: 'log', level: 'error', logger: 'dev', message: `the plugin host did not start again: ${err.message}`, time: now() });
      },
    );
  }

  private onChange(changed: string[]): void {
    if (this.stopped) return;
    if (this.busy) {
      for (const c of changed) this.queued.add(c);
      return;
    }
    this.busy = true;
    void this.reload(changed).finally(() => {
      this.busy = false;
      if (this.queued.size && !this.stopped) {
        const next = [...this.queued].sort();
        this.queued.clear();
        this.onChange(next);
      }
    });
  }

  /**
   * The fast path decides: the manifest is parsed and checked by the same rules
   * as `validate` (no Python needed), and only errors there keep the old version.
   * The host then loads the new code (its own import errors are reported with
   * file:line). The full validation, code cross-checks included, follows
   * (`validated`), so a save is not held up by the code scan.
   */
  private async reload(changed: string[]): Promise<void> {
    const seq = ++this.batches;
    let parsed: ParsedManifest | undefined;
    let unreadable: string | undefined;
    try {
      parsed = await loadManifest(this.o.project);
    } catch (err) {
      unreadable = err instanceof Error ? err.message : String(err);
    }
    if (this.stopped) return;
    this.reloads += 1;
    const manifestErrors = (parsed?.diagnostics ?? []).filter((d) => d.severity === 'error');
    let blocking: Diagnostic[] = manifestErrors;
    let diagnostics: Diagnostic[] = parsed?.diagnostics ?? [];
    if (unreadable !== undefined) {
      blocking = [{ severity: 'error', code: 'MANIFEST_UNREADABLE', message: unreadable, file: MANIFEST_PATH, line: 0, column: 0 }];
      diagnostics = blocking;
    } else if (manifestErrors.length) {
      // Not latency-bound: report exactly what `validate` reports.
      const full = await checkProject(this.o.project, this.o.python, this.o.env).catch(() => undefined);
      if (full) {
        diagnostics = full.diagnostics;
        blocking = full.blocking.length ? full.blocking : manifestErrors;
      }
      if (this.stopped) return;
    }
    if (this.needsStart) {
      // The host gave up after repeated crashes: a good save starts it again.
      if (blocking.length === 0) {
        this.data = parsed?.data;
        this.needsStart = false;
        this.crashes = [];
        this.restart();
        this.validateLater(changed, seq);
      }
      return;
    }
    const host = this.host;
    if (!host || host.exited) return;
    if (blocking.length) {
      // The CLI found the errors, so it reports them; the host only keeps serving the last good version.
      const first = blocking[0];
      const more = blocking.length > 1 ? ` (and ${blocking.length - 1} more)` : '';
      const error = {
        kind: 'validation',
        message: `${first.code} ${first.message}${more}`,
        file: first.file,
        line: first.line || undefined,
        column: first.column || undefined,
      };
      const event: HostEvent = { event: 'reload_failed', time: now(), initial: false, error, diagnostics, changed, serving: this.serving };
      this.o.emit(event);
      host.send({ op: 'reject', event });
      return;
    }
    const result = new Promise<HostEvent>((resolve) => {
      this.waitingResult = resolve;
      const t = setTimeout(() => {
        if (this.waitingResult === resolve) this.waitingResult = undefined;
        resolve({ event: 'timeout' });
      }, RESULT_TIMEOUT_MS);
      t.unref();
    });
    this.data = parsed?.data;
    host.send({ op: 'reload', manifest: this.data, changed });
    await result;
    this.validateLater(changed, seq);
  }

  /** The full validation after a reload; one at a time, and only the latest batch's is reported. */
  validateLater(changed: string[], seq: number): void {
    if (this.validating) {
      this.pendingValidation = { changed, seq };
      return;
    }
    this.validating = true;
    void checkProject(this.o.project, this.o.python, this.o.env)
      .then(
        (check) => {
          if (!this.stopped && seq === this.batches) this.reportDiagnostics(check.diagnostics, changed);
        },
        () => undefined,
      )
      .finally(() => {
        this.validating = false;
        const next = this.pendingValidation;
        this.pendingValidation = undefined;
        if (next && !this.stopped) this.validateLater(next.changed, next.seq);
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.watcher?.close(), this.host?.stop()]);
    this.o.emit({ event: 'stopped', reloads: this.reloads, time: now() });
  }
}

function now(): string {
  return new Date().toISOString();
}
