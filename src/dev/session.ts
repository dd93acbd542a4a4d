/**
 * One `dev` session: the plugin host process, the watcher, and the reload
 * loop between them. On a batch of saves the project is validated exactly as
 * `validate` does; errors in the manifest keep the last good version serving
 * (the host is told to report them), anything else is handed to the host to
 * load, which keeps the old version itself when the new one fails to import.
 * Reloads never overlap: saves made during one are collected into the next.
 * A host that dies is started again (at most three times in ten seconds,
 * then on the next save).
 */
import { loadManifest, MANIFEST_PATH, type Diagnostic, type ParsedManifest } from '../core/manifest/index.js';
import { validateProject } from '../core/validate.js';
import { WorkFailedError } from '../errors.js';
import type { Clock } from '../context.js';
import { HostProcess, type HostEvent, type HostOptions, type ReadyEvent } from './host-process.js';
import { watchProject, type ProjectWatcher } from './watcher.js';

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
  /** Reload requests handed to the host (or rejected before it). */
  reloads = 0;
  url = '';

  constructor(
    private readonly o: SessionOptions,
    initial: Check,
  ) {
    this.port = o.port;
    this.data = initial.data;
  }

  /** Start the host and (unless --no-reload) the watcher; resolves with the host's ready event. */
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
      });
      await this.watcher.ready;
    }
    return ready;
  }

  private spawn(): Promise<ReadyEvent> {
    return new Promise<ReadyEvent>((resolve, reject) => {
      let ready = false;
      const host = new HostProcess(
        { ...this.o, port: this.port, manifest: this.data },
        (e) => {
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
          this.o.emit(e);
          if (e.event === 'ready' && !ready) {
            ready = true;
            resolve(e as ReadyEvent);
          }
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
        if (!ready) {
          const tail = host.stderrLines.slice(-5).join('\n');
          reject(
            new WorkFailedError(
              r.error === 'ENOENT' ? `cannot run ${this.o.python} (not found)` : `the plugin host exited before it was ready (${r.code ?? r.signal ?? r.error})`,
              { code: 'DEV_HOST_FAILED', hint: tail ? `its last output: ${tail}` : 'run with --verbose to see the host output' },
            ),
          );
          return;
        }
        if (host.stopRequested || this.stopped) return;
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

  private async reload(changed: string[]): Promise<void> {
    let check: Check;
    try {
      check = await checkProject(this.o.project, this.o.python, this.o.env);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      check = {
        diagnostics: [],
        blocking: [{ severity: 'error', code: 'MANIFEST_UNREADABLE', message, file: MANIFEST_PATH, line: 0, column: 0 }],
      };
    }
    if (this.stopped) return;
    this.reloads += 1;
    if (this.needsStart) {
      // The host gave up after repeated crashes: a save starts it again.
      if (check.blocking.length === 0) {
        this.data = check.data;
        this.needsStart = false;
        this.crashes = [];
        this.restart();
      }
      return;
    }
    const host = this.host;
    if (!host || host.exited) return;
    const result = new Promise<HostEvent>((resolve) => {
      this.waitingResult = resolve;
      const t = setTimeout(() => {
        if (this.waitingResult === resolve) this.waitingResult = undefined;
        resolve({ event: 'timeout' });
      }, RESULT_TIMEOUT_MS);
      t.unref();
    });
    if (check.blocking.length) {
      const first = check.blocking[0]!;
      const more = check.blocking.length > 1 ? ` (and ${check.blocking.length - 1} more)` : '';
      host.send({
        op: 'reject',
        error: { kind: 'validation', message: `${first.code} ${first.message}${more}`, file: first.file, line: first.line || undefined, column: first.column || undefined },
        diagnostics: check.diagnostics,
        changed,
      });
    } else {
      this.data = check.data;
      host.send({ op: 'reload', manifest: check.data, changed, diagnostics: check.diagnostics });
    }
    await result;
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
