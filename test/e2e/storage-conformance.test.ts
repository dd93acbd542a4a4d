/**
 * One conformance suite, run against both storage pairs: SQLite + a folder
 * (a data dir) and PostgreSQL + S3 (a fresh database on the local cluster,
 * s3rver on 127.0.0.1 through the real AWS client). The same HTTP lifecycle,
 * the same races (one version, ownership, publish against publish, review
 * against review, revocation against upload and publish), the same store
 * operations (sweep with and without grace, dump and load).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle, type StorageConfig } from '../../src/server/index.js';
import { generateToken } from '../../src/server/auth.js';
import { openStorage, type Storage } from '../../src/server/storage/open.js';
import { compareTables } from '../../src/server/storage/copy.js';
import type { SubmissionRow } from '../../src/server/storage/meta.js';
import { api, sha256, submit } from '../helpers/server-zips.js';
import { pluginZip } from '../helpers/zip-fixtures.js';
import { createDatabase, startS3, type TestDatabase, type TestS3 } from '../helpers/shared-storage.js';
import { registerKey, submitSigned, type DevKey } from '../helpers/signed-submits.js';

interface Pair {
  config: StorageConfig;
  cleanup(): Promise<void>;
}

const PAIRS: Record<string, () => Promise<Pair>> = {
  'SQLite + folder': async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pxp-conf-'));
    return { config: { kind: 'data-dir', dataDir }, cleanup: () => fs.rm(dataDir, { recursive: true, force: true }) };
  },
  'PostgreSQL + S3': async () => {
    const db: TestDatabase = await createDatabase();
    const s3: TestS3 = await startS3();
    return {
      config: { kind: 'shared', database: db.url, blobs: s3.url('conf'), s3Endpoint: s3.endpoint, sweepGraceMs: 0 },
      cleanup: async () => {
        await db.drop();
        await s3.close();
      },
    };
  },
};

const developer = generateToken();
const developer2 = generateToken();
const reviewer = generateToken();

describe.each(Object.keys(PAIRS))('%s', (label) => {
  let pair: Pair;
  let srv: ServerHandle;
  const start = () => startServer({ storage: pair.config, developerTokens: [developer, developer2], reviewerTokens: [reviewer] });

  beforeAll(async () => {
    pair = await PAIRS[label]();
    srv = await start();
  });
  afterAll(async () => {
    await srv?.close();
    await pair?.cleanup();
  });

  const review = (id: string, decision: string, notes?: string) =>
    api(srv.url, 'POST', `/submissions/${id}/review`, { token: reviewer, json: { decision, notes } });
  const publish = (id: string, channel = 'stable') => api(srv.url, 'POST', `/submissions/${id}/publish`, { token: developer, json: { channel } });

  it('the lifecycle: signed submit, claim, approve, publish, info, download, both signatures; a restart keeps it all', async () => {
    const key = await registerKey(srv.url, developer);
    const sub = await submitSigned(srv.url, developer, key, 'conf_life', '1.0.0');
    expect(sub.status, sub.raw.toString()).toBe(201);
    const id = (sub.body as { id: string }).id;
    expect((await review(id, 'claim')).body).toMatchObject({ state: 'in_review' });
    expect((await review(id, 'approve')).body).toMatchObject({ state: 'approved' });
    expect((await publish(id)).body).toMatchObject({ state: 'published', channel: 'stable' });
    const check = async () => {
      const info = await api(srv.url, 'GET', '/plugins/conf_life');
      expect(info.body).toMatchObject({ name: 'conf_life', versions: [{ version: '1.0.0', channel: 'stable' }] });
      const dl = await api(srv.url, 'GET', '/plugins/conf_life/versions/1.0.0/download');
      expect(dl.status).toBe(200);
      expect(sha256(dl.raw)).toBe((sub.body as { sha256: string }).sha256);
      const sigs = (await api(srv.url, 'GET', '/plugins/conf_life/versions/1.0.0/signatures')).body as Record<string, { role: string; key_id: string } | null>;
      expect(sigs.publisher).toMatchObject({ role: 'publisher', key_id: key.keyId });
      expect(sigs.marketplace).toMatchObject({ role: 'marketplace' });
      const keys = (await api(srv.url, 'GET', '/keys')).body as { keys: { key_id: string }[] };
      expect(keys.keys.map((k) => k.key_id)).toContain(sigs.marketplace!.key_id);
    };
    await check();
    await srv.close();
    srv = await start();
    await check();
  });

  it('idempotency: a replay answers the stored body, another body with the same key is 422, one row', async () => {
    const zip = pluginZip({ name: 'conf_idem', version: '1.0.0' });
    const first = await submit(srv.url, developer, 'conf_idem', zip, { key: 'idem-1' });
    const again = await submit(srv.url, developer, 'conf_idem', zip, { key: 'idem-1' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    const other = await submit(srv.url, developer, 'conf_idem', pluginZip({ name: 'conf_idem', version: '1.0.1' }), { key: 'idem-1', version: '1.0.1' });
    expect((other.body as { error: { code: string } }).error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await srv.submissionCount('conf_idem')).toBe(1);
  });

  it('one version, many archives at once: one 201, the same bytes 200, other bytes 409; one row', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        submit(srv.url, developer, 'conf_race', pluginZip({ name: 'conf_race', version: '1.0.0', files: { 'src/n.txt': String(i % 2) } })),
      ),
    );
    const codes = answers.map((a) => a.status).sort();
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.every((c) => c === 201 || c === 200 || c === 409)).toBe(true);
    const winner = answers.find((a) => a.status === 201)!.body as { sha256: string };
    for (const a of answers.filter((x) => x.status === 200)) expect((a.body as { sha256: string }).sha256).toBe(winner.sha256);
    expect(await srv.submissionCount('conf_race')).toBe(1);
  });

  it('two developers claim a new plugin at once: one owns it, every upload of the other is 403', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => {
        const version = `1.0.${i}`;
        return submit(srv.url, i % 2 ? developer2 : developer, 'conf_owner', pluginZip({ name: 'conf_owner', version }), { version });
      }),
    );
    const ok = answers.map((a, i) => ({ a, dev: i % 2 })).filter((x) => x.a.status === 201);
    expect(new Set(ok.map((x) => x.dev)).size).toBe(1);
    const loser = 1 - ok[0].dev;
    expect(answers.filter((_, i) => i % 2 === loser).every((a) => a.status === 403)).toBe(true);
    expect(await srv.submissionCount('conf_owner')).toBe(4);
  });

  it('publish races publish and review races review: one channel, one decision', async () => {
    const sub = (await submit(srv.url, developer, 'conf_pub', pluginZip({ name: 'conf_pub', version: '1.0.0' }))).body as { id: string };
    const decisions = await Promise.all([review(sub.id, 'approve'), review(sub.id, 'reject', 'no'), review(sub.id, 'approve'), review(sub.id, 'reject', 'no')]);
    const states = decisions.filter((d) => d.status === 200).map((d) => (d.body as { state: string }).state);
    expect(new Set(states).size).toBe(1);
    expect(decisions.filter((d) => d.status !== 200).every((d) => (d.body as { error: { code: string } }).error.code === 'WRONG_STATE')).toBe(true);
    if (states[0] === 'rejected') return;
    const pubs = await Promise.all(['stable', 'beta', 'stable', 'beta', 'stable', 'beta'].map((c) => publish(sub.id, c)));
    const won = pubs.filter((p) => p.status === 200).map((p) => (p.body as { channel: string }).channel);
    expect(new Set(won).size).toBe(1);
    expect(pubs.filter((p) => p.status !== 200).every((p) => (p.body as { error: { code: string } }).error.code === 'ALREADY_PUBLISHED')).toBe(true);
  });

  it('a key revoked is seen at once: a version it signed is not published, a new upload signed with it is refused', async () => {
    const key: DevKey = await registerKey(srv.url, developer);
    const sub = await submitSigned(srv.url, developer, key, 'conf_revoke', '1.0.0');
    expect(sub.status).toBe(201);
    const id = (sub.body as { id: string }).id;
    await review(id, 'approve');
    const revoked = await api(srv.url, 'POST', `/me/keys/${key.keyId}/revoke`, { token: developer, json: {} });
    expect(revoked.status).toBe(200);
    const pub = await publish(id);
    expect((pub.body as { error: { code: string } }).error.code).toBe('KEY_REVOKED');
    const next = await submitSigned(srv.url, developer, key, 'conf_revoke', '1.0.1');
    expect((next.body as { error: { code: string } }).error.code).toBe('KEY_REVOKED');
  });

  describe('the stores themselves', () => {
    let st: Storage;
    beforeAll(async () => {
      await srv.close(); // a data dir has one user at a time
      st = await openStorage(pair.config, Date.now, () => undefined, false);
    });
    afterAll(async () => {
      await st?.meta.close();
      await st?.blobs.close();
    });

    it('a publish and an upload re-check the key inside their transaction', async () => {
      const row = (await st.meta.submissionOf('conf_life', '1.0.0'))!;
      const base: SubmissionRow = { ...row, id: 'sub_conformance00001', version: '9.9.9', state: 'approved', published_at: null, channel: null };
      await st.meta.addKey({ key_id: 'aaaaaaaaaaaaaaaa', owner: row.owner, public_key: 'x', created_at: row.created_at, expires_at: null, revoked_at: null });
      await st.meta.revokeKey(row.owner, 'aaaaaaaaaaaaaaaa', new Date(Date.now() - 1000).toISOString());
      const sig = { contents_sha256: null, publisher: '{}', publisher_key: 'aaaaaaaaaaaaaaaa', marketplace: null };
      expect((await st.meta.insertSubmission(base, undefined, sig, Date.now())).kind).toBe('key-invalid');
      expect(await st.meta.submissionOf('conf_life', '9.9.9')).toBeUndefined();
      const other = await st.meta.revokeKey('dev-someone-else', 'aaaaaaaaaaaaaaaa', new Date().toISOString());
      expect(other).toBeUndefined();
    });

    it('platform variants: one row per (plugin, version, platform); the same platform or a version without variants is `exists`; a variant must agree and joins the state', async () => {
      const row = (await st.meta.submissionOf('conf_life', '1.0.0'))!;
      const manifest = (digest: string) => JSON.stringify({ name: 'conf_var', version: '1.0.0', manifestSha256: digest });
      const base: SubmissionRow = {
        ...row,
        plugin: 'conf_life',
        version: '7.0.0',
        state: 'pending',
        published_at: null,
        channel: null,
        manifest: manifest('a'.repeat(64)),
        permission_diff: null,
      };
      const sig = { contents_sha256: null, publisher: null, publisher_key: null, marketplace: null };
      const put = (id: string, platform: string, over: Partial<SubmissionRow> = {}) =>
        st.meta.insertSubmission({ ...base, id, platform, ...over }, undefined, sig, Date.now());
      expect((await put('sub_var_linux', 'manylinux_2_17_x86_64')).kind).toBe('inserted');
      await st.meta.review('sub_var_linux', ['pending'], { state: 'in_review', notes: null, reviewer: 'rev', updated_at: base.updated_at });
      // Another platform with the same manifest joins the version, in the state the version is in.
      const mac = await put('sub_var_mac', 'macosx_11_0_arm64');
      expect(mac.kind).toBe('inserted');
      expect(mac.kind === 'inserted' && [mac.row.state, mac.row.reviewer]).toEqual(['in_review', 'rev']);
      // The same platform again (other bytes): the stored row.
      const again = await put('sub_var_linux2', 'manylinux_2_17_x86_64');
      expect(again.kind === 'exists' && again.row.id).toBe('sub_var_linux');
      // An archive without variants for a version that has them: the version's first row.
      const plain = await put('sub_var_plain', '');
      expect(plain.kind === 'exists' && plain.row.id).toBe('sub_var_linux');
      // Another manifest: refused.
      const other = await put('sub_var_win', 'win_amd64', { manifest: manifest('b'.repeat(64)) });
      expect(other.kind).toBe('variant-mismatch');
      expect((await st.meta.variantsOf('conf_life', '7.0.0')).map((r) => [r.id, r.platform, r.state])).toEqual([
        ['sub_var_linux', 'manylinux_2_17_x86_64', 'in_review'],
        ['sub_var_mac', 'macosx_11_0_arm64', 'in_review'],
      ]);
      // A version reviewed to an end takes no new variant.
      await st.meta.review('sub_var_linux', ['in_review'], { state: 'rejected', notes: 'no', reviewer: 'rev', updated_at: base.updated_at });
      // The version moved, not one archive: in the same transaction.
      expect((await st.meta.variantsOf('conf_life', '7.0.0')).map((r) => r.state)).toEqual(['rejected', 'rejected']);
      const late = await put('sub_var_win2', 'win_amd64');
      expect(late.kind === 'variant-mismatch' && late.why).toMatch(/already rejected/);
      // A version without variants keeps one row, as before.
      expect((await put('sub_var_one', '', { version: '7.0.1' })).kind).toBe('inserted');
      expect((await put('sub_var_one2', '', { version: '7.0.1' })).kind).toBe('exists');
    });

    it("a version's platform variants publish together or not at all (a publisher key revoked since: none is published)", async () => {
      const row = (await st.meta.submissionOf('conf_life', '1.0.0'))!;
      const base: SubmissionRow = {
        ...row,
        plugin: 'conf_life',
        version: '8.0.0',
        state: 'pending',
        published_at: null,
        channel: null,
        manifest: JSON.stringify({ name: 'conf_var', version: '8.0.0', manifestSha256: 'c'.repeat(64) }),
        permission_diff: null,
      };
      const keyId = 'bbbbbbbbbbbbbbbb';
      await st.meta.addKey({ key_id: keyId, owner: row.owner, public_key: 'y', created_at: row.created_at, expires_at: null, revoked_at: null });
      const unsigned = { contents_sha256: null, publisher: null, publisher_key: null, marketplace: null };
      const signed = { ...unsigned, publisher: '{}', publisher_key: keyId };
      expect((await st.meta.insertSubmission({ ...base, id: 'sub_pub_linux', platform: 'manylinux_2_17_x86_64' }, undefined, unsigned, Date.now())).kind).toBe(
        'inserted',
      );
      for (const [from, to] of [
        ['pending', 'in_review'],
        ['in_review', 'approved'],
      ] as const) {
        await st.meta.review('sub_pub_linux', [from], { state: to, notes: null, reviewer: 'rev', updated_at: base.updated_at });
      }
      const mac = await st.meta.insertSubmission({ ...base, id: 'sub_pub_mac', platform: 'macosx_11_0_arm64' }, undefined, signed, Date.now());
      expect(mac.kind === 'inserted' && mac.row.state).toBe('approved');
      await st.meta.revokeKey(row.owner, keyId, new Date(Date.now() - 1000).toISOString());
      const at = new Date().toISOString();
      const req = (id: string, publisherKey: string | null) => ({
        id,
        channel: 'stable' as const,
        at,
        marketplace: '{}',
        contentsSha256: null,
        publisherKey,
        attestationMarketplace: null,
        now: Date.now(),
      });
      const refused = await st.meta.publish([req('sub_pub_linux', null), req('sub_pub_mac', keyId)]);
      expect(refused?.kind).toBe('key-invalid');
      expect((await st.meta.variantsOf('conf_life', '8.0.0')).map((r) => r.state)).toEqual(['approved', 'approved']);
      const done = await st.meta.publish([req('sub_pub_linux', null), req('sub_pub_mac', null)]);
      expect(done?.kind === 'published' && done.row.id).toBe('sub_pub_linux');
      expect((await st.meta.variantsOf('conf_life', '8.0.0')).map((r) => [r.state, r.channel])).toEqual([
        ['published', 'stable'],
        ['published', 'stable'],
      ]);
    });

    it('blobs: write, read, list, named files; the sweep keeps what rows name and recent orphans within the grace', async () => {
      const orphan = Buffer.from('no row names these bytes');
      const digest = sha256(orphan);
      await st.blobs.write(digest, orphan);
      expect(await st.blobs.has(digest)).toBe(true);
      expect((await st.blobs.read(digest)).equals(orphan)).toBe(true);
      expect((await st.blobs.list()).map((b) => b.sha256)).toContain(digest);
      const refs = () => st.meta.referencedDigests();
      expect((await st.blobs.sweep(refs, 60 * 60 * 1000)).orphans).toBe(0);
      expect(await st.blobs.has(digest)).toBe(true);
      // A shared store leaves the archives of refused inserts to the sweep (another replica may be about to name them).
      const named = await refs();
      const unnamed = (await st.blobs.list()).filter((b) => !named.has(b.sha256)).length;
      expect(unnamed).toBeGreaterThanOrEqual(1);
      const swept = await st.blobs.sweep(refs, 0);
      expect(swept.orphans).toBe(unnamed);
      expect(await st.blobs.has(digest)).toBe(false);
      for (const d of await refs()) expect(await st.blobs.has(d)).toBe(true);
      expect((await st.blobs.getFile('signing-key.pem'))?.toString()).toMatch(/BEGIN PRIVATE KEY/);
    });

    it('dump and load: every row of one store loads into a new one of the other kind and compares equal', async () => {
      const tables = await st.meta.dump();
      expect(tables.submissions.length).toBeGreaterThan(5);
      const otherLabel = Object.keys(PAIRS).find((l) => l !== label)!;
      const other = await PAIRS[otherLabel]();
      const target = await openStorage(other.config, Date.now, () => undefined, false);
      try {
        await target.meta.load(tables);
        expect(compareTables(tables, await target.meta.dump())).toEqual([]);
      } finally {
        await target.meta.close();
        await target.blobs.close();
        await other.cleanup();
      }
    });
  });
});
