/**
 * `status --wait` and a marketplace that goes away while it waits: a
 * restart on the same port (connection refused for a while), connections
 * reset until the transport gives up, a server that never comes back.
 * The wait rides each out until its deadline with one notice line, and
 * fails at the deadline saying the marketplace has not answered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../helpers/dev-server.js';
import { runMain } from '../helpers/run-main.js';
import { eventually, expectOneError, isolatedEnv, uniqueName } from './marketplace-helpers.js';
import { pluginProject } from './marketplace-plugin.js';

let srv!: DevServer;

// This file stops and restarts its server, so it has one of its own.
beforeAll(async () => {
  srv = await startDevServer();
});
afterAll(async () => {
  await srv.stop();
});

const dev = () => isolatedEnv(srv.env(srv.developer));

async function submitted(): Promise<string> {
  const dir = await pluginProject({ name: uniqueName('restart') });
  const r = await runMain(['--json', 'marketplace', 'submit'], { cwd: dir, env: await dev() });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout).submission.id as string;
}

/** Until the running wait has polled `id` at least once on the current server. */
const polled = (id: string) => eventually(() => srv.requests.some((q) => q.route === 'getSubmission' && q.url.includes(id)), 20_000);

const notices = (stderr: string) => stderr.split('\n').filter((l) => /waiting for it to answer again/.test(l));

describe('status --wait through a marketplace restart', () => {
  it('stopped for 3 s and started again on the same port: the wait goes on, one notice line, exit 0 once approved', async () => {
    const id = await submitted();
    const env = await dev();
    const port = srv.port;
    const waiting = runMain(['marketplace', 'status', id, '--wait', '--timeout', '90'], { env });
    await polled(id);
    await srv.restart(3000);
    expect(srv.port).toBe(port);
    const review = await runMain(['marketplace', 'review', id, '--approve'], { env: await isolatedEnv(srv.env(srv.reviewer)) });
    expect(review.exitCode, review.stderr).toBe(0);
    const r = await waiting;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${id} .* approved`));
    const n = notices(r.stderr);
    expect(n, r.stderr).toHaveLength(1);
    expect(n[0]).toMatch(
      /^warning: (cannot reach marketplace at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)|could not read submission .*); waiting for it to answer again \(up to (\d+\.\ds|\d+m \d\ds) more, the --timeout\)$/,
    );
    expect(r.stderr).not.toMatch(/^error:/m);
  });

  it('connections reset until the retries of one poll are used up: ridden out too, one notice line', async () => {
    const id = await submitted();
    const waiting = runMain(['marketplace', 'status', id, '--wait', '--timeout', '90'], { env: await dev() });
    await polled(id);
    // One poll's five attempts are all reset (the transport gives up), the next poll's first one too.
    srv.injectFault({ route: 'getSubmission', kind: 'reset', times: 6 });
    const review = await runMain(['marketplace', 'review', id, '--reject', '--notes', 'needs docs'], {
      env: await isolatedEnv(srv.env(srv.reviewer)),
    });
    expect(review.exitCode, review.stderr).toBe(0);
    const r = await waiting;
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout).toContain('reviewer notes: needs docs');
    const n = notices(r.stderr);
    expect(n, r.stderr).toHaveLength(1);
    expect(n[0]).toMatch(/could not read submission .*ECONNRESET|connection was closed/);
  });

  it('503s until one poll gives up are ridden out too; a 500 (a server bug, not a restart) ends the wait at once', async () => {
    const id = await submitted();
    const waiting = runMain(['marketplace', 'status', id, '--wait', '--timeout', '90'], { env: await dev() });
    await polled(id);
    srv.injectFault({ route: 'getSubmission', kind: 'status', status: 503, retryAfter: 0, times: 6 });
    const review = await runMain(['marketplace', 'review', id, '--approve'], { env: await isolatedEnv(srv.env(srv.reviewer)) });
    expect(review.exitCode, review.stderr).toBe(0);
    const r = await waiting;
    expect(r.exitCode, r.stderr).toBe(0);
    const n = notices(r.stderr);
    expect(n, r.stderr).toHaveLength(1);
    expect(n[0]).toMatch(/HTTP 503 UNAVAILABLE.*gave up after 5 attempts/);

    const id2 = await submitted();
    const failing = runMain(['marketplace', 'status', id2, '--wait', '--timeout', '90'], { env: await dev() });
    await polled(id2);
    srv.injectFault({ route: 'getSubmission', kind: 'status', status: 500, times: Infinity });
    const f = await failing;
    srv.clearFaults();
    expectOneError(f, 3, /could not read submission .*HTTP 500 INTERNAL/);
    expect(notices(f.stderr)).toHaveLength(0);
  });

  it('a marketplace that does not come back: exit 3 at the deadline, saying it has not answered and since how long', async () => {
    const id = await submitted();
    const waiting = runMain(['marketplace', 'status', id, '--wait', '--timeout', '6'], { env: await dev() });
    await polled(id);
    await srv.close();
    const t0 = Date.now();
    const r = await waiting;
    const took = Date.now() - t0;
    await srv.restart();
    expectOneError(
      r,
      3,
      new RegExp(
        `timed out after 6s waiting for the review of ${id} \\(still pending when last seen\\): the marketplace has not answered for \\d+\\.\\ds \\(cannot reach marketplace at http://127\\.0\\.0\\.1:\\d+ \\(ECONNREFUSED\\)\\)`,
      ),
      new RegExp(`check that the marketplace is running, then check again later with \`plexichat-plugin marketplace status ${id} --wait\``),
    );
    expect(notices(r.stderr)).toHaveLength(1);
    // Bounded by the deadline, not by the retries: well under the 60 s test limit.
    expect(took).toBeLessThan(20_000);
    const j = await runMain(['--json', 'marketplace', 'status', id], { env: await dev() });
    expect(JSON.parse(j.stdout).submission.state).toBe('pending');
  });

  it('a wrong URL from the start is not waited for: exit 3 at once (nothing was ever reached)', async () => {
    const id = await submitted();
    const env = await isolatedEnv({ PLEXICHAT_MARKETPLACE_URL: 'http://127.0.0.1:9', PLEXICHAT_TOKEN: srv.developer });
    const r = await runMain(['marketplace', 'status', id, '--wait', '--timeout', '60'], { env });
    expectOneError(r, 3, /cannot reach marketplace at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/);
    expect(notices(r.stderr)).toHaveLength(0);
  });
});
