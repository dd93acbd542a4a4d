/**
 * The Python plugin host as a child process: started with `--control stdin`,
 * its stdout read as NDJSON events, commands written to its stdin. Because
 * the host exits when its stdin ends, it cannot outlive this process even
 * when this one is killed without a chance to clean up.
 */
import readline from 'node:readline';
import { startPython, type PythonExit, type StartedPython } from '../python/spawn.js';
import { buildPythonPath, MANIFEST_JSON_ENV, sdkPythonPath } from '../python/pytest.js';

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
  user?: string;
  permissions?: string[];
  keepState?: boolean;
  noReload?: boolean;
  /** The manifest as parsed by the CLI, handed over as JSON. */
  manifest?: unknown;
  env: NodeJS.ProcessEnv;
}

export type HostCommand =
  | { op: 'reload'; manifest?: unknown; changed: string[]; diagnostics?: unknown[] }
  | { op: 'reject'; error: Record<string, unknown>; diagnostics: unknown[]; changed: string[] }
  | { op: 'diagnostics'; diagnostics: unknown[]; changed: string[] }
  | { op: 'stop' };

export function hostArgs(o: HostOptions): string[] {
  const args = ['-m', 'plexichat_plugin_sdk.host', '--project', o.project, '--host', o.host, '--port', String(o.port), '--control', 'stdin'];
  if (o.allowRemote) args.push('--allow-remote');
  if (o.user !== undefined) args.push('--user', o.user);
  if (o.permissions !== undefined) args.push('--permissions', o.permissions.join(','));
  if (o.keepState) args.push('--keep-state');
  if (o.noReload) args.push('--no-reload');
  return args;
}

export class HostProcess {
  private readonly started: StartedPython;
  private stopping = false;
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
    };
    if (opts.manifest !== undefined) env[MANIFEST_JSON_ENV] = JSON.stringify(opts.manifest);
    else delete env[MANIFEST_JSON_ENV];
    this.started = startPython(opts.python, hostArgs(opts), { env, cwd: opts.project, stdin: 'pipe' });
    const { child } = this.started;
    child.stdin?.on('error', () => {
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
    this.exit = this.started.exit;
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

  send(cmd: HostCommand): void {
    const stdin = this.started.child.stdin;
    if (!stdin || stdin.destroyed || this.exited) return;
    stdin.write(`${JSON.stringify(cmd)}\n`);
  }

  /**
   * Stop: end stdin and send SIGTERM; SIGKILL after graceMs. Resolves once the
   * process has exited.
   */
  async stop(graceMs = 700): Promise<PythonExit> {
    this.stopping = true;
    const { child } = this.started;
    if (!this.exited) {
      child.stdin?.end();
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      t.unref();
      const r = await this.exit;
      clearTimeout(t);
      return r;
    }
    return this.exit;
  }
}
