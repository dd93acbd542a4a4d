/**
 * The metadata store in SQLite (better-sqlite3, WAL, synchronous FULL): the
 * default, one server per data dir. One connection used synchronously from
 * the event loop, so each method is one transaction that no other request
 * interleaves with; the exclusive lock keeps a second server off the file.
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { migrateSqlite } from './sqlite-schema.js';
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

/** Thrown inside a publish transaction to roll it back with the refusal as the answer. */
class Unpublished extends Error {
  constructor(readonly result: PublishResult | undefined) {
    super('not published');
  }
}

export class DataDirInUseError extends Error {
  readonly code = 'DATA_DIR_IN_USE';
  constructor(file: string, cause: unknown) {
    super(`${file} is in use by another marketplace server`, { cause });
    this.name = 'DataDirInUseError';
  }
}

const SUBMISSION_COLUMNS =
  'id, plugin, version, state, sha256, size, channel, notes, owner, reviewer, listing, created_at, updated_at, published_at, seq, manifest, permission_diff, platform';
const INSERT_SUBMISSION = `INSERT INTO submissions (${SUBMISSION_COLUMNS}) VALUES (@id, @plugin, @version, @state, @sha256, @size, @channel, @notes,
  @owner, @reviewer, @listing, @created_at, @updated_at, @published_at, @seq, @manifest, @permission_diff, @platform)`;
const INSERT_IDEMPOTENCY =
  'INSERT OR REPLACE INTO idempotency (user, key, fingerprint, status, body, expires_at) VALUES (@user, @key, @fingerprint, @status, @body, @expires_at)';
const INSERT_SIGNATURE =
  'INSERT OR REPLACE INTO signatures (submission_id, contents_sha256, publisher, publisher_key, marketplace) VALUES (@submission_id, @contents_sha256, @publisher, @publisher_key, @marketplace)';
const INSERT_PUBLISHER_KEY =
  'INSERT INTO publisher_keys (key_id, owner, public_key, created_at, expires_at, revoked_at) VALUES (@key_id, @owner, @public_key, @created_at, @expires_at, @revoked_at)';
const INSERT_ATTESTATION = `INSERT OR REPLACE INTO attestations (submission_id, sbom_sha256, sbom_size, provenance_sha256, provenance_size, provenance_key, marketplace)
  VALUES (@submission_id, @sbom_sha256, @sbom_size, @provenance_sha256, @provenance_size, @provenance_key, @marketplace)`;
const INSERT_ROLLOVER =
  'INSERT OR REPLACE INTO key_rollovers (old_key_id, new_key_id, statement, created_at) VALUES (@old_key_id, @new_key_id, @statement, @created_at)';
const INSERT_MARKETPLACE_KEY =
  'INSERT OR IGNORE INTO marketplace_keys (key_id, public_key, created_at, expires_at, revoked_at) VALUES (@key_id, @public_key, @created_at, @expires_at, @revoked_at)';

function openDb(file: string, now: () => number): Db {
  const db = new Database(file);
  try {
    // One server per data dir: the exclusive lock is taken by the first write and held until close,
    // so a second server on the same directory fails at once instead of sweeping the other's uploads.
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before the answer goes out.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.exec('BEGIN IMMEDIATE; COMMIT;');
    migrateSqlite(db, now);
    db.pragma('busy_timeout = 5000');
    return db;
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw new DataDirInUseError(file, err);
    throw err;
  }
}

export class SqliteMeta implements MetaStore {
  readonly kind = 'sqlite' as const;
  readonly db: Db;

  constructor(file: string, now: () => number = Date.now) {
    this.db = openDb(file, now);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private get<T>(sql: string, ...args: unknown[]): T | undefined {
    return this.db.prepare(sql).get(...args) as T | undefined;
  }

  private all<T>(sql: string, ...args: unknown[]): T[] {
    return this.db.prepare(sql).all(...args) as T[];
  }

  /** One server per data dir: nothing to take turns with. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async schemaVersion(): Promise<number> {
    return this.get<{ v: number }>('SELECT coalesce(max(version), 0) AS v FROM schema_migrations')!.v;
  }

  /**
   * The stored user id of a token; else its short id when data here is owned
   * by that id and no other token took it (a data dir from before the full
   * ids); else its full id. Stored, so a later token with the same short id is someone else.
   */
  async identity(spec: { id: string; legacyId: string }): Promise<string> {
    return this.db
      .transaction(() => {
        const row = this.get<{ user: string }>('SELECT user FROM identities WHERE id = ?', spec.id);
        if (row) return row.user;
        const legacy = spec.legacyId;
        const taken = this.get('SELECT 1 FROM identities WHERE user = ?', legacy) !== undefined;
        const owns =
          !taken &&
          this.get(
            `SELECT 1 FROM plugins WHERE owner = @u UNION ALL SELECT 1 FROM submissions WHERE owner = @u OR reviewer = @u
           UNION ALL SELECT 1 FROM publisher_keys WHERE owner = @u UNION ALL SELECT 1 FROM idempotency WHERE user = @u LIMIT 1`,
            { u: legacy },
          ) !== undefined;
        const user = owns ? legacy : spec.id;
        this.db.prepare('INSERT INTO identities (id, user) VALUES (?, ?)').run(spec.id, user);
        return user;
      })
      .immediate();
  }

  async plugin(name: string): Promise<PluginRow | undefined> {
    return this.get<PluginRow>('SELECT name, owner, created_at FROM plugins WHERE name = ?', name);
  }

  async plugins(): Promise<PluginRow[]> {
    return this.all<PluginRow>('SELECT name, owner, created_at FROM plugins ORDER BY name');
  }

  private row(id: string): SubmissionRow | undefined {
    return this.get<SubmissionRow>('SELECT * FROM submissions WHERE id = ?', id);
  }

  async submission(id: string): Promise<SubmissionRow | undefined> {
    return strip(this.row(id));
  }

  private rowsOf(plugin: string, version: string): SubmissionRow[] {
    return this.all<SubmissionRow>('SELECT * FROM submissions WHERE plugin = ? AND version = ? ORDER BY seq', plugin, version).map((r) => strip(r)!);
  }

  async submissionOf(plugin: string, version: string): Promise<SubmissionRow | undefined> {
    return this.rowsOf(plugin, version)[0];
  }

  async variantsOf(plugin: string, version: string): Promise<SubmissionRow[]> {
    return this.rowsOf(plugin, version);
  }

  async submissions(filter: SubmissionFilter = {}): Promise<SubmissionRow[]> {
    const where: string[] = [];
    const args: string[] = [];
    for (const k of ['plugin', 'owner', 'state'] as const) {
      if (filter[k] === undefined) continue;
      where.push(`${k} = ?`);
      args.push(filter[k]);
    }
    const sql = `SELECT * FROM submissions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC`;
    return this.all<SubmissionRow>(sql, ...args).map((r) => strip(r)!);
  }

  async published(plugin: string): Promise<SubmissionRow[]> {
    return this.all<SubmissionRow>("SELECT * FROM submissions WHERE plugin = ? AND state = 'published' ORDER BY seq", plugin).map((r) => strip(r)!);
  }

  async count(plugin?: string): Promise<number> {
    return this.countNow(plugin);
  }

  /** count() without waiting (the server handle's countSubmissions, for tests). */
  countNow(plugin?: string): number {
    if (!this.db.open) return 0;
    const row =
      plugin === undefined
        ? this.get<{ n: number }>('SELECT count(*) AS n FROM submissions')
        : this.get<{ n: number }>('SELECT count(*) AS n FROM submissions WHERE plugin = ?', plugin);
    return row!.n;
  }

  async referencedDigests(): Promise<Set<string>> {
    return new Set(this.all<{ sha256: string }>('SELECT DISTINCT sha256 FROM submissions').map((r) => r.sha256));
  }

  async hasDigest(sha256: string): Promise<boolean> {
    return this.get('SELECT 1 FROM submissions WHERE sha256 = ? LIMIT 1', sha256) !== undefined;
  }

  async idempotency(user: string, key: string, now: number): Promise<IdempotencyRow | undefined> {
    const row = this.get<IdempotencyRow>('SELECT * FROM idempotency WHERE user = ? AND key = ?', user, key);
    return row && row.expires_at > now ? row : undefined;
  }

  async rememberIdempotent(row: IdempotencyRow): Promise<void> {
    this.db.prepare(INSERT_IDEMPOTENCY).run(row);
  }

  async purgeExpiredIdempotency(now: number): Promise<void> {
    this.db.prepare('DELETE FROM idempotency WHERE expires_at <= ?').run(now);
  }

  async insertSubmission(
    row: SubmissionRow,
    idem: IdempotencyWrite | undefined,
    signature: Omit<SignatureRow, 'submission_id'>,
    now: number,
    attestation?: Omit<AttestationRow, 'submission_id'>,
  ): Promise<InsertResult> {
    const tx = this.db.transaction((): InsertResult => {
      const plugin = this.get<PluginRow>('SELECT * FROM plugins WHERE name = ?', row.plugin);
      if (plugin && plugin.owner !== row.owner) return { kind: 'not-owner', owner: plugin.owner };
      const joined = joinVariant(row, this.rowsOf(row.plugin, row.version));
      if (joined.kind !== 'insert') return joined;
      row = joined.row;
      if (signature.publisher_key !== null) {
        const key = this.keyRowSync(signature.publisher_key);
        if (!key || keyInvalidAt(key, now)) return { kind: 'key-invalid', key };
      }
      if (!plugin) this.db.prepare('INSERT INTO plugins (name, owner, created_at) VALUES (?, ?, ?)').run(row.plugin, row.owner, row.created_at);
      const seq = this.get<{ s: number }>('SELECT coalesce(max(seq), 0) + 1 AS s FROM submissions')!.s;
      this.db.prepare(INSERT_SUBMISSION).run({ ...row, seq });
      this.db.prepare(INSERT_SIGNATURE).run({ submission_id: row.id, ...signature });
      if (attestation) this.db.prepare(INSERT_ATTESTATION).run({ submission_id: row.id, ...attestation });
      if (idem) {
        this.db
          .prepare(INSERT_IDEMPOTENCY)
          .run({ user: row.owner, key: idem.key, fingerprint: idem.fingerprint, status: idem.status, body: idem.body(row), expires_at: idem.expiresAt });
      }
      return { kind: 'inserted', row };
    });
    return tx.immediate();
  }

  async review(id: string, from: readonly State[], fields: ReviewFields) {
    return this.db
      .transaction(() => {
        const row = strip(this.row(id));
        if (!row) return undefined;
        if (!from.includes(row.state)) return { kind: 'state' as const, row };
        // The version moves, not one archive: its other platform variants in a state the move starts from move with it.
        const variants = row.platform
          ? this.all<{ id: string; state: State }>(
              'SELECT id, state FROM submissions WHERE plugin = ? AND version = ? AND platform <> ?',
              row.plugin,
              row.version,
              '',
            )
          : [];
        const update = this.db.prepare('UPDATE submissions SET state = @state, notes = @notes, reviewer = @reviewer, updated_at = @updated_at WHERE id = @id');
        for (const v of [{ id, state: row.state }, ...variants.filter((x) => x.id !== id)]) if (from.includes(v.state)) update.run({ ...fields, id: v.id });
        return { kind: 'updated' as const, row: strip(this.row(id))! };
      })
      .immediate();
  }

  async publish(reqs: readonly PublishRequest[]): Promise<PublishResult | undefined> {
    try {
      return this.db
        .transaction((): PublishResult | undefined => {
          let first: PublishResult | undefined;
          for (const req of reqs) {
            const r = this.publishSync(req);
            if (r?.kind !== 'published') throw new Unpublished(r);
            first ??= r;
          }
          return first;
        })
        .immediate();
    } catch (err) {
      if (err instanceof Unpublished) return err.result; // rolled back: nothing was published
      throw err;
    }
  }

  private publishSync(req: PublishRequest): PublishResult | undefined {
    const row = strip(this.row(req.id));
    if (!row) return undefined;
    if (row.state !== 'approved') return { kind: 'state', row };
    if (req.publisherKey !== null) {
      const key = this.keyRowSync(req.publisherKey);
      if (!key || keyInvalidAt(key, req.now)) return { kind: 'key-invalid', key };
    }
    const updated = this.db.prepare('UPDATE signatures SET marketplace = ? WHERE submission_id = ?').run(req.marketplace, row.id);
    if (updated.changes === 0) {
      this.db.prepare(INSERT_SIGNATURE).run({
        submission_id: row.id,
        contents_sha256: req.contentsSha256,
        publisher: null,
        publisher_key: null,
        marketplace: req.marketplace,
      });
    }
    if (req.attestationMarketplace !== null) {
      this.db.prepare('UPDATE attestations SET marketplace = ? WHERE submission_id = ?').run(req.attestationMarketplace, row.id);
    }
    this.db
      .prepare("UPDATE submissions SET state = 'published', channel = ?, published_at = ?, updated_at = ? WHERE id = ?")
      .run(req.channel, req.at, req.at, row.id);
    return { kind: 'published', row: strip(this.row(row.id))! };
  }

  async marketplaceKeys(): Promise<KeyRow[]> {
    return this.all<KeyRow>('SELECT * FROM marketplace_keys ORDER BY created_at');
  }

  async ensureMarketplaceKey(row: KeyRow): Promise<void> {
    this.db.prepare(INSERT_MARKETPLACE_KEY).run(row);
  }

  async keysOf(owner: string): Promise<KeyRow[]> {
    return this.all<KeyRow>('SELECT * FROM publisher_keys WHERE owner = ? ORDER BY created_at, key_id', owner);
  }

  private keyRowSync(keyId: string): KeyRow | undefined {
    return this.get<KeyRow>('SELECT * FROM publisher_keys WHERE key_id = ?', keyId);
  }

  async keyRow(keyId: string): Promise<KeyRow | undefined> {
    return this.keyRowSync(keyId);
  }

  async addKey(row: KeyRow & { owner: string }) {
    return this.db
      .transaction(() => {
        const existing = this.keyRowSync(row.key_id);
        if (existing) return { kind: existing.owner === row.owner ? ('existing' as const) : ('taken' as const), row: existing };
        this.db.prepare(INSERT_PUBLISHER_KEY).run(row);
        return { kind: 'created' as const, row };
      })
      .immediate();
  }

  async revokeKey(owner: string, keyId: string, at: string): Promise<KeyRow | undefined> {
    return this.db
      .transaction(() => {
        const row = this.keyRowSync(keyId);
        if (!row || row.owner !== owner) return undefined;
        this.db.prepare('UPDATE publisher_keys SET revoked_at = coalesce(revoked_at, ?) WHERE key_id = ?').run(at, keyId);
        return this.keyRowSync(keyId);
      })
      .immediate();
  }

  async attestationRow(submissionId: string): Promise<AttestationRow | undefined> {
    return this.get<AttestationRow>('SELECT * FROM attestations WHERE submission_id = ?', submissionId);
  }

  async successorOf(keyId: string): Promise<string | null> {
    return this.get<{ new_key_id: string }>('SELECT new_key_id FROM key_rollovers WHERE old_key_id = ?', keyId)?.new_key_id ?? null;
  }

  async rollover(key: KeyRow & { owner: string }, r: RolloverRow) {
    return this.db
      .transaction(() => {
        const existing = this.keyRowSync(key.key_id);
        if (existing && existing.owner !== key.owner) return { kind: 'taken' as const, row: existing };
        if (!existing) this.db.prepare(INSERT_PUBLISHER_KEY).run(key);
        this.db.prepare(INSERT_ROLLOVER).run(r);
        return { kind: existing ? ('existing' as const) : ('created' as const), row: existing ?? key };
      })
      .immediate();
  }

  async signedPublished(plugin: string): Promise<{ version: string; key: string } | undefined> {
    return this.get(
      `SELECT s.version AS version, g.publisher_key AS key FROM submissions s JOIN signatures g ON g.submission_id = s.id
       WHERE s.plugin = ? AND s.state = 'published' AND g.publisher IS NOT NULL ORDER BY s.seq DESC LIMIT 1`,
      plugin,
    );
  }

  async signatureRow(submissionId: string): Promise<SignatureRow | undefined> {
    return this.get<SignatureRow>('SELECT * FROM signatures WHERE submission_id = ?', submissionId);
  }

  async dump(): Promise<Tables> {
    return {
      plugins: this.all('SELECT * FROM plugins ORDER BY name'),
      submissions: this.all('SELECT * FROM submissions ORDER BY seq'),
      publisher_keys: this.all('SELECT * FROM publisher_keys ORDER BY key_id'),
      marketplace_keys: this.all('SELECT * FROM marketplace_keys ORDER BY key_id'),
      signatures: this.all('SELECT * FROM signatures ORDER BY submission_id'),
      identities: this.all('SELECT * FROM identities ORDER BY id'),
      idempotency: this.all('SELECT * FROM idempotency ORDER BY user, key'),
      attestations: this.all('SELECT * FROM attestations ORDER BY submission_id'),
      key_rollovers: this.all('SELECT * FROM key_rollovers ORDER BY old_key_id'),
    };
  }

  async load(tables: Tables): Promise<void> {
    const insert: Record<keyof Tables, string> = {
      plugins: 'INSERT INTO plugins (name, owner, created_at) VALUES (@name, @owner, @created_at)',
      submissions: INSERT_SUBMISSION,
      publisher_keys: INSERT_PUBLISHER_KEY,
      marketplace_keys: INSERT_MARKETPLACE_KEY,
      signatures: INSERT_SIGNATURE,
      identities: 'INSERT INTO identities (id, user) VALUES (@id, @user)',
      idempotency: INSERT_IDEMPOTENCY,
      attestations: INSERT_ATTESTATION,
      key_rollovers: INSERT_ROLLOVER,
    };
    this.db
      .transaction(() => {
        for (const t of TABLES) {
          const stmt = this.db.prepare(insert[t]);
          for (const r of tables[t]) stmt.run(r);
        }
      })
      .immediate();
  }
}

/** A submission without its order number (seq is the store's, not the API's). */
function strip(row: (SubmissionRow & { seq?: number }) | undefined): SubmissionRow | undefined {
  if (!row) return undefined;
  const { seq: _seq, ...rest } = row;
  return rest;
}
