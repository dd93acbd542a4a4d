/**
 * Run one operation over many plugins of a workspace, in-process: at most
 * `jobs` at once (default: the cores), each with its own context (its
 * folder as cwd, the shared libraries on PYTHONPATH, its own output, kept
 * in memory). A plugin's output is printed whole, under its heading, in
 * workspace order as soon as it and the plugins before it are done, so
 * the log reads plugin by plugin whatever finished first. A plugin whose
 * operation throws a user error (CliError) fails alone: its error is its
 * result and the others still run. A cancellation ends them all.
 */
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { CancelledError, CliError } from '../errors.js';
import type { Ctx } from '../io/context.js';
import { Output } from '../io/output.js';
import type { Member } from './members.js';

/** What one plugin's run gave. */
export interface PluginRun<R> {
  name: string;
  /** The folder relative to the workspace root. */
  path: string;
  exitCode: number;
  /** One line for the summary table. */
  summary: string;
  durationMs: number;
  /** The operation's own result (absent when it threw). */
  result?: R;
  error?: { code: string; message: string; hint?: string };
}

/** What an operation returns for one plugin. */
export interface Done<R> {
  exitCode: number;
  summary: string;
  result: R;
}

export type Operation<R> = (m: Member, ctx: Ctx) => Promise<Done<R>>;

export interface RunOptions {
  jobs?: number;
  /** Folders put before PYTHONPATH for every plugin (the shared libraries). */
  pythonPath?: string[];
  /** stdout carries a document (SARIF, annotations): every plugin's lines go to stderr. */
  stdoutTaken?: boolean;
}

type Chunk = { to: 'stdout' | 'stderr'; text: string };

function sink(chunks: Chunk[], to: Chunk['to']): Writable {
  return new Writable({
    write(c: Buffer | string, _enc, done) {
      chunks.push({ to, text: c.toString() });
      done();
    },
  });
}

/** A context for one plugin: its folder, its own buffered output, the libraries on PYTHONPATH. */
export function pluginContext(ctx: Ctx, m: Member, chunks: Chunk[], pythonPath: string[]): Ctx {
  const out = new Output({
    json: ctx.out.json,
    quiet: ctx.out.quiet,
    verbose: ctx.out.verbose,
    color: ctx.out.c.red('') !== '',
    stdout: sink(chunks, 'stdout'),
    stderr: sink(chunks, 'stderr'),
  });
  const env = { ...ctx.env };
  if (pythonPath.length > 0) env.PYTHONPATH = [...pythonPath, ...(env.PYTHONPATH ? env.PYTHONPATH.split(path.delimiter) : [])].join(path.delimiter);
  return { ...ctx, cwd: m.dir, out, env, interactive: false };
}

function failure<R>(err: unknown): Done<R> & { error: PluginRun<R>['error'] } {
  if (err instanceof CancelledError || !(err instanceof CliError)) throw err;
  const message = err.message.split('\n')[0];
  return {
    exitCode: err.exitCode,
    summary: message,
    result: undefined as R,
    error: { code: err.code, message, ...(err.hint ? { hint: err.hint } : {}) },
  };
}

function printHeading(ctx: Ctx, m: Member, toStderr: boolean): void {
  const line = `── ${m.name} (${m.rel}) ──`;
  if (toStderr) ctx.out.info(ctx.out.c.bold(line));
  else ctx.out.result(ctx.out.c.bold(line));
}

/** Print a plugin's buffered output: under --json all of it on stderr (stdout carries the one document). */
function replay(ctx: Ctx, chunks: Chunk[], toStderr: boolean): void {
  if (ctx.out.muted) return;
  for (const c of chunks) (c.to === 'stdout' && !toStderr ? ctx.out.stdout : ctx.out.stderr).write(c.text);
}

async function runOne<R>(m: Member, ctx: Ctx, op: Operation<R>, chunks: Chunk[], o: RunOptions): Promise<PluginRun<R>> {
  const pctx = pluginContext(ctx, m, chunks, o.pythonPath ?? []);
  const t0 = ctx.clock.now();
  let done: Done<R> & { error?: PluginRun<R>['error'] };
  try {
    done = await op(m, pctx);
  } catch (err) {
    done = failure<R>(err);
    pctx.out.error(done.error!.message);
    if (done.error!.hint) pctx.out.note(`${pctx.out.c.dim('hint:')} ${done.error!.hint}`);
  }
  const run: PluginRun<R> = { name: m.name, path: m.rel, exitCode: done.exitCode, summary: done.summary, durationMs: ctx.clock.now() - t0 };
  if (done.error) run.error = done.error;
  else run.result = done.result;
  return run;
}

/** Run op over members, at most jobs at once; the runs in members' order. */
export async function runPlugins<R>(members: readonly Member[], ctx: Ctx, op: Operation<R>, o: RunOptions = {}): Promise<PluginRun<R>[]> {
  const jobs = Math.max(1, Math.min(o.jobs ?? os.availableParallelism(), members.length));
  const buffers = members.map(() => [] as Chunk[]);
  const runs = new Array<PluginRun<R> | undefined>(members.length);
  let printed = 0;
  const toStderr = ctx.out.json || Boolean(o.stdoutTaken);
  const flush = () => {
    while (printed < members.length && runs[printed]) {
      printHeading(ctx, members[printed], toStderr);
      replay(ctx, buffers[printed], toStderr);
      printed += 1;
    }
  };
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < members.length; i = next++) {
      ctx.signal.throwIfAborted();
      runs[i] = await runOne(members[i], ctx, op, buffers[i], o);
      flush();
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return runs as PluginRun<R>[];
}

/** The worst exit code of the runs: the highest (0 when every plugin passed). */
export function worstExit(runs: readonly { exitCode: number }[]): number {
  return runs.reduce((w, r) => Math.max(w, r.exitCode), 0);
}
