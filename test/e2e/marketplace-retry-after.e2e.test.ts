/**
 * Retry-After in both its forms (delta-seconds and an HTTP date), as the
 * user reads it: delta-seconds as sent, an HTTP date as a wait in seconds,
 * minutes or hours with the time it names, and "more than a day" for
 * anything past a day, never a count such as "2300099542.4s". Against the
 * real development marketplace.
 */
import { describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { runMain } from '../helpers/run-main.js';
import { expectOneError, isolatedEnv, uniqueName } from './marketplace-helpers.js';
import { pluginProject } from './marketplace-plugin.js';

let srv!: DevServer;

useDevServer((s) => (srv = s));

const dev = () => isolatedEnv(srv.env(srv.developer));

/** An HTTP date `s` seconds from now. */
const httpDate = (s: number) => new Date(Date.now() + s * 1000).toUTCString();

describe('Retry-After beyond the time limit: a sane duration, or the time', () => {
  it('delta-seconds: as the server sent them, and a count past a day is "more than a day" (submit, exit 3, nothing stored)', async () => {
    const name = uniqueName('ra');
    const dir = await pluginProject({ name });
    const cases: [string | number, RegExp][] = [
      [90, /asked to retry after 90s, beyond the 5s time limit/],
      [7200, /asked to retry after 7200s, beyond the 5s time limit/],
      [86_399, /asked to retry after 86399s, beyond/],
      [86_400, /asked to retry after more than a day, beyond/],
      ['99999999999', /asked to retry after more than a day, beyond the 5s time limit/],
    ];
    for (const [retryAfter, re] of cases) {
      srv.injectFault({ route: 'submit', kind: 'status', status: 503, retryAfter });
      const r = await runMain(['marketplace', 'submit', '--timeout', '5'], { cwd: dir, env: await dev() });
      expectOneError(r, 3, re, /try again later, or allow more time with --timeout/);
      expect(r.stderr).not.toMatch(/\d{6,}(\.\d)?s/);
    }
    expect(srv.countSubmissions(name)).toBe(0);
    const j = await runMain(['--json', 'marketplace', 'submit', '--timeout', '5'], { cwd: dir, env: await dev() });
    expect(j.exitCode).toBe(0);
  });

  it('an HTTP date: the wait and the time it names; a date decades away is "more than a day" with its time', async () => {
    const dir = await pluginProject({ name: uniqueName('radate') });
    srv.injectFault({ route: 'submit', kind: 'status', status: 429, retryAfter: 'Fri, 31 Dec 2099 23:59:59 GMT' });
    const far = await runMain(['marketplace', 'submit', '--timeout', '5'], { cwd: dir, env: await dev() });
    expectOneError(far, 3, /asked to retry after more than a day \(at 2099-12-31T23:59:59Z\), beyond the 5s time limit \(.*HTTP 429 RATE_LIMITED/);
    expect(far.stderr).not.toMatch(/\d{6,}(\.\d)?s/);

    srv.injectFault({ route: 'submit', kind: 'status', status: 503, retryAfter: httpDate(45) });
    const near = await runMain(['marketplace', 'submit', '--timeout', '5'], { cwd: dir, env: await dev() });
    expectOneError(near, 3, /asked to retry after (4[0-5])\.\ds \(at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\), beyond the 5s time limit/);

    srv.injectFault({ route: 'submit', kind: 'status', status: 503, retryAfter: httpDate(2 * 3600 + 125) });
    const hours = await runMain(['marketplace', 'submit', '--timeout', '5'], { cwd: dir, env: await dev() });
    expectOneError(hours, 3, /asked to retry after 2h 0[12]m \(at /);
  });

  it('a Retry-After within the time limit is waited for and shown as such, in both forms', async () => {
    for (const retryAfter of [2, httpDate(2)]) {
      const name = uniqueName('rawait');
      const dir = await pluginProject({ name });
      srv.injectFault({ route: 'submit', kind: 'status', status: 503, retryAfter });
      const r = await runMain(['marketplace', 'submit', '--timeout', '30'], { cwd: dir, env: await dev() });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/HTTP 503 UNAVAILABLE \(request id req_[0-9a-f]+\) on attempt 1 of 5; retrying in [0-2]\.\ds/);
      expect(srv.countSubmissions(name)).toBe(1);
    }
  });

  it('the same rule for every command: whoami and status say it the same way', async () => {
    srv.injectFault({ route: 'me', kind: 'status', status: 429, retryAfter: 'Fri, 31 Dec 2099 23:59:59 GMT' });
    const who = await runMain(['marketplace', 'whoami'], { env: await dev() });
    expectOneError(who, 3, /asked to retry after more than a day \(at 2099-12-31T23:59:59Z\)/);
    srv.injectFault({ route: 'getSubmission', kind: 'status', status: 503, retryAfter: 3600 });
    const st = await runMain(['marketplace', 'status', 'sub_0000000000000000', '--timeout', '3'], { env: await dev() });
    expectOneError(st, 3, /asked to retry after 3600s, beyond the 3s time limit/);
  });
});
