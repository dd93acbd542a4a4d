/**
 * Stateless replicas: two `marketplace serve` processes (the built CLI) on
 * two ports, one PostgreSQL database, one S3 bucket (s3rver on 127.0.0.1),
 * started at the same moment (one schema migration, one marketplace key).
 *
 * - the whole lifecycle through the real CLI, each step sent to the other replica;
 * - concurrent signed submits from 4 developers over 20 plugins, one replica
 *   killed with SIGKILL halfway, the clients retrying on the other with the same
 *   Idempotency-Key: none lost, none stored twice; then every version published
 *   and downloaded, with both signatures, from both replicas; the sweep removes
 *   what the killed replica left and nothing a row names.
 */
import { execa, type ResultPromise } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/server/auth.js';
import { BIN, runCli } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { api, sha256 } from '../helpers/server-zips.js';
import { createDatabase, S3_ENV, startS3, type TestDatabase, type TestS3 } from '../helpers/shared-storage.js';
import { registerKey, submitSigned, type DevKey } from '../helpers/signed-submits.js';
import { tempDir } from '../helpers/temp-project.js';
import { writeSources } from './marketplace-plugin.js';

type Proc = ResultPromise<{ reject: false; env: Record<string, string>; extendEnv: true; stdin: 'ignore' }>;

const DEVELOPERS = Array.from({ length: 4 }, () => generateToken());
const REVIEWER = generateToken();

let db: TestDatabase;
let s3: TestS3;
let storageEnv: Record<string, string>;
const procs: Proc[] = [];

function serve(): { proc: Proc; url: Promise<string> } {
  const proc = execa(process.execPath, [BIN, '--json', 'marketplace', 'serve', '--port', '0', '--s3-endpoint', s3.endpoint, '--sweep-grace', '3600'], {
    reject: false,
    env: { NO_COLOR: '1', CI: '1', ...storageEnv },
    extendEnv: true,
    stdin: 'ignore',
  }) as Proc;
  procs.push(proc);
  const url = new Promise<string>((resolve, reject) => {
    let text = '';
    proc.stdout.on('data', (b: Buffer) => {
      text += b.toString('utf8');
      try {
        resolve((JSON.parse(text) as { url: string }).url);
      } catch {
        /* not whole yet */
      }
    });
    void proc.then((r) => reject(new Error(`serve exited (${r.exitCode}): ${String(r.stderr)}`)));
  });
  return { proc, url };
}

let urls: string[] = [];
let replicaB: Proc;

beforeAll(async () => {
  db = await createDatabase();
  s3 = await startS3();
  storageEnv = {
    ...S3_ENV,
    PGPASSWORD: process.env.PGPASSWORD ?? '',
    PLEXICHAT_SERVE_DATABASE: db.url,
    PLEXICHAT_SERVE_BLOBS: s3.url('replicas'),
    PLEXICHAT_SERVE_DEVELOPER_TOKENS: DEVELOPERS.join(','),
    PLEXICHAT_SERVE_REVIEWER_TOKENS: REVIEWER,
  };
  // Both at once: the schema is migrated once and one marketplace key is made, under the advisory locks.
  const a = serve();
  const b = serve();
  replicaB = b.proc;
  urls = await Promise.all([a.url, b.url]);
}, 60_000);

afterAll(async () => {
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.catch(() => undefined)));
  await db?.drop();
  await s3?.close();
});

describe('two replicas on one database and one bucket', () => {
  it('start together with one schema and one marketplace key', async () => {
    const keys = await Promise.all(urls.map(async (u) => ((await api(u, 'GET', '/keys')).body as { keys: { key_id: string }[] }).keys));
    expect(keys[0]).toHaveLength(1);
    expect(keys[1]).toEqual(keys[0]);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      expect((await client.query('SELECT version FROM schema_migrations ORDER BY version')).rows).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
    } finally {
      await client.end();
    }
  });

  it('the lifecycle through the CLI, each step on the other replica', async () => {
    const home = await tempDir({}, 'pxp-rep-home-');
    let turn = 0;
    const cli = async (args: string[], token: string, cwd?: string) => {
      const url = urls[turn++ % 2];
      const r = await runMain(args, {
        cwd,
        env: { XDG_CONFIG_HOME: home, PLEXICHAT_SIGNING_KEY: undefined, PLEXICHAT_MARKETPLACE_URL: url, PLEXICHAT_TOKEN: token },
      });
      expect(r.exitCode, `${args.join(' ')} on ${url}: ${r.stderr}`).toBe(0);
      return r;
    };
    const dev = DEVELOPERS[0];
    const key = `${home}/dev.pem`;
    await cli(['keys', 'generate', '--out', key], dev);
    await cli(['marketplace', 'keys', 'add', `${key}.pub`], dev);
    const dir = await tempDir({}, 'pxp-rep-plugin-');
    await writeSources(dir, { name: 'replica_life', version: '1.0.0' });
    await cli(['build', '--sign', '--key', key], dev, dir);
    const sub = (JSON.parse((await cli(['--json', 'marketplace', 'submit'], dev, dir)).stdout) as { submission: { id: string } }).submission;
    await cli(['marketplace', 'status', sub.id], dev, dir);
    await cli(['marketplace', 'review', sub.id, '--approve'], REVIEWER, dir);
    await cli(['marketplace', 'publish', sub.id], dev, dir);
    expect((await cli(['marketplace', 'info', 'replica_life'], dev)).stdout).toContain('1.0.0');
    for (let i = 0; i < 2; i++) {
      const out = await tempDir({}, 'pxp-rep-dl-');
      const r = await cli(['marketplace', 'download', 'replica_life@1.0.0', '--out', out], dev);
      expect(r.stdout + r.stderr).toMatch(/replica_life-1\.0\.0\.zip/);
    }
    const keyId = (JSON.parse((await cli(['--json', 'marketplace', 'keys', 'list'], dev)).stdout) as { keys: { keyId?: string; key_id?: string }[] }).keys[0];
    const id = keyId.keyId ?? keyId.key_id!;
    await cli(['marketplace', 'keys', 'revoke', id], dev);
    // Seen at once by the other replica: an upload signed with the revoked key is refused.
    await writeSources(dir, { name: 'replica_life', version: '1.0.1' });
    await cli(['build', '--sign', '--key', key], dev, dir);
    const refused = await runMain(['marketplace', 'submit'], {
      cwd: dir,
      env: { XDG_CONFIG_HOME: home, PLEXICHAT_SIGNING_KEY: undefined, PLEXICHAT_MARKETPLACE_URL: urls[turn++ % 2], PLEXICHAT_TOKEN: dev },
    });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/revoked/);
  }, 120_000);

  it('concurrent submits with one replica killed halfway: none lost or duplicated; all published and downloadable from both', async () => {
    const PLUGINS = 20;
    const VERSIONS = 10;
    const keys: DevKey[] = [];
    for (const d of DEVELOPERS) keys.push(await registerKey(urls[0], d));
    const jobs = Array.from({ length: PLUGINS * VERSIONS }, (_, i) => {
      const plugin = i % PLUGINS;
      const dev = plugin % DEVELOPERS.length;
      return { dev, name: `rep_plugin_${plugin}`, version: `1.0.${Math.floor(i / PLUGINS)}`, idem: `job-${i}` };
    });
    let started = 0;
    let killed = false;
    const answers: { status: number; body: unknown }[] = [];
    const alive = () => (killed ? [urls[0]] : urls);
    const one = async (j: (typeof jobs)[number], n: number) => {
      for (let attempt = 0; ; attempt++) {
        const targets = alive();
        const url = targets[(n + attempt) % targets.length];
        try {
          const r = await submitSigned(url, DEVELOPERS[j.dev], keys[j.dev], j.name, j.version, { idempotencyKey: j.idem });
          if (r.status === 409 && attempt < 50) {
            await new Promise((res) => setTimeout(res, 100)); // the same key in flight on the other replica
            continue;
          }
          return r;
        } catch (err) {
          if (attempt > 5) throw err; // a connection to the killed replica: retry elsewhere
        }
      }
    };
    const queue = [...jobs.entries()];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [n, j] = next;
        started++;
        if (started === jobs.length / 2 && !killed) {
          killed = true;
          replicaB.kill('SIGKILL');
        }
        answers[n] = await one(j, n);
      }
    };
    await Promise.all(Array.from({ length: 12 }, worker));
    expect(killed).toBe(true);
    expect(answers.map((a) => a.status).filter((s) => s !== 201 && s !== 200)).toEqual([]);

    // A fresh replica in place of the killed one.
    const c = serve();
    urls[1] = await c.url;

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const rows = (
        await client.query<{ plugin: string; version: string; owner: string }>(
          "SELECT plugin, version, owner FROM submissions WHERE plugin LIKE 'rep_plugin_%'",
        )
      ).rows;
      expect(rows).toHaveLength(PLUGINS * VERSIONS);
      expect(new Set(rows.map((r) => `${r.plugin}@${r.version}`)).size).toBe(PLUGINS * VERSIONS);
      const owners = await client.query('SELECT count(DISTINCT owner) AS n FROM plugins WHERE name LIKE $1', ['rep_plugin_%']);
      expect(Number(owners.rows[0].n)).toBe(DEVELOPERS.length);
    } finally {
      await client.end();
    }

    // Approve and publish each on alternating replicas, then download everything from both.
    const ids = answers.map((a) => (a.body as { id: string; sha256: string }).id);
    const pool = async <T>(items: T[], fn: (t: T, i: number) => Promise<void>) => {
      const q = [...items.entries()];
      await Promise.all(
        Array.from({ length: 12 }, async () => {
          for (let next = q.shift(); next; next = q.shift()) await fn(next[1], next[0]);
        }),
      );
    };
    await pool(ids, async (id, i) => {
      const r = await api(urls[i % 2], 'POST', `/submissions/${id}/review`, { token: REVIEWER, json: { decision: 'approve' } });
      expect(r.status).toBe(200);
      const p = await api(urls[(i + 1) % 2], 'POST', `/submissions/${id}/publish`, { token: DEVELOPERS[jobs[i].dev], json: {} });
      expect(p.status, p.raw.toString()).toBe(200);
    });
    await pool(jobs, async (j, i) => {
      const digest = (answers[i].body as { sha256: string }).sha256;
      for (const url of urls) {
        const dl = await api(url, 'GET', `/plugins/${j.name}/versions/${j.version}/download`);
        expect(dl.status).toBe(200);
        expect(sha256(dl.raw)).toBe(digest);
        const sigs = (await api(url, 'GET', `/plugins/${j.name}/versions/${j.version}/signatures`)).body as Record<string, { key_id: string } | null>;
        expect(sigs.publisher?.key_id).toBe(keys[j.dev].keyId);
        expect(sigs.marketplace).not.toBeNull();
      }
    });

    // The sweep (no grace) removes what the killed replica stored without a row, and nothing a row names.
    const sweep = await runCli(['--json', 'marketplace', 'migrate', '--sweep', '--sweep-grace', '0', '--s3-endpoint', s3.endpoint], { env: storageEnv });
    expect(sweep.exitCode, sweep.stderr).toBe(0);
    const again = await api(urls[0], 'GET', `/plugins/${jobs[0].name}/versions/${jobs[0].version}/download`);
    expect(again.status).toBe(200);
  }, 240_000);
});
