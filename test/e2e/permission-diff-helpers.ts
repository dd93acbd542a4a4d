/**
 * Publishing a version of a test plugin through the real CLI (in-process)
 * against the development marketplace: build, submit, approve (unless the
 * server auto-approves), publish.
 */
import { expect } from 'vitest';
import { runMain } from '../helpers/run-main.js';
import type { CliResult } from '../helpers/run-cli.js';

type Env = Record<string, string | undefined>;

export async function cli(dir: string, args: string[], env: Env): Promise<CliResult> {
  return runMain(args, { cwd: dir, env });
}

export async function ok(dir: string, args: string[], env: Env): Promise<CliResult> {
  const r = await cli(dir, args, env);
  expect(r.exitCode, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

/** Build and submit the project's current version; returns the submission. */
export async function submit(dir: string, env: Env, extra: string[] = []): Promise<{ id: string; state: string }> {
  await ok(dir, ['build'], env);
  const r = await ok(dir, ['--json', 'marketplace', 'submit', ...extra], env);
  return (JSON.parse(r.stdout) as { submission: { id: string; state: string } }).submission;
}

/** Build, submit, approve (with `reviewer`, unless already approved) and publish the current version. */
export async function publishVersion(dir: string, env: Env & { PLEXICHAT_TOKEN?: string }, reviewer?: string): Promise<string> {
  const s = await submit(dir, env);
  if (s.state !== 'approved') {
    if (!reviewer) throw new Error(`submission ${s.id} is ${s.state}; pass a reviewer token`);
    await ok(dir, ['marketplace', 'review', s.id, '--approve', '--notes', 'fine'], { ...env, PLEXICHAT_TOKEN: reviewer });
  }
  await ok(dir, ['marketplace', 'publish', s.id], env);
  return s.id;
}
