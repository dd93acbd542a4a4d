/**
 * Run the CLI in-process through `main(argv, proc)`: the same program, the
 * same error boundary and exit codes as the bin, without a Node start-up per
 * call. Bad-input and flag matrices use this; the bin itself, signals, TTYs
 * and start-up are tested with the spawned runCli.
 */
import { PassThrough, Readable } from 'node:stream';
import { main, type Process } from '../../src/cli/main.js';
import type { CliResult } from './run-cli.js';

class Capture extends PassThrough {
  chunks: Buffer[] = [];
  isTTY = false;
  constructor() {
    super();
    this.on('data', (c: Buffer) => this.chunks.push(c));
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export async function runMain(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', CI: '1', PLEXICHAT_CACHE_DIR: 'off' };
  delete env.FORCE_COLOR;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const stdout = new Capture();
  const stderr = new Capture();
  const stdin = Readable.from(opts.input === undefined ? [] : [Buffer.from(opts.input)]) as Readable & { isTTY?: boolean };
  const cwd = opts.cwd ?? process.cwd();
  const proc: Process = {
    env,
    cwd: () => cwd,
    stdin,
    stdout,
    stderr,
    on: () => proc,
    off: () => proc,
  };
  const exitCode = await main(['node', 'plexichat-plugin', ...args], proc);
  return { exitCode, stdout: stdout.text(), stderr: stderr.text() };
}
