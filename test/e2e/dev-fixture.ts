/**
 * Shared by the dev tests: a small plugin project, processes started in their
 * own process group, and a reader of their NDJSON events with bounded waits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { BIN } from '../helpers/run-cli.js';
import { tempDir, type Tree } from '../helpers/temp-project.js';
import { sdkPythonPath } from '../../src/python/pytest.js';

export const MANIFEST = `plugin:
  name: "dev_counter"
  version: "1.0.0"
  author: "Test Author"
  description: "Counts messages for the dev tests"
metadata:
  category: "utility"
  tags: ["utility"]
  license: "MIT"
dependencies:
  core: ">=2.0.0"
  python: ">=3.8"
  packages: []
permissions:
  required:
    - message_read
  optional: []
resources:
  limits:
    cpu: "500m"
    memory: "1Gi"
  requests:
    cpu: "50m"
    memory: "64Mi"
hooks:
  - message_sent
endpoints:
  - /api/v1/dev_counter/count
  - /api/v1/dev_counter/boom
settings:
  greeting: "hello"
`;

export function pluginSource(version: string): string {
  return `import logging

from plexichat_plugin_sdk import Plugin, endpoint, hook
from plexichat_plugin_sdk.security import require_permission

logger = logging.getLogger(__name__)
VERSION = "${version}"


class DevCounterPlugin(Plugin):
    @hook("message_sent")
    def on_message(self, data):
        count = self.storage.get("count", 0) + 1
        self.storage.set("count", count)
        logger.info("counted message %d", count)
        return count

    @endpoint("/api/v1/dev_counter/count", methods=["GET"])
    @require_permission("message_read")
    def count(self, request):
        return {
            "count": self.storage.get("count", 0),
            "version": VERSION,
            "user": request.user_id,
            "greeting": self.settings.get("greeting"),
        }

    @endpoint("/api/v1/dev_counter/boom", methods=["GET"])
    def boom(self, request):
        raise RuntimeError("boom went the handler")
`;
}

export function counterTree(version = 'v1'): Tree {
  return {
    config: { 'plugin.yaml': MANIFEST },
    src: { '__init__.py': '', 'plugin.py': pluginSource(version) },
    tests: { '__init__.py': '' },
  };
}

export async function counterProject(version = 'v1'): Promise<string> {
  return tempDir(counterTree(version), 'pxp-dev-');
}

/** Replace a file the way editors do: write a temp file next to it, then rename. */
export async function atomicWrite(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
}

export type DevEvent = { event: string; [key: string]: unknown };

/** A process whose stdout is NDJSON events. */
export class EventProcess {
  readonly events: DevEvent[] = [];
  stderr = '';
  stdoutText = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<() => void> = [];

  constructor(readonly child: ChildProcess) {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      this.stdoutText += `${line}\n`;
      try {
        this.events.push(JSON.parse(line) as DevEvent);
      } catch {
        // not an event line (human output)
      }
      this.wake();
    });
    child.stderr!.on('data', (b: Buffer) => {
      this.stderr += b.toString('utf8');
      this.wake();
    });
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.wake();
        resolve({ code, signal });
      }),
    );
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The first event at index >= from that matches, waiting at most timeoutMs. */
  async waitFor(match: (e: DevEvent) => boolean, opts: { from?: number; timeoutMs?: number } = {}): Promise<DevEvent> {
    const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
    let i = opts.from ?? 0;
    for (;;) {
      for (; i < this.events.length; i++) if (match(this.events[i])) return this.events[i];
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`process exited (${this.child.exitCode ?? this.child.signalCode}) before the event; stderr:\n${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for an event; got: ${this.events.map((e) => e.event).join(', ')}\nstderr:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Text on stderr matching re, waiting at most timeoutMs. */
  async waitForStderr(re: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.stderr)) {
      if (this.child.exitCode !== null) throw new Error(`process exited before ${re}; stderr:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; stderr:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.stderr;
  }

  count(event: string, from = 0): number {
    return this.events.slice(from).filter((e) => e.event === event).length;
  }

  /** Stop with a signal; resolves to the exit. Kills the whole group if it has not exited in 5 s. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const t = setTimeout(() => killGroup(this.child.pid!, 'SIGKILL'), 5_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(t);
    }
  }
}

export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // gone
  }
}

/** True while any process of the group is alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Wait (bounded) until no process of the group is left; returns whether it emptied. */
export async function groupGone(pgid: number, timeoutMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

const TRACKED: EventProcess[] = [];

/** Every process started here is killed (by group) when the test file ends. */
export function cleanupAll(): void {
  for (const p of TRACKED.splice(0)) if (p.child.pid) killGroup(p.child.pid, 'SIGKILL');
}

/** The Python host started directly, as a container would, in its own process group. */
export function startHost(project: string, args: string[] = [], env: Record<string, string> = {}): EventProcess {
  const child = spawn('python3', ['-m', 'plexichat_plugin_sdk.host', '--project', project, ...args], {
    env: { ...process.env, PYTHONPATH: sdkPythonPath(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const p = new EventProcess(child);
  TRACKED.push(p);
  return p;
}

/** `plexichat-plugin <args>` in its own process group, stdout and stderr piped. */
export function startCli(cwd: string, args: string[], env: Record<string, string> = {}): EventProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', CI: '1', PLEXICHAT_CACHE_DIR: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const p = new EventProcess(child);
  TRACKED.push(p);
  return p;
}

export interface HttpAnswer {
  status: number;
  body: string;
  headers: Headers;
  json<T = Record<string, unknown>>(): T;
}

/** One HTTP request to 127.0.0.1. */
export async function http(url: string, init: RequestInit = {}): Promise<HttpAnswer> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const body = await r.text();
  return { status: r.status, body, headers: r.headers, json: <T>() => JSON.parse(body) as T };
}
