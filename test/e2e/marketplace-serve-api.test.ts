/**
 * The development marketplace over real HTTP (in-process, 127.0.0.1:0):
 * auth, roles, ownership, the review/publish workflow, idempotency,
 * concurrency and restarts. Uploads that must be refused are in
 * marketplace-serve-uploads.test.ts.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startDevServer, useDevServer, type DevServer } from '../helpers/dev-server.js';
import { api, listingFor, sha256, submit } from '../helpers/server-zips.js';
import { pluginZip } from '../helpers/zip-fixtures.js';

let srv!: DevServer;
useDevServer((s) => (srv = s));

const zipOf = (name: string, version = '1.0.0', extra: Record<string, string> = {}) => pluginZip({ name, version, files: extra });

describe('auth and request ids', () => {
  it('GET /me names the caller and role; no token or a wrong token is 401 with WWW-Authenticate', async () => {
    const dev = await api(srv.url, 'GET', '/me', { token: srv.developer });
    expect(dev.status).toBe(200);
    expect(dev.body).toEqual({ user: expect.stringMatching(/^dev-[0-9a-f]{64}$/), role: 'developer' });
    expect((await api(srv.url, 'GET', '/me', { token: srv.reviewer })).body.role).toBe('reviewer');

    for (const token of [undefined, 'pcx_not_a_token']) {
      const r = await api(srv.url, 'GET', '/me', { token });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('UNAUTHENTICATED');
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    const basic = await api(srv.url, 'GET', '/me', { headers: { authorization: `Basic ${srv.developer}` } });
    expect(basic.status).toBe(401);
    expect(basic.raw.toString()).not.toContain(srv.developer);
  });

  it('every response carries X-Request-Id, repeated as request_id in error bodies', async () => {
    const answers = [
      await api(srv.url, 'GET', '/health'),
      await api(srv.url, 'GET', '/me'),
      await api(srv.url, 'GET', '/no/such/route', { token: srv.developer }),
      await api(srv.url, 'GET', '/plugins/Bad-Name'),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 401, 404, 400]);
    for (const a of answers) expect(a.headers['x-request-id']).toMatch(/^req_[0-9a-f]{16}$/);
    for (const a of answers.slice(1)) {
      expect(a.body.request_id).toBe(a.headers['x-request-id']);
      expect(a.body.error).toEqual({ code: expect.any(String), message: expect.any(String) });
    }
    expect(answers[2].body.error.code).toBe('NOT_FOUND');
    expect(answers[3].body.error.code).toBe('INVALID_NAME');
  });

  it('public routes work without a token but refuse an invalid one; expired tokens are refused', async () => {
    expect((await api(srv.url, 'GET', '/plugins/nobody_here')).body.error.code).toBe('PLUGIN_NOT_FOUND');
    expect((await api(srv.url, 'GET', '/plugins/nobody_here', { token: 'pcx_bogus' })).status).toBe(401);

    const expiring = await startDevServer({ tokens: [{ token: 'pcx_old_token_0001', role: 'developer', expiresAt: Date.now() - 1 }] });
    try {
      const r = await api(expiring.url, 'GET', '/me', { token: 'pcx_old_token_0001' });
      expect(r.status).toBe(401);
      expect(r.body.error.message).toContain('expired');
    } finally {
      await expiring.stop();
    }
  });
});

describe('the review and publish workflow', () => {
  it('submit → publish refused → developer cannot review → claim → approve → publish → info → download', async () => {
    const name = 'flow_plugin';
    const zip = zipOf(name, '1.2.0');
    const created = await submit(srv.url, srv.developer, name, zip, { version: '1.2.0' });
    expect(created.status).toBe(201);
    const sub = created.body;
    expect(sub).toMatchObject({
      plugin: name,
      version: '1.2.0',
      state: 'pending',
      sha256: sha256(zip),
      size: zip.length,
      channel: null,
      notes: null,
      existing: false,
    });
    expect(sub.id).toMatch(/^sub_[0-9a-f]{16}$/);

    // Publish before approval: 409 NOT_APPROVED, nothing changes.
    const early = await api(srv.url, 'POST', `/submissions/${sub.id}/publish`, { token: srv.developer, json: { channel: 'stable' } });
    expect(early.status).toBe(409);
    expect(early.body.error).toMatchObject({ code: 'NOT_APPROVED', state: 'pending' });

    // A developer token cannot review.
    const selfReview = await api(srv.url, 'POST', `/submissions/${sub.id}/review`, {
      token: srv.developer,
      json: { decision: 'approve' },
    });
    expect(selfReview.status).toBe(403);
    expect(selfReview.body.error.code).toBe('FORBIDDEN_ROLE');

    // Reviewer sees it, claims it, approves it.
    const pending = await api(srv.url, 'GET', '/submissions?state=pending', { token: srv.reviewer });
    expect(pending.body.submissions.map((s: { id: string }) => s.id)).toContain(sub.id);
    const claimed = await api(srv.url, 'POST', `/submissions/${sub.id}/review`, { token: srv.reviewer, json: { decision: 'claim' } });
    expect(claimed.body.state).toBe('in_review');
    const rejectNoNotes = await api(srv.url, 'POST', `/submissions/${sub.id}/review`, {
      token: srv.reviewer,
      json: { decision: 'reject' },
    });
    expect(rejectNoNotes.body.error.code).toBe('NOTES_REQUIRED');
    const approved = await api(srv.url, 'POST', `/submissions/${sub.id}/review`, {
      token: srv.reviewer,
      json: { decision: 'approve', notes: 'Looks good.' },
    });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ state: 'approved', notes: 'Looks good.', reviewer: expect.stringMatching(/^rev-/) });
    const again = await api(srv.url, 'POST', `/submissions/${sub.id}/review`, { token: srv.reviewer, json: { decision: 'approve' } });
    expect(again.status).toBe(200);
    expect(again.body.notes).toBe('Looks good.');
    const flip = await api(srv.url, 'POST', `/submissions/${sub.id}/review`, {
      token: srv.reviewer,
      json: { decision: 'reject', notes: 'changed my mind' },
    });
    expect(flip.body.error).toMatchObject({ code: 'WRONG_STATE', state: 'approved' });

    // Only the owner publishes; a reviewer cannot; bad channel is 400.
    expect((await api(srv.url, 'POST', `/submissions/${sub.id}/publish`, { token: srv.reviewer, json: {} })).status).toBe(403);
    expect((await api(srv.url, 'POST', `/submissions/${sub.id}/publish`, { token: srv.developer, json: { channel: 'nightly' } })).body.error.code).toBe(
      'INVALID_CHANNEL',
    );
    const published = await api(srv.url, 'POST', `/submissions/${sub.id}/publish`, { token: srv.developer, json: { channel: 'beta' } });
    expect(published.status).toBe(200);
    expect(published.body).toMatchObject({ state: 'published', channel: 'beta', published_at: expect.any(String) });
    // Publishing twice is idempotent; another channel is a conflict.
    const twice = await api(srv.url, 'POST', `/submissions/${sub.id}/publish`, { token: srv.developer, json: { channel: 'beta' } });
    expect(twice.status).toBe(200);
    expect(twice.body.published_at).toBe(published.body.published_at);
    const other = await api(srv.url, 'POST', `/submissions/${sub.id}/publish`, { token: srv.developer, json: { channel: 'stable' } });
    expect(other.body.error.code).toBe('ALREADY_PUBLISHED');

    const info = await api(srv.url, 'GET', `/plugins/${name}`);
    expect(info.status).toBe(200);
    expect(info.body).toEqual({
      name,
      owner: sub.owner,
      versions: [
        {
          version: '1.2.0',
          channel: 'beta',
          sha256: sha256(zip),
          size: zip.length,
          published_at: published.body.published_at,
          manifest: {
            name,
            version: '1.2.0',
            permissions: { required: [], optional: [] },
            hooks: [],
            endpoints: [],
            dependencies: { hasLock: false, packages: {} },
            // The manifest file's digest: a version's platform variants must carry the same one.
            manifestSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
          },
          attestations: null,
        },
      ],
    });

    const dl = await request(`${srv.api}/plugins/${name}/versions/1.2.0/download`);
    const bytes = Buffer.from(await dl.body.arrayBuffer());
    expect(dl.statusCode).toBe(200);
    expect(dl.headers['content-type']).toBe('application/zip');
    expect(dl.headers['x-content-sha256']).toBe(sha256(zip));
    expect(bytes.equals(zip)).toBe(true);
    expect((await api(srv.url, 'GET', `/plugins/${name}/versions/9.9.9/download`)).body.error.code).toBe('VERSION_NOT_FOUND');
  });

  it('a rejection keeps the notes and is final; an unknown submission is 404', async () => {
    const name = 'rejected_plugin';
    const sub = (await submit(srv.url, srv.developer, name, zipOf(name))).body;
    const rejected = await api(srv.url, 'POST', `/submissions/${sub.id}/review`, {
      token: srv.reviewer,
      json: { decision: 'reject', notes: 'Declare analytics_read.' },
    });
    expect(rejected.body).toMatchObject({ state: 'rejected', notes: 'Declare analytics_read.' });
    const status = await api(srv.url, 'GET', `/submissions/${sub.id}`, { token: srv.developer });
    expect(status.body).toMatchObject({ state: 'rejected', notes: 'Declare analytics_read.' });
    const pub = await api(srv.url, 'POST', `/submissions/${sub.id}/publish`, { token: srv.developer, json: {} });
    expect(pub.body.error).toMatchObject({ code: 'NOT_APPROVED', state: 'rejected' });
    expect((await api(srv.url, 'GET', '/submissions/sub_0000000000000000', { token: srv.reviewer })).body.error.code).toBe('SUBMISSION_NOT_FOUND');
  });
});

describe('ownership', () => {
  it('a second developer cannot submit to, list, read or publish another developer’s plugin (403, nothing stored)', async () => {
    const name = 'owned_plugin';
    const first = await submit(srv.url, srv.developer, name, zipOf(name));
    expect(first.status).toBe(201);
    const archives = await srv.storedArchives();

    const intruder = await submit(srv.url, srv.developer2, name, zipOf(name, '2.0.0'), { version: '2.0.0' });
    expect(intruder.status).toBe(403);
    expect(intruder.body.error.code).toBe('NOT_OWNER');
    expect(srv.countSubmissions(name)).toBe(1);
    expect(await srv.storedArchives()).toEqual(archives);
    expect(await srv.tempFiles()).toEqual([]);

    expect((await api(srv.url, 'GET', `/plugins/${name}/submissions`, { token: srv.developer2 })).body.error.code).toBe('NOT_OWNER');
    expect((await api(srv.url, 'GET', `/submissions/${first.body.id}`, { token: srv.developer2 })).status).toBe(403);
    expect((await api(srv.url, 'POST', `/submissions/${first.body.id}/publish`, { token: srv.developer2, json: {} })).body.error.code).toBe('NOT_OWNER');
    const mine = await api(srv.url, 'GET', '/submissions', { token: srv.developer2 });
    expect(mine.body.submissions.every((s: { owner: string }) => s.owner !== first.body.owner)).toBe(true);
    // The owner's own list; an unknown plugin's list is empty.
    expect((await api(srv.url, 'GET', `/plugins/${name}/submissions`, { token: srv.developer })).body.submissions).toHaveLength(1);
    expect((await api(srv.url, 'GET', '/plugins/never_submitted/submissions', { token: srv.developer })).body).toEqual({
      submissions: [],
    });
    // A reviewer cannot submit.
    expect((await submit(srv.url, srv.reviewer, 'reviewer_plugin', zipOf('reviewer_plugin'))).body.error.code).toBe('FORBIDDEN_ROLE');
  });
});

describe('re-submission and idempotency', () => {
  it('same name+version+sha256 → 200 existing; same version with another archive → 409 VERSION_EXISTS', async () => {
    const name = 'dup_plugin';
    const zip = zipOf(name);
    const first = await submit(srv.url, srv.developer, name, zip);
    const second = await submit(srv.url, srv.developer, name, zip);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ id: first.body.id, existing: true });

    const archives = await srv.storedArchives();
    const changed = zipOf(name, '1.0.0', { 'src/extra.py': 'x = 1\n' });
    const conflict = await submit(srv.url, srv.developer, name, changed);
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({ code: 'VERSION_EXISTS', submission_id: first.body.id });
    expect(srv.countSubmissions(name)).toBe(1);
    expect(await srv.storedArchives()).toEqual(archives);
    expect(await srv.tempFiles()).toEqual([]);
  });

  it('an Idempotency-Key replay returns the stored answer (same status and body), exactly one row', async () => {
    const name = 'idem_plugin';
    const zip = zipOf(name);
    const key = 'key-0001-idem';
    const first = await submit(srv.url, srv.developer, name, zip, { key });
    const replay = await submit(srv.url, srv.developer, name, zip, { key });
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(srv.countSubmissions(name)).toBe(1);

    const reused = await submit(srv.url, srv.developer, name, zipOf(name, '1.0.1'), { key, version: '1.0.1' });
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(srv.countSubmissions(name)).toBe(1);
    expect((await submit(srv.url, srv.developer, name, zip, { key: '' })).status).toBe(400);
  });

  it('a lost answer (committed, connection dropped) followed by a retry with the same key gives one submission', async () => {
    const name = 'lost_answer_plugin';
    const zip = zipOf(name);
    srv.injectFault({ route: 'submit', kind: 'drop-after-commit' });
    await expect(submit(srv.url, srv.developer, name, zip, { key: 'lost-1' })).rejects.toThrow();
    expect(srv.countSubmissions(name)).toBe(1);
    const retry = await submit(srv.url, srv.developer, name, zip, { key: 'lost-1' });
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(srv.countSubmissions(name)).toBe(1);
  });

  it('the same key while the first request is in flight → 409 IDEMPOTENCY_IN_FLIGHT with Retry-After', async () => {
    const name = 'inflight_plugin';
    const zip = zipOf(name);
    const slow = new AbortController();
    // A first upload that sends its headers and part of the body, then stalls.
    let release!: () => void;
    const stalled = new Promise<void>((r) => (release = r));
    async function* body() {
      yield Buffer.from('--b\r\nContent-Disposition: form-data; name="archive"; filename="a.zip"\r\n\r\n');
      yield zip.subarray(0, 100);
      await stalled;
    }
    const first = request(`${srv.api}/plugins/${name}/submissions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${srv.developer}`, 'content-type': 'multipart/form-data; boundary=b', 'idempotency-key': 'fly-1' },
      body: body(),
      signal: slow.signal,
    }).catch(() => undefined);
    // Wait until the server has registered the first request.
    for (let i = 0; i < 200 && !srv.requests.length; i++) await new Promise((r) => setTimeout(r, 5));
    let second = await submit(srv.url, srv.developer, name, zip, { key: 'fly-1' });
    for (let i = 0; i < 100 && second.status !== 409; i++) {
      await new Promise((r) => setTimeout(r, 20));
      second = await submit(srv.url, srv.developer, name, zip, { key: 'fly-1' });
    }
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('IDEMPOTENCY_IN_FLIGHT');
    expect(second.headers['retry-after']).toBe('1');
    slow.abort();
    release();
    await first;
    // The aborted first upload leaves nothing; the key is free again.
    for (let i = 0; i < 100 && (await srv.tempFiles()).length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await srv.tempFiles()).toEqual([]);
    expect(srv.countSubmissions(name)).toBe(0);
    const third = await submit(srv.url, srv.developer, name, zip, { key: 'fly-1' });
    expect(third.status).toBe(201);
  });

  it('injected 503 and 429 answers carry Retry-After and the stable codes', async () => {
    srv.injectFault({ route: 'submit', kind: 'status', status: 503, retryAfter: 1 });
    srv.injectFault({ route: 'me', kind: 'status', status: 429, retryAfter: 2 });
    const name = 'fault_plugin';
    const a = await submit(srv.url, srv.developer, name, zipOf(name), { key: 'f-1' });
    expect(a.status).toBe(503);
    expect(a.headers['retry-after']).toBe('1');
    expect(a.body.error.code).toBe('UNAVAILABLE');
    const b = await api(srv.url, 'GET', '/me', { token: srv.developer });
    expect(b.status).toBe(429);
    expect(b.body.error.code).toBe('RATE_LIMITED');
    expect(b.headers['retry-after']).toBe('2');
    // Used up: the retry goes through.
    expect((await submit(srv.url, srv.developer, name, zipOf(name), { key: 'f-1' })).status).toBe(201);
  });
});

describe('test-only faults', () => {
  it('reset closes the connection without an answer; hang never answers until the server stops', async () => {
    srv.injectFault({ route: 'me', kind: 'reset' });
    await expect(api(srv.url, 'GET', '/me', { token: srv.developer })).rejects.toThrow();
    expect((await api(srv.url, 'GET', '/me', { token: srv.developer })).status).toBe(200);

    const hanging = await startDevServer({ faults: [{ route: 'getSubmission', kind: 'hang', times: Infinity }] });
    try {
      const r = request(`${hanging.api}/submissions/sub_0000000000000000`, {
        headers: { authorization: `Bearer ${hanging.developer}` },
        headersTimeout: 300,
      });
      await expect(r).rejects.toThrow(/timeout/i);
      expect((await api(hanging.url, 'GET', '/me', { token: hanging.developer })).status).toBe(200);
    } finally {
      await hanging.stop();
    }
  });
});

describe('load and durability', () => {
  it('20 concurrent submits of different plugins all land', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `concurrent_plugin_${String(i).padStart(2, '0')}`);
    const answers = await Promise.all(names.map((n) => submit(srv.url, srv.developer, n, zipOf(n), { key: `c-${n}` })));
    expect(answers.map((a) => a.status)).toEqual(names.map(() => 201));
    for (const n of names) expect(srv.countSubmissions(n)).toBe(1);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(20);
  });

  it('a restarted server keeps its submissions, states and ownership, and sweeps leftovers', async () => {
    const name = 'durable_plugin';
    const zip = zipOf(name);
    const sub = (await submit(srv.url, srv.developer, name, zip)).body;
    await api(srv.url, 'POST', `/submissions/${sub.id}/review`, { token: srv.reviewer, json: { decision: 'claim' } });
    const before = srv.countSubmissions();
    // Leftovers of a crash: a temp upload and an archive no row refers to.
    await fs.writeFile(path.join(srv.dataDir, 'tmp', 'upload-deadbeef.part'), 'half');
    const orphan = path.join(srv.dataDir, 'archives', 'ab', `ab${'0'.repeat(62)}.zip`);
    await fs.mkdir(path.dirname(orphan), { recursive: true });
    await fs.writeFile(orphan, 'orphan');

    await srv.restart();
    expect(srv.swept).toEqual({ temps: 1, orphans: 1 });
    expect(await srv.tempFiles()).toEqual([]);
    expect(srv.countSubmissions()).toBe(before);
    const after = await api(srv.url, 'GET', `/submissions/${sub.id}`, { token: srv.developer });
    expect(after.body).toMatchObject({ id: sub.id, state: 'in_review', sha256: sha256(zip) });
    expect((await submit(srv.url, srv.developer2, name, zipOf(name, '2.0.0'), { version: '2.0.0' })).status).toBe(403);
    const approve = await api(srv.url, 'POST', `/submissions/${sub.id}/review`, { token: srv.reviewer, json: { decision: 'approve' } });
    expect(approve.body.state).toBe('approved');
    expect((await srv.storedArchives()).some((f) => f.endsWith(`${sha256(zip)}.zip`))).toBe(true);
  });

  it('--auto-approve approves valid submissions at once', async () => {
    const auto = await startDevServer({ autoApprove: true });
    try {
      const name = 'auto_plugin';
      const sub = (await submit(auto.url, auto.developer, name, zipOf(name))).body;
      expect(sub).toMatchObject({ state: 'approved', reviewer: 'auto' });
      const pub = await api(auto.url, 'POST', `/submissions/${sub.id}/publish`, { token: auto.developer });
      expect(pub.body).toMatchObject({ state: 'published', channel: 'stable' });
    } finally {
      await auto.stop();
    }
  });
});

describe('listing checks', () => {
  it('a listing that does not match the archive or the URL is 422 and nothing is stored', async () => {
    const name = 'listing_plugin';
    const zip = zipOf(name);
    const archives = await srv.storedArchives();
    const cases: [unknown, string][] = [
      [{ ...listingFor(zip, name, '1.0.0'), archive: { file: 'x.zip', sha256: 'a'.repeat(64), size: zip.length } }, 'LISTING_MISMATCH'],
      [{ ...listingFor(zip, name, '1.0.0'), archive: { file: 'x.zip', sha256: sha256(zip), size: 1 } }, 'LISTING_MISMATCH'],
      [listingFor(zip, 'other_plugin', '1.0.0'), 'LISTING_MISMATCH'],
      [{ ...listingFor(zip, name, '1.0.0'), description: '' }, 'INVALID_LISTING'],
      [{ ...listingFor(zip, name, '1.0.0'), version: '1.0' }, 'INVALID_LISTING'],
      // The listing says 2.0.0, the manifest in the archive says 1.0.0.
      [listingFor(zip, name, '2.0.0'), 'INVALID_ARCHIVE'],
    ];
    for (const [listing, code] of cases) {
      const r = await submit(srv.url, srv.developer, name, zip, { listing });
      expect(r.status, code).toBe(422);
      expect(r.body.error.code).toBe(code);
    }
    const notJson = await submit(srv.url, srv.developer, name, zip, { listingRaw: '{not json' });
    expect(notJson.body.error.code).toBe('INVALID_LISTING');
    expect(srv.countSubmissions(name)).toBe(0);
    expect(await srv.storedArchives()).toEqual(archives);
    expect(await srv.tempFiles()).toEqual([]);
    expect((await api(srv.url, 'GET', `/plugins/${name}`)).status).toBe(404);
  });
});
