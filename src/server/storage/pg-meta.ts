/**
 * The metadata store in PostgreSQL (node-postgres, loaded only when
 * configured): what replicas share. Each rule is one statement or one
 * transaction with row locks: the plugin row is locked (FOR UPDATE) while a
 * submission of it is inserted, so ownership and (plugin, version) are
 * decided once; a review or publish moves a row only from the state it
 * checks (UPDATE … WHERE state, SELECT … FOR UPDATE); the publisher key is
 * read FOR SHARE in the same transaction, so a revocation that commits first
 * is seen, and one that comes later waits for the row it would contradict.
 */
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { migratePg } from './pg-schema.js';
import {
  joinVariant,
  keyInvalidAt,
  type AttestationRow,
  type RolloverRow,
  TABLES,
  type IdempotencyRow,
  type IdempotencyWrite,
  type InsertResult,
  type KeyRow,
  type MetaStore,
  type PluginRow,
  type PublishRequest,
  type PublishResult,
  type ReviewFields,
  type SignatureRow,
  type State,
  type SubmissionFilter,
  type SubmissionRow,
  type Tables,
} from './meta.js';

type Query = <T extends QueryResultRow>(sql: string, args?: unknown[]) => Promise<T[]>;

const SUBMISSION_COLUMNS = [
  'id',
  'plugin',
  'version',
  'state',
  'sha256',
  'size',
  'channel',
  'notes',
  'owner',
  'reviewer',
  'listing',
  'created_at',
  'updated_at',
  'published_at',
  'manifest',
  'permission_diff',
  'platform',
] as const;

const COLUMNS: Record<keyof Tables, readonly string[]> = {
  plugins: ['name', 'owner', 'created_at'],
  submissions: [...SUBMISSION_COLUMNS, 'seq'],
  publisher_keys: ['key_id', 'owner', 'public_key', 'created_at', 'expires_at', 'revoked_at'],
  marketplace_keys: ['key_id', 'public_key', 'created_at', 'expires_at', 'revoked_at'],
  signatures: ['submission_id', 'contents_sha256', 'publisher', 'publisher_key', 'marketplace'],
  identities: ['id', 'user'],
  idempotency: ['user', 'key', 'fingerprint', 'status', 'body', 'expires_at'],
  attestations: ['submission_id', 'sbom_sha256', 'sbom_size', 'provenance_sha256', 'provenance_size', 'provenance_key', 'marketplace'],
  key_rollovers: ['old_key_id', 'new_key_id', 'statement', 'created_at'],
};

const ORDER: Record<keyof Tables, string> = {
  plugins: 'name',
  submissions: 'seq',
  publisher_keys: 'key_id',
  marketplace_keys: 'key_id',
  signatures: 'submission_id',
  identities: 'id',
  idempotency: '"user", key',
  attestations: 'submission_id',
  key_rollovers: 'old_key_id',
};

/** `INSERT INTO t (cols) VALUES ($1…)` for the named columns. */
function insertSql(table: string, cols: readonly string[], tail = ''): string {
  return `INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) ${tail}`;
}

function valuesOf(row: object, cols: readonly string[]): unknown[] {
  return cols.map((c) => (row as Record<string, unknown>)[c] ?? null);
}

function strip(row: (SubmissionRow & { seq?: unknown }) | undefined): SubmissionRow | undefined {
  if (!row) return undefined;
  const { seq: _seq, ...rest } = row;
  return rest;
}

/** The identity-resolution lock ("plxi"): tokens are resolved one at a time across replicas. */
const IDENTITY_LOCK = 0x706c7869;
/** The start-up lock ("plxs"): the first start makes the signing key and sweeps; the others wait, then read it. */
const START_LOCK = 0x706c7873;

/** One archive's publish inside a transaction (PgMeta.publish): its row locked, its state and publisher key re-checked. */
async function publishIn(q: Query, req: PublishRequest): Promise<PublishResult | undefined> {
  const row = strip((await q<SubmissionRow>('SELECT * FROM submissions WHERE id = $1 FOR UPDATE', [req.id]))[0]);
  if (!row) return undefined;
  if (row.state !== 'approved') return { kind: 'state', row };
  if (req.publisherKey !== null) {
    const key = (await q<KeyRow>('SELECT * FROM publisher_keys WHERE key_id = $1 FOR SHARE', [req.publisherKey]))[0];
    if (!key || keyInvalidAt(key, req.now)) return { kind: 'key-invalid', key };
  }
  await q(`${insertSql('signatures', COLUMNS.signatures)} ON CONFLICT (submission_id) DO UPDATE SET marketplace = EXCLUDED.marketplace`, [
    row.id,
    req.contentsSha256,
    null,
    null,
    req.marketplace,
  ]);
  if (req.attestationMarketplace !== null) {
    await q('UPDATE attestations SET marketplace = $2 WHERE submission_id = $1', [row.id, req.attestationMarketplace]);
  }
  const updated = await q<SubmissionRow>(
    "UPDATE submissions SET state = 'published', channel = $2, published_at = $3, updated_at = $3 WHERE id = $1 RETURNING *",
    [row.id, req.channel, req.at],
  );
  return { kind: 'published', row: strip(updated[0])! };
}

export class PgMeta implements MetaStore {
  readonly kind = 'postgres' as const;

  private constructor(private readonly pool: Pool) {}

  /** Connect, check the connection, and bring the schema up to date (under the migration lock). */
  static async open(url: string, now: () => number = Date.now): Promise<{ meta: PgMeta; applied: number[] }> {
    const pg = (await import('pg')).default;
    // BIGINT (sizes, epoch ms, seq) as numbers: every value stored fits in 2^53.
    pg.types.setTypeParser(20, (v: string) => Number(v));
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    pool.on('error', () => undefined); // an idle client's broken connection is replaced on next use
    try {
      const client = await pool.connect();
      try {
        const applied = await migratePg(client, now);
        return { meta: new PgMeta(pool), applied };
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  private readonly q: Query = async <T extends QueryResultRow>(sql: string, args: unknown[] = []) => (await this.pool.query<T>(sql, args)).rows;

  private async one<T extends QueryResultRow>(sql: string, args: unknown[] = []): Promise<T | undefined> {
    return (await this.q<T>(sql, args))[0];
  }

  /** Run `fn` in a transaction on one client; ROLLBACK on a throw or when it returns { rollback: true }. */
  private async tx<T>(fn: (q: Query) => Promise<T>, rollbackIf: (r: T) => boolean = () => false): Promise<T> {
    const client: PoolClient = await this.pool.connect();
    const q: Query = async <R extends QueryResultRow>(sql: string, args: unknown[] = []) => (await client.query<R>(sql, args)).rows;
    try {
      await client.query('BEGIN');
      const result = await fn(q);
      await client.query(rollbackIf(result) ? 'ROLLBACK' : 'COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [START_LOCK]);
      try {
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [START_LOCK]);
      }
    } finally {
      client.release();
    }
  }

  async schemaVersion(): Promise<number> {
    return (await this.one<{ v: number }>('SELECT coalesce(max(version), 0) AS v FROM schema_migrations'))!.v;
  }

  async identity(spec: { id: string; legacyId: string }): Promise<string> {
    return this.tx(async (q) => {
      await q('SELECT pg_advisory_xact_lock($1)', [IDENTITY_LOCK]);
      const row = (await q<{ user: string }>('SELECT "user" FROM identities WHERE id = $1', [spec.id]))[0];
      if (row) return row.user;
      const legacy = spec.legacyId;
      const taken = (await q('SELECT 1 FROM identities WHERE "user" = $1', [legacy])).length > 0;
      const owns =
        !taken &&
        (
          await q(
            `SELECT 1 FROM plugins WHERE owner = $1 UNION ALL SELECT 1 FROM submissions WHERE owner = $1 OR reviewer = $1
             UNION ALL SELECT 1 FROM publisher_keys WHERE owner = $1 UNION ALL SELECT 1 FROM idempotency WHERE "user" = $1 LIMIT 1`,
            [legacy],
          )
        ).length > 0;
      const user = owns ? legacy : spec.id;
      await q('INSERT INTO identities (id, "user") VALUES ($1, $2)', [spec.id, user]);
      return user;
    });
  }

  async plugin(name: string): Promise<PluginRow | undefined> {
    return this.one<PluginRow>('SELECT name, owner, created_at FROM plugins WHERE name = $1', [name]);
  }

  async plugins(): Promise<PluginRow[]> {
    return this.q<PluginRow>('SELECT name, owner, created_at FROM plugins ORDER BY name');
  }

  async submission(id: string): Promise<SubmissionRow | undefined> {
    return strip(await this.one<SubmissionRow>('SELECT * FROM submissions WHERE id = $1', [id]));
  }

  async submissionOf(plugin: string, version: string): Promise<SubmissionRow | undefined> {
    return (await this.variantsOf(plugin, version))[0];
  }

  async variantsOf(plugin: string, version: string): Promise<SubmissionRow[]> {
    const rows = await this.q<SubmissionRow>('SELECT * FROM submissions WHERE plugin = $1 AND version = $2 ORDER BY seq', [plugin, version]);
    return rows.map((r) => strip(r)!);
  }

  async submissions(filter: SubmissionFilter = {}): Promise<SubmissionRow[]> {
    const where: string[] = [];
    const args: string[] = [];
    for (const k of ['plugin', 'owner', 'state'] as const) {
      if (filter[k] === undefined) continue;
      args.push(filter[k]);
      where.push(`${k} = $${args.length}`);
    }
    const rows = await this.q<SubmissionRow>(`SELECT * FROM submissions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC`, args);
    return rows.map((r) => strip(r)!);
  }

  async published(plugin: string): Promise<SubmissionRow[]> {
    const rows = await this.q<SubmissionRow>("SELECT * FROM submissions WHERE plugin = $1 AND state = 'published' ORDER BY seq", [plugin]);
    return rows.map((r) => strip(r)!);
  }

  async count(plugin?: string): Promise<number> {
    const row =
      plugin === undefined
        ? await this.one<{ n: string }>('SELECT count(*) AS n FROM submissions')
        : await this.one<{ n: string }>('SELECT count(*) AS n FROM submissions WHERE plugin = $1', [plugin]);
    return Number(row!.n);
  }

  async referencedDigests(): Promise<Set<string>> {
    return new Set((await this.q<{ sha256: string }>('SELECT DISTINCT sha256 FROM submissions')).map((r) => r.sha256));
  }

  async hasDigest(sha256: string): Promise<boolean> {
    return (await this.q('SELECT 1 FROM submissions WHERE sha256 = $1 LIMIT 1', [sha256])).length > 0;
  }

  async idempotency(user: string, key: string, now: number): Promise<IdempotencyRow | undefined> {
    return this.one<IdempotencyRow>('SELECT * FROM idempotency WHERE "user" = $1 AND key = $2 AND expires_at > $3', [user, key, now]);
  }

  private static readonly UPSERT_IDEMPOTENCY = insertSql(
    'idempotency',
    COLUMNS.idempotency,
    'ON CONFLICT ("user", key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, body = EXCLUDED.body, expires_at = EXCLUDED.expires_at',
  );

  async rememberIdempotent(row: IdempotencyRow): Promise<void> {
    await this.q(PgMeta.UPSERT_IDEMPOTENCY, valuesOf(row, COLUMNS.idempotency));
  }

  async purgeExpiredIdempotency(now: number): Promise<void> {
    await this.q('DELETE FROM idempotency WHERE expires_at <= $1', [now]);
  }

  async insertSubmission(
    row: SubmissionRow,
    idem: IdempotencyWrite | undefined,
    signature: Omit<SignatureRow, 'submission_id'>,
    now: number,
    attestation?: Omit<AttestationRow, 'submission_id'>,
  ): Promise<InsertResult> {
    return this.tx(
      async (q): Promise<InsertResult> => {
        await q('INSERT INTO plugins (name, owner, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [row.plugin, row.owner, row.created_at]);
        // The plugin row's lock: every insert of this plugin's submissions waits here for the one before.
        const plugin = (await q<PluginRow>('SELECT * FROM plugins WHERE name = $1 FOR UPDATE', [row.plugin]))[0];
        if (plugin.owner !== row.owner) return { kind: 'not-owner', owner: plugin.owner };
        const siblings = await q<SubmissionRow>('SELECT * FROM submissions WHERE plugin = $1 AND version = $2 ORDER BY seq', [row.plugin, row.version]);
        const joined = joinVariant(
          row,
          siblings.map((r) => strip(r)!),
        );
        if (joined.kind !== 'insert') return joined;
        row = joined.row;
        if (signature.publisher_key !== null) {
          const key = (await q<KeyRow>('SELECT * FROM publisher_keys WHERE key_id = $1 FOR SHARE', [signature.publisher_key]))[0];
          if (!key || keyInvalidAt(key, now)) return { kind: 'key-invalid', key };
        }
        await q(insertSql('submissions', SUBMISSION_COLUMNS), valuesOf(row, SUBMISSION_COLUMNS));
        await q(insertSql('signatures', COLUMNS.signatures), valuesOf({ submission_id: row.id, ...signature }, COLUMNS.signatures));
        if (attestation) await q(insertSql('attestations', COLUMNS.attestations), valuesOf({ submission_id: row.id, ...attestation }, COLUMNS.attestations));
        if (idem) {
          const record: IdempotencyRow = {
            user: row.owner,
            key: idem.key,
            fingerprint: idem.fingerprint,
            status: idem.status,
            body: idem.body(row),
            expires_at: idem.expiresAt,
          };
          await q(PgMeta.UPSERT_IDEMPOTENCY, valuesOf(record, COLUMNS.idempotency));
        }
        return { kind: 'inserted', row };
      },
      (r) => r.kind !== 'inserted',
    );
  }

  async review(id: string, from: readonly State[], fields: ReviewFields) {
    // One statement: the row, and (the version moves, not one archive) its other platform variants in a state the move starts from.
    const moved = await this.q<SubmissionRow>(
      `UPDATE submissions SET state = $2, notes = $3, reviewer = $4, updated_at = $5
        WHERE state = ANY($6) AND (id = $1 OR (platform <> '' AND (plugin, version) IN (SELECT plugin, version FROM submissions WHERE id = $1 AND platform <> '' AND state = ANY($6))))
        RETURNING *`,
      [id, fields.state, fields.notes, fields.reviewer, fields.updated_at, from],
    );
    const updated = moved.find((r) => r.id === id);
    if (updated) return { kind: 'updated' as const, row: strip(updated)! };
    const row = await this.submission(id);
    return row ? { kind: 'state' as const, row } : undefined;
  }

  async publish(reqs: readonly PublishRequest[]): Promise<PublishResult | undefined> {
    return this.tx(
      async (q): Promise<PublishResult | undefined> => {
        let first: PublishResult | undefined;
        for (const req of reqs) {
          const r = await publishIn(q, req);
          if (r?.kind !== 'published') return r; // rolled back below: nothing was published
          first ??= r;
        }
        return first;
      },
      (r) => r?.kind !== 'published',
    );
  }

  async marketplaceKeys(): Promise<KeyRow[]> {
    return this.q<KeyRow>('SELECT * FROM marketplace_keys ORDER BY created_at');
  }

  async ensureMarketplaceKey(row: KeyRow): Promise<void> {
    await this.q(`${insertSql('marketplace_keys', COLUMNS.marketplace_keys)} ON CONFLICT (key_id) DO NOTHING`, valuesOf(row, COLUMNS.marketplace_keys));
  }

  async keysOf(owner: string): Promise<KeyRow[]> {
    return this.q<KeyRow>('SELECT * FROM publisher_keys WHERE owner = $1 ORDER BY created_at, key_id', [owner]);
  }

  async keyRow(keyId: string): Promise<KeyRow | undefined> {
    return this.one<KeyRow>('SELECT * FROM publisher_keys WHERE key_id = $1', [keyId]);
  }

  async addKey(row: KeyRow & { owner: string }) {
    const created = await this.one<KeyRow>(
      `${insertSql('publisher_keys', COLUMNS.publisher_keys)} ON CONFLICT (key_id) DO NOTHING RETURNING *`,
      valuesOf(row, COLUMNS.publisher_keys),
    );
    if (created) return { kind: 'created' as const, row: created };
    const existing = (await this.keyRow(row.key_id))!;
    return { kind: existing.owner === row.owner ? ('existing' as const) : ('taken' as const), row: existing };
  }

  async revokeKey(owner: string, keyId: string, at: string): Promise<KeyRow | undefined> {
    return this.one<KeyRow>('UPDATE publisher_keys SET revoked_at = coalesce(revoked_at, $3) WHERE key_id = $2 AND owner = $1 RETURNING *', [owner, keyId, at]);
  }

  async attestationRow(submissionId: string): Promise<AttestationRow | undefined> {
    return this.one<AttestationRow>('SELECT * FROM attestations WHERE submission_id = $1', [submissionId]);
  }

  async successorOf(keyId: string): Promise<string | null> {
    return (await this.one<{ new_key_id: string }>('SELECT new_key_id FROM key_rollovers WHERE old_key_id = $1', [keyId]))?.new_key_id ?? null;
  }

  async rollover(key: KeyRow & { owner: string }, r: RolloverRow) {
    return this.tx(async (q) => {
      const created = (
        await q<KeyRow>(
          `${insertSql('publisher_keys', COLUMNS.publisher_keys)} ON CONFLICT (key_id) DO NOTHING RETURNING *`,
          valuesOf(key, COLUMNS.publisher_keys),
        )
      )[0];
      const row = created ?? (await q<KeyRow>('SELECT * FROM publisher_keys WHERE key_id = $1', [key.key_id]))[0];
      if (!created && row.owner !== key.owner) return { kind: 'taken' as const, row };
      await q(
        `${insertSql('key_rollovers', COLUMNS.key_rollovers)} ON CONFLICT (old_key_id) DO UPDATE SET new_key_id = EXCLUDED.new_key_id, statement = EXCLUDED.statement, created_at = EXCLUDED.created_at`,
        valuesOf(r, COLUMNS.key_rollovers),
      );
      return { kind: created ? ('created' as const) : ('existing' as const), row };
    });
  }

  async signedPublished(plugin: string): Promise<{ version: string; key: string } | undefined> {
    return this.one(
      `SELECT s.version AS version, g.publisher_key AS key FROM submissions s JOIN signatures g ON g.submission_id = s.id
       WHERE s.plugin = $1 AND s.state = 'published' AND g.publisher IS NOT NULL ORDER BY s.seq DESC LIMIT 1`,
      [plugin],
    );
  }

  async signatureRow(submissionId: string): Promise<SignatureRow | undefined> {
    return this.one<SignatureRow>('SELECT * FROM signatures WHERE submission_id = $1', [submissionId]);
  }

  async dump(): Promise<Tables> {
    const out = {} as Record<keyof Tables, unknown[]>;
    for (const t of TABLES) {
      out[t] = await this.q(`SELECT ${COLUMNS[t].map((c) => `"${c}"`).join(', ')} FROM ${t} ORDER BY ${ORDER[t]}`);
    }
    return out as unknown as Tables;
  }

  async load(tables: Tables): Promise<void> {
    await this.tx(async (q) => {
      for (const t of TABLES) {
        const sql = insertSql(t, COLUMNS[t]);
        for (const r of tables[t]) await q(sql, valuesOf(r, COLUMNS[t]));
      }
      await q("SELECT setval(pg_get_serial_sequence('submissions', 'seq'), coalesce((SELECT max(seq) FROM submissions), 0) + 1, false)");
    });
  }
}
