/**
 * The Python plugin host as a child process: started with `--control fd:3`,
 * its stdout read as NDJSON events, commands written to its fd 3 (a pipe
 * private to the host: it moves it out of the plugin's reach before loading
 * any plugin code, and the plugin's stdin is /dev/null, so plugin code that
 * reads stdin gets end-of-file, never a command). Because the host exits when
 * that channel ends, it cannot outlive this process even when this one is
 * killed without a chance to clean up.
 *
 * It runs in a session and process group of its own, so that stopping it
 * stops whatever the plugin started too (./process-tree.ts): children in its
 * group, children that called setsid(), daemons that forked twice. Those may
 * hold the host's output pipes or its port; none of them keeps `dev` waiting.
 */
import { randomBytes } from 'node:crypto';
import readline from 'node:readline';
import { startPython, type PythonExit, type StartedPython } from '../python/spawn.js';
import { buildPythonPath, MANIFEST_JSON_ENV, sdkPythonPath } from '../python/pytest.js';
import { belongingTo, MARKER_ENV, signalAll } from './process-tree.js';

/** How long the host's output may take to drain after it exited, before its pipes are let go. */
const DRAIN_MS = 200;

export interface HostEvent {
  event: string;
  time?: string;
  seq?: number;
  [key: string]: unknown;
}

export interface ReadyEvent extends HostEvent {
  event: 'ready';
  url: string;
  port: number;
  loaded: boolean;
}

export interface HostOptions {
  python: string;
  project: string;
  host: string;
  port: number;
  allowRemote?: boolean;
  /** Host names (besides this machine's own) whose requests the host answers. */
  allowHosts?: string[];
  user?: string;
  permissions?: string[];
  keepState?: boolean;
  noReload?: boolean;
  /** The manifest as parsed by the CLI, handed over as JSON. */
  manifest?: unknown;
  env: NodeJS.ProcessEnv;
}

/**
 * `reject` and `validated` carry events the CLI reported itself: the host keeps
 * what they say for the console (and shows them in its live log) but does not
 * echo them on stdout; the CLI is the one owner of the stream it prints.
 */
export type HostCommand =
  { op: 'reload'; manifest?: unknown; changed: string[] } | { op: 'reject'; event: HostEvent } | { op: 'validated'; event: HostEvent } | { op: 'stop' };

export function hostArgs(o: HostOptions): string[] {
  const args = ['-m', 'plexichat_plugin_sdk.host', '--project', o.project, '--host', o.host, '--port', String(o.port), '--control', 'fd:3'];
  if (o.allowRemote) args.push('--allow-remote');
  for (const name of o.allowHosts ?? []) args.push('--allow-host', name);
  if (o.user !== undefined) args.push('--user', o.user);
  if (o.permissions !== undefined) args.push('--permissions', o.permissions.join(','));
  if (o.keepState) args.push('--keep-state');
  if (o.noReload) args.push('--no-reload');
  return args;
}

export class HostProcess {
  private readonly started: StartedPython;
  private stopping = false;
  /** In the host's environment and so in every process it starts that keeps it: found after reparenting too. */
  private readonly marker = randomBytes(16).toString('hex');
  /** Lines the host wrote to stderr (its own warnings, crashes before logging was set up). */
  readonly stderrLines: string[] = [];
  readonly exit: Promise<PythonExit>;

  constructor(
    opts: HostOptions,
    private readonly onEvent: (e: HostEvent) => void,
    private readonly onStderr: (line: string) => void,
  ) {
    const env: NodeJS.ProcessEnv = {
      ...opts.env,
      PYTHONPATH: buildPythonPath([sdkPythonPath()], opts.env.PYTHONPATH),
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      [MARKER_ENV]: this.marker,
    };
    if (opts.manifest !== undefined) env[MANIFEST_JSON_ENV] = JSON.stringify(opts.manifest);
    else delete env[MANIFEST_JSON_ENV];
    this.started = startPython(opts.python, hostArgs(opts), { env, cwd: opts.project, stdin: 'ignore', fd3: true, detached: true });
    const { child } = this.started;
    // The pipes close only when every process holding them has ended: a child of the
    // plugin may hold them on. Once the host itself has exited, they get a short drain.
    this.exit = new Promise<PythonExit>((resolve) => {
      void this.started.exit.then(resolve);
      child.once('exit', (code, signal) => {
        const t = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          resolve({ code, signal });
        }, DRAIN_MS);
        t.unref();
        void this.started.exit.then(() => clearTimeout(t));
      });
    });
    this.control?.on('error', () => {
      // the host went away; its exit is reported through `exit`
    });
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      let e: HostEvent;
      try {
        e = JSON.parse(line) as HostEvent;
      } catch {
        this.onStderr(line);
        return;
      }
      if (e && typeof e === 'object' && typeof e.event === 'string') this.onEvent(e);
    });
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      this.stderrLines.push(line);
      if (this.stderrLines.length > 200) this.stderrLines.shift();
      this.onStderr(line);
    });
  }

  get pid(): number | undefined {
    return this.started.child.pid;
  }

  get exited(): boolean {
    const c = this.started.child;
    return c.exitCode !== null || c.signalCode !== null;
  }

  /** True once stop() was called, so an exit is expected. */
  get stopRequested(): boolean {
    return this.stopping;
  }

  /** The control channel: the host's fd 3. */
  private get control(): (NodeJS.WritableStream & { destroyed?: boolean; on(e: 'error', f: () => void): unknown }) | undefined {
    return (this.started.child.stdio[3] ?? undefined) as (NodeJS.WritableStream & { destroyed?: boolean }) | undefined;
  }

  send(cmd: HostCommand): void {
    const control = this.control;
    if (!control || control.destroyed || this.exited) return;
    control.write(`${JSON.stringify(cmd)}\n`);
  }

  /**
   * Stop: end stdin and send SIGTERM to the host and to everything the plugin
   * started; after graceMs (or once the host has exited) SIGKILL to whatever of
   * it is left. Resolves once the host has exited.
   */
  async stop(graceMs = 700): Promise<PythonExit> {
    this.stopping = true;
    const { child } = this.started;
    const pid = child.pid;
    if (pid === undefined) return this.exit;
    if (this.exited) {
      this.reap();
      return this.exit;
    }
    const started = belongingTo(pid, undefined, this.marker);
    this.control?.end();
    child.kill('SIGTERM');
    signalAll(started, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      timer.unref();
    });
    const hostExited = new Promise<void>((resolve) => (this.exited ? resolve() : child.once('exit', () => resolve())));
    await Promise.race([hostExited, graceOver]);
    clearTimeout(timer);
    // Scanned again: what was started meanwhile, and daemons the host adopted.
    signalAll([...started, ...belongingTo(pid, undefined, this.marker)], 'SIGKILL', pid);
    if (!this.exited) child.kill('SIGKILL');
    return this.exit;
  }

  /** After the host exited by itself: end what is left of its process group and session. */
  reap(): void {
    const pid = this.started.child.pid;
    if (pid !== undefined) signalAll(belongingTo(pid, undefined, this.marker), 'SIGKILL', pid);
  }
}
