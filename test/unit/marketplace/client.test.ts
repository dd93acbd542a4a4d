/**
 * MarketplaceClient's retry, deadline and polling logic, over real HTTP to
 * the development marketplace (in-process, 127.0.0.1:0), with an injected
 * clock whose sleep() returns at once: backoff and polling run with 1 ms
 * intervals while every delay the client asked for is recorded.
 */
import http from 'node:http';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../../src/io/context.js';
import { CliError } from '../../../src/errors.js';
import { MarketplaceClient, type ClientOptions } from '../../../src/marketplace/client.js';
import { buildListing } from '../../../src/core/listing.js';
import { loadManifest } from '../../../src/core/manifest/index.js';
import { useDevServer, type DevServer } from '../../helpers/dev-server.js';
import { tempDir } from '../../helpers/temp-project.js';
import { craftArchive, writeSources } from '../../e2e/marketplace-plugin.js';

let srv!: DevServer;
useDevServer((s) => (srv = s));

/** Virtual time: sleep(ms) advances now() by ms and returns immediately. */
function fakeClock(start = Date.parse('2026-11-26T05:00:00Z')): Clock & { slept: number[]; t: number } {
  const c = {
    t: start,
    slept: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.slept.push(ms);
      c.t += ms;
    },
  };
  return c;
}

function client(token: string | undefined, clock: Clock, over: Partial<ClientOptions> = {}): MarketplaceClient {
  return new MarketplaceClient({
    baseUrl: srv.url,
    token,
    env: {},
    clock,
    backoff: { baseMs: 1, capMs: 1, maxAttempts: 4 },
    random: () => 1,
    ...over,
  });
}

async function failure(p: Promise<unknown>): Promise<CliError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    return err as CliError;
  }
  throw new Error('expected a failure');
}

const meRequests = () => srv.requests.filter((r) => r.route === 'me').length;

describe('MarketplaceClient retries', () => {
  it('retries 503 and 429, sleeping at least the Retry-After the server asked for', async () => {
    const clock = fakeClock();
    srv.injectFault({ route: 'me', kind: 'status', status: 503, retryAfter: 2 });
    srv.injectFault({ route: 'me', kind: 'status', status: 429, retryAfter: 1 });
    const c = client(srv.developer, clock);
    const retries: string[] = [];
    const c2 = client(srv.developer, clock, { onRetry: (r) => retries.push(r.reason) });
    expect((await c2.me()).role).toBe('developer');
    expect(clock.slept).toEqual([2000, 1000]);
    expect(retries[0]).toMatch(/^HTTP 503 UNAVAILABLE \(request id req_[0-9a-f]+\)$/);
    expect(retries[1]).toMatch(/^HTTP 429 RATE_LIMITED/);
    await c.close();
    await c2.close();
  });

  it('reads Retry-After as an HTTP date', async () => {
    const clock = fakeClock();
    const at = new Date(Date.now() + 5000).toUTCString();
    srv.injectFault({ route: 'me', kind: 'status', status: 503, retryAfter: at });
    const c = client(srv.developer, clock);
    await c.me();
    expect(clock.slept).toHaveLength(1);
    expect(clock.slept[0]).toBeGreaterThan(2000);
    expect(clock.slept[0]).toBeLessThanOrEqual(5000);
    await c.close();
  });

  it('uses capped full-jitter backoff without Retry-After, then gives up with the last error (exit 3)', async () => {
    const clock = fakeClock();
    srv.injectFault({ route: 'me', kind: 'status', status: 500, times: Infinity });
    const c = client(srv.developer, clock, { backoff: { baseMs: 100, capMs: 300, maxAttempts: 4 }, random: () => 0.999 });
    const before = meRequests();
    const err = await failure(c.me());
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/HTTP 500 .*\(request id req_[0-9a-f]+\) \(gave up after 4 attempts\)/);
    expect(clock.slept).toEqual([99, 199, 299]);
    expect(meRequests() - before).toBe(4);
    await c.close();
  });

  it('never retries 401 (exit 4) or 404 (exit 1)', async () => {
    const clock = fakeClock();
    const before = meRequests();
    const err = await failure(client('not-a-token', clock).me());
    expect(err.exitCode).toBe(4);
    expect(meRequests() - before).toBe(1);
    const nf = await failure(client(srv.developer, clock).getSubmission('sub_0000000000000000'));
    expect(nf.exitCode).toBe(1);
    expect(nf.message).toMatch(/HTTP 404 SUBMISSION_NOT_FOUND/);
    expect(clock.slept).toEqual([]);
  });

  it('retries a reset connection for a GET', async () => {
    const clock = fakeClock();
    srv.injectFault({ route: 'me', kind: 'reset' });
    const c = client(srv.developer, clock);
    expect((await c.me()).role).toBe('developer');
    expect(clock.slept).toEqual([1]);
    await c.close();
  });

  it('does not repeat a review POST after a reset: the server may have acted on it', async () => {
    const clock = fakeClock();
    srv.injectFault({ route: 'review', kind: 'reset' });
    const err = await failure(client(srv.reviewer, clock).review('sub_0000000000000000', 'approve', 'x'));
    expect(err.exitCode).toBe(3);
    expect(clock.slept).toEqual([]);
  });

  it('a Retry-After beyond the deadline fails at once instead of sleeping past it', async () => {
    const clock = fakeClock();
    srv.injectFault({ route: 'me', kind: 'status', status: 503, retryAfter: 3600 });
    const c = client(srv.developer, clock, { requestDeadlineMs: 10_000 });
    const err = await failure(c.me());
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/asked to retry after 3600s, beyond the 10s time limit/);
    expect(clock.slept).toEqual([]);
    await c.close();
  });

  it('a per-attempt timeout on a hung GET is retried, and the overall deadline ends it', async () => {
    srv.injectFault({ route: 'me', kind: 'hang', times: Infinity });
    const c = client(srv.developer, fakeClock(), { attemptTimeoutMs: 100, requestDeadlineMs: 400 });
    const err = await failure(c.me());
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/timed out after 0\.4s|gave up after 4 attempts/);
    await c.close();
  });
});

describe('MarketplaceClient submit and waitForFinal', () => {
  let n = 0;
  /** A crafted plugin project and its listing, ready for client.submit(). */
  async function prepared() {
    const name = `unit_client_${process.pid}_${++n}`;
    const dir = await tempDir({}, 'pxp-unit-');
    await writeSources(dir, { name });
    await craftArchive(dir, { name });
    const manifest = (await loadManifest(dir)).manifest!;
    const { listing, paths } = await buildListing(dir, manifest);
    return { name, listing: listing!, archivePath: paths.archive };
  }
  const submitOpts = (p: Awaited<ReturnType<typeof prepared>>) => ({
    name: p.name,
    version: p.listing.version,
    archivePath: p.archivePath,
    archiveSize: p.listing.archive.size,
    sha256: p.listing.archive.sha256,
    listing: p.listing,
    timeoutMs: 30_000,
  });

  it('a lost answer is retried with the same key and yields the one submission', async () => {
    const p = await prepared();
    const clock = fakeClock();
    srv.injectFault({ route: 'submit', kind: 'drop-after-commit' });
    const c = client(srv.developer, clock);
    const progress: number[] = [];
    const r = await c.submit({ ...submitOpts(p), onProgress: (_sent, _total, attempt) => progress.push(attempt) });
    expect(r).toMatchObject({ existing: false, attempts: 2, submission: { state: 'pending', plugin: p.name } });
    expect(clock.slept).toEqual([1]);
    expect(new Set(progress)).toEqual(new Set([1, 2]));
    // The dropped answer is not in the server's log of answered requests; the replay is.
    const answered = srv.requests.filter((q) => q.route === 'submit' && q.url.includes(p.name));
    expect(answered.map((q) => q.status)).toEqual([201]);
    expect(srv.countSubmissions(p.name)).toBe(1);
    await c.close();
  });

  it('two uploads with the same key at once (a retry racing the original) give one submission', async () => {
    const p = await prepared();
    // The first request waits on the server; the second, with the same key, overtakes it.
    srv.injectFault({ route: 'submit', kind: 'delay', ms: 500 });
    const a = client(srv.developer, systemClock, { backoff: { baseMs: 1, capMs: 1, maxAttempts: 5 } });
    const b = client(srv.developer, systemClock, { backoff: { baseMs: 1, capMs: 1, maxAttempts: 5 } });
    const first = a.submit({ ...submitOpts(p), idempotencyKey: 'same-key-1' });
    await new Promise((r) => setTimeout(r, 100));
    const second = b.submit({ ...submitOpts(p), idempotencyKey: 'same-key-1' });
    const [r1, r2] = await Promise.all([first, second]);
    expect(r2.submission.id).toBe(r1.submission.id);
    expect(srv.countSubmissions(p.name)).toBe(1);
    await a.close();
    await b.close();
  });

  it('polls with doubling intervals up to the cap and times out on the virtual clock', async () => {
    const p = await prepared();
    const clock = fakeClock();
    const c = client(srv.developer, clock);
    const { submission } = await c.submit(submitOpts(p));
    const polls: string[] = [];
    const r = await c.waitForFinal(submission.id, {
      timeoutMs: 10_000,
      intervalMs: 1000,
      maxIntervalMs: 4000,
      onPoll: (s) => polls.push(s.state),
    });
    expect(r.timedOut).toBe(true);
    expect(r.submission.state).toBe('pending');
    expect(clock.slept).toEqual([1000, 2000, 4000, 3000]);
    expect(polls).toEqual(['pending', 'pending', 'pending', 'pending', 'pending']);
    await c.close();
  });

  it('returns as soon as a decision is seen', async () => {
    const p = await prepared();
    const clock = fakeClock();
    const c = client(srv.developer, clock);
    const reviewer = client(srv.reviewer, clock);
    const { submission } = await c.submit(submitOpts(p));
    let polls = 0;
    const r = await c.waitForFinal(submission.id, {
      timeoutMs: 60_000,
      intervalMs: 1,
      onPoll: () => {
        polls += 1;
        if (polls === 2) void reviewer.review(submission.id, 'reject', 'needs work');
      },
    });
    expect(r.timedOut).toBe(false);
    expect(r.submission).toMatchObject({ state: 'rejected', notes: 'needs work' });
    await c.close();
    await reviewer.close();
  });
});

describe('MarketplaceClient safety', () => {
  it('does not follow a redirect, so the token never goes to another origin', async () => {
    const seen: (string | undefined)[] = [];
    const other = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.end('{}');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const otherUrl = `http://127.0.0.1:${(other.address() as net.AddressInfo).port}`;
    const redirector = http.createServer((_req, res) => {
      res.writeHead(307, { location: `${otherUrl}/api/v1/me` });
      res.end();
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    try {
      const c = new MarketplaceClient({
        baseUrl: `http://127.0.0.1:${(redirector.address() as net.AddressInfo).port}`,
        token: 'canary-redirect-token',
        env: {},
        clock: fakeClock(),
        backoff: { baseMs: 1, capMs: 1, maxAttempts: 2 },
      });
      const err = await failure(c.me());
      expect(err.exitCode).toBe(3);
      expect(err.hint).toContain(`redirect to ${otherUrl}/api/v1/me`);
      expect(err.message).not.toContain('canary-redirect-token');
      expect(seen).toEqual([]);
      await c.close();
    } finally {
      await new Promise<void>((r) => redirector.close(() => r()));
      await new Promise<void>((r) => other.close(() => r()));
    }
  });
});
