/**
 * Ctrl-C (SIGINT, and SIGTERM alike) during `marketplace submit`, with a
 * real process, a real signal and the real development marketplace: what
 * the CLI says must be what the marketplace holds.
 *
 * - mid-body: nothing is kept, and the CLI says so;
 * - the body sent, the answer held by the server (fault `delay-answer`):
 *   the CLI waits a moment; an answer in time gives the id (exit 0), none
 *   says the submission may exist (exit 130) and how to check; a re-run
 *   finds it instead of making a second one.
 */
import { execa, type ResultPromise } from 'execa';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { BIN, hasStackTrace, runCli } from '../helpers/run-cli.js';
import { eventually, isolatedEnv, startProxy, uniqueName } from './marketplace-helpers.js';
import { pluginProject } from './marketplace-plugin.js';

let srv!: DevServer;

useDevServer((s) => (srv = s));

/** The bin as a user runs it, as a child the test can signal (wrapped: a subprocess is itself a promise). */
async function spawnSubmit(dir: string, args: string[] = [], env: Record<string, string | undefined> = {}): Promise<{ child: ResultPromise }> {
  const base = await isolatedEnv(srv.env(srv.developer));
  const child = execa(process.execPath, [BIN, ...args, 'marketplace', 'submit'], {
    cwd: dir,
    env: { ...base, NO_COLOR: '1', CI: '1', PLEXICHAT_CACHE_DIR: 'off', ...env },
    reject: false,
    timeout: 60_000,
  });
  return { child };
}

/**
 * Submit a fresh plugin while the marketplace holds its answer `holdMs`,
 * and send `signal` once the submission is stored (the body was sent in full).
 */
async function interruptAfterStored(base: string, holdMs: number, signal: NodeJS.Signals, args: string[] = []) {
  const name = uniqueName(base);
  const dir = await pluginProject({ name });
  srv.injectFault({ route: 'submit', kind: 'delay-answer', ms: holdMs });
  const { child } = await spawnSubmit(dir, args);
  // The marketplace has stored it; its answer is held back.
  await eventually(() => srv.countSubmissions(name) === 1, 30_000);
  child.kill(signal);
  return { name, dir, r: await child };
}

const SENT_NOTICE =
  /^warning: Ctrl-C: the archive was sent; waiting up to 5\.0s for the marketplace's answer \(Ctrl-C again stops now; the submission may then exist: `plexichat-plugin marketplace status` shows it\)$/m;

describe('Ctrl-C during marketplace submit says what the marketplace holds', () => {
  it('after the body was sent and no answer within 5 s: exit 130, "may have stored", and a re-run finds that one submission', async () => {
    const { name, dir, r } = await interruptAfterStored('cancelsent', 30_000, 'SIGINT');
    const stderr = String(r.stderr);
    expect(r.exitCode, stderr).toBe(130);
    expect(stderr).toMatch(SENT_NOTICE);
    expect(stderr).toMatch(
      new RegExp(`^error: Cancelled after the archive was sent: the marketplace did not answer within 5\\.0s, and may have stored ${name} 1\\.0\\.0$`, 'm'),
    );
    expect(stderr).toMatch(/hint: see whether it did with `plexichat-plugin marketplace status`; running submit again with the same archive is safe/);
    expect(stderr).not.toMatch(/^error: Cancelled$/m);
    expect(hasStackTrace(stderr)).toBe(false);
    expect(String(r.stdout)).toBe('');

    const env = await isolatedEnv(srv.env(srv.developer));
    const status = await runCli(['--json', 'marketplace', 'status'], { cwd: dir, env });
    const [stored] = JSON.parse(status.stdout).submissions;
    expect(stored).toMatchObject({ plugin: name, version: '1.0.0', state: 'pending' });
    const again = await runCli(['marketplace', 'submit'], { cwd: dir, env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain(`${name} 1.0.0 was already submitted with this archive: ${stored.id} (pending). Nothing new was created.`);
    expect(srv.countSubmissions(name)).toBe(1);
  });

  it('--json: one error document saying the archive was sent (exit 130)', async () => {
    const { name, r } = await interruptAfterStored('canceljson', 30_000, 'SIGINT', ['--json']);
    expect(r.exitCode, String(r.stderr)).toBe(130);
    const doc = JSON.parse(String(r.stdout));
    expect(doc.error).toMatchObject({ code: 'CANCELLED', exitCode: 130, plugin: name, version: '1.0.0', archiveSent: true });
    expect(doc.error.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(doc.error.message).toMatch(/may have stored/);
  });

  it('after the body was sent, an answer within the wait: the submission id, exit 0 (SIGTERM alike)', async () => {
    const { name, r } = await interruptAfterStored('cancelanswered', 2000, 'SIGTERM');
    const stderr = String(r.stderr);
    expect(r.exitCode, stderr).toBe(0);
    expect(stderr).toMatch(SENT_NOTICE);
    const id = /Submitted \S+ 1\.0\.0 for review: (sub_[0-9a-f]+) \(pending\)\./.exec(String(r.stdout))?.[1];
    expect(id, String(r.stdout)).toBeTruthy();
    expect(stderr).toContain(`the marketplace answered after Ctrl-C: submission ${id} exists`);
    expect(stderr).not.toMatch(/^error:/m);
    expect(srv.countSubmissions(name)).toBe(1);
  });

  it('mid-body: exit 130 saying the marketplace keeps nothing of it, and it keeps nothing', async () => {
    const name = uniqueName('cancelmid');
    // Larger than the socket buffers can hold, so the body cannot all have left the CLI when the network stalls.
    const dir = await pluginProject({ name, payload: randomBytes(24 * 1024 * 1024) });
    const proxy = await startProxy({ stallAfterBytes: 512 * 1024 });
    try {
      const { child } = await spawnSubmit(dir, [], { HTTP_PROXY: proxy.url });
      await eventually(async () => (await srv.tempFiles()).length > 0, 30_000);
      child.kill('SIGINT');
      const r = await child;
      const stderr = String(r.stderr);
      expect(r.exitCode, stderr).toBe(130);
      expect(stderr).toMatch(
        new RegExp(`^error: Cancelled during the upload of ${name} 1\\.0\\.0, before the archive was all sent: the marketplace keeps nothing of it$`, 'm'),
      );
      expect(stderr).toMatch(/hint: run `plexichat-plugin marketplace submit` again to upload it/);
      expect(stderr).not.toMatch(/waiting up to/);
      await proxy.close();
      await eventually(async () => (await srv.tempFiles()).length === 0);
      expect(srv.countSubmissions(name)).toBe(0);
    } finally {
      await proxy.close();
    }
  });
});
