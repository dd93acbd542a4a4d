/**
 * The development marketplace's database: SQLite through better-sqlite3 in
 * WAL mode with a busy timeout. One connection, used synchronously from the
 * event loop, so a request never sees a half-applied change.
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';

export type State = 'pending' | 'in_review' | 'approved' | 'rejected' | 'published';
export const STATES: readonly State[] = ['pending', 'in_review', 'approved', 'rejected', 'published'];
export type Channel = 'stable' | 'beta';

export interface SubmissionRow {
  id: string;
  plugin: string;
  version: string;
  state: State;
  sha256: string;
  size: number;
  channel: Channel | null;
  notes: string | null;
  owner: string;
  reviewer: string | null;
  listing: string;
  created_at: string;
  updated_at: string;
  published_at: string | null;
  /** JSON: the manifest summary of the verified archive (src/release/diff.ts); null for rows from before it. */
  manifest: string | null;
  /** JSON: the diff against the latest published version when this was submitted; null when there was none. */
  permission_diff: string | null;
}

export interface PluginRow {
  name: string;
  owner: string;
  created_at: string;
}

export interface IdempotencyRow {
  user: string;
  key: string;
  fingerprint: string;
  status: number;
  body: string;
  expires_at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS plugins (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
  id TEXT PRIMARY KEY,
  plugin TEXT NOT NULL REFERENCES plugins(name),
  version TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending','in_review','approved','rejected','published')),
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  channel TEXT CHECK (channel IS NULL OR channel IN ('stable','beta')),
  notes TEXT,
  owner TEXT NOT NULL,
  reviewer TEXT,
  listing TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  published_at TEXT,
  seq INTEGER NOT NULL,
  manifest TEXT,
  permission_diff TEXT,
  UNIQUE (plugin, version)
);
CREATE INDEX IF NOT EXISTS submissions_owner ON submissions(owner);
-- Signing (docs/signing.md): developers' public keys, the marketplace's own keys, and per
-- submission the publisher signature it came with and the counter-signature made on publish.
CREATE TABLE IF NOT EXISTS publisher_keys (
  key_id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  public_key TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS marketplace_keys (
  key_id TEXT PRIMARY KEY,
  public_key TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS signatures (
  submission_id TEXT PRIMARY KEY REFERENCES submissions(id),
  contents_sha256 TEXT,
  publisher TEXT,
  publisher_key TEXT,
  marketplace TEXT
);
-- Who a token is (server/auth.ts): its role and full sha256 ("dev-<64 hex>"), mapped to the user id its
-- data is owned by: the same id, or, in data dirs from before, the short id ("dev-<8 hex>") it had then.
CREATE TABLE IF NOT EXISTS identities (
  id TEXT PRIMARY KEY,
  user TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS idempotency (
  user TEXT NOT NULL,
  key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  status INTEGER NOT NULL,
  body TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (user, key)
);
`;

export class DataDirInUseError extends Error {
  readonly code = 'DATA_DIR_IN_USE';
  constructor(file: string, cause: unknown) {
    super(`${file} is in use by another marketplace server`, { cause });
    this.name = 'DataDirInUseError';
  }
}

export class MarketDb {
  readonly db: Db;

  constructor(file: string) {
    this.db = new Database(file);
    try {
      // One server per data dir: the exclusive lock is taken by the first write and held until close,
      // so a second server on the same directory fails at once instead of sweeping the other's uploads.
      this.db.pragma('busy_timeout = 0');
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      // FULL: a commit is on disk before the answer goes out.
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      this.db.exec(SCHEMA);
      // Data dirs from before the manifest summaries get the two columns (NULL in old rows).
      const columns = new Set((this.db.prepare('PRAGMA table_info(submissions)').all() as { name: string }[]).map((c) => c.name));
      for (const col of ['manifest', 'permission_diff']) {
        if (!columns.has(col)) this.db.exec(`ALTER TABLE submissions ADD COLUMN ${col} TEXT`);
      }
      this.db.exec('BEGIN IMMEDIATE; COMMIT;');
      this.db.pragma('busy_timeout = 5000');
    } catch (err) {
      this.db.close();
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw new DataDirInUseError(file, err);
      throw err;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * The user id of a token (its full id and its short id of older data
   * dirs): the one stored for it; else its short id when data here is owned
   * by that id and no other token took it (a data dir from before the full
   * ids: its owner keeps its plugins, submissions and keys); else its full
   * id. Stored, so a later token with the same short id is someone else.
   */
  identity(spec: { id: string; legacyId: string }): string {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT user FROM identities WHERE id = ?').get(spec.id) as { user: string } | undefined;
      if (row) return row.user;
      const legacy = spec.legacyId;
      const taken = this.db.prepare('SELECT 1 FROM identities WHERE user = ?').get(legacy) !== undefined;
      const owns =
        !taken &&
        this.db
          .prepare(
            `SELECT 1 FROM plugins WHERE owner = @u UNION ALL SELECT 1 FROM submissions WHERE owner = @u OR reviewer = @u
             UNION ALL SELECT 1 FROM publisher_keys WHERE owner = @u UNION ALL SELECT 1 FROM idempotency WHERE user = @u LIMIT 1`,
          )
          .get({ u: legacy }) !== undefined;
      const user = owns ? legacy : spec.id;
      this.db.prepare('INSERT INTO identities (id, user) VALUES (?, ?)').run(spec.id, user);
      return user;
    })();
  }

  plugin(name: string): PluginRow | undefined {
    return this.db.prepare('SELECT name, owner, created_at FROM plugins WHERE name = ?').get(name) as PluginRow | undefined;
  }

  submission(id: string): SubmissionRow | undefined {
    return this.db.prepare('SELECT * FROM submissions WHERE id = ?').get(id) as SubmissionRow | undefined;
  }

  submissionOf(plugin: string, version: string): SubmissionRow | undefined {
    return this.db.prepare('SELECT * FROM submissions WHERE plugin = ? AND version = ?').get(plugin, version) as SubmissionRow | undefined;
  }

  submissions(filter: { plugin?: string; owner?: string; state?: State } = {}): SubmissionRow[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.plugin !== undefined) {
      where.push('plugin = ?');
      args.push(filter.plugin);
    }
    if (filter.owner !== undefined) {
      where.push('owner = ?');
      args.push(filter.owner);
    }
    if (filter.state !== undefined) {
      where.push('state = ?');
      args.push(filter.state);
    }
    const sql = `SELECT * FROM submissions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC`;
    return this.db.prepare(sql).all(...args) as SubmissionRow[];
  }

  published(plugin: string): SubmissionRow[] {
    return this.db.prepare("SELECT * FROM submissions WHERE plugin = ? AND state = 'published'").all(plugin) as SubmissionRow[];
  }

  count(plugin?: string): number {
    const row = (
      plugin === undefined
        ? this.db.prepare('SELECT count(*) AS n FROM submissions').get()
        : this.db.prepare('SELECT count(*) AS n FROM submissions WHERE plugin = ?').get(plugin)
    ) as { n: number };
    return row.n;
  }

  /** Every archive digest a row refers to (the rest of the store is garbage). */
  referencedDigests(): Set<string> {
    const rows = this.db.prepare('SELECT DISTINCT sha256 FROM submissions').all() as { sha256: string }[];
    return new Set(rows.map((r) => r.sha256));
  }

  hasDigest(sha256: string): boolean {
    return this.db.prepare('SELECT 1 FROM submissions WHERE sha256 = ? LIMIT 1').get(sha256) !== undefined;
  }

  idempotency(user: string, key: string, now: number): IdempotencyRow | undefined {
    const row = this.db.prepare('SELECT * FROM idempotency WHERE user = ? AND key = ?').get(user, key) as IdempotencyRow | undefined;
    return row && row.expires_at > now ? row : undefined;
  }

  /**
   * Insert a submission (and the plugin, for its first submission) and the
   * idempotency record in one transaction. Re-checks ownership and the
   * (plugin, version) key inside it, so concurrent requests cannot race.
   */
  insertSubmission(
    row: Omit<SubmissionRow, never>,
    idem: { key: string; fingerprint: string; status: number; body: (row: SubmissionRow) => string; expiresAt: number } | undefined,
    /** More rows that belong to the submission (its signature record), written in the same transaction. */
    alongside?: (row: SubmissionRow) => void,
  ): { kind: 'inserted'; row: SubmissionRow } | { kind: 'not-owner'; owner: string } | { kind: 'exists'; row: SubmissionRow } {
    const tx = this.db.transaction(() => {
      const plugin = this.plugin(row.plugin);
      if (plugin && plugin.owner !== row.owner) return { kind: 'not-owner' as const, owner: plugin.owner };
      const existing = this.submissionOf(row.plugin, row.version);
      if (existing) return { kind: 'exists' as const, row: existing };
      if (!plugin) {
        this.db.prepare('INSERT INTO plugins (name, owner, created_at) VALUES (?, ?, ?)').run(row.plugin, row.owner, row.created_at);
      }
      const seq = (this.db.prepare('SELECT coalesce(max(seq), 0) + 1 AS s FROM submissions').get() as { s: number }).s;
      this.db
        .prepare(
          `INSERT INTO submissions (id, plugin, version, state, sha256, size, channel, notes, owner, reviewer, listing,
             created_at, updated_at, published_at, seq, manifest, permission_diff)
           VALUES (@id, @plugin, @version, @state, @sha256, @size, @channel, @notes, @owner, @reviewer, @listing,
             @created_at, @updated_at, @published_at, @seq, @manifest, @permission_diff)`,
        )
        .run({ ...row, seq });
      alongside?.(row);
      if (idem) {
        this.db
          .prepare('INSERT OR REPLACE INTO idempotency (user, key, fingerprint, status, body, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(row.owner, idem.key, idem.fingerprint, idem.status, idem.body(row), idem.expiresAt);
      }
      return { kind: 'inserted' as const, row };
    });
    return tx.immediate();
  }

  /** Store a success answer for a key whose request found an existing submission. */
  rememberIdempotent(user: string, key: string, fingerprint: string, status: number, body: string, expiresAt: number): void {
    this.db
      .prepare('INSERT OR REPLACE INTO idempotency (user, key, fingerprint, status, body, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(user, key, fingerprint, status, body, expiresAt);
  }

  update(id: string, fields: Partial<Pick<SubmissionRow, 'state' | 'notes' | 'reviewer' | 'channel' | 'published_at' | 'updated_at'>>): SubmissionRow {
    const keys = Object.keys(fields);
    const set = keys.map((k) => `${k} = @${k}`).join(', ');
    this.db.prepare(`UPDATE submissions SET ${set} WHERE id = @id`).run({ ...fields, id });
    return this.submission(id)!;
  }

  purgeExpiredIdempotency(now: number): void {
    this.db.prepare('DELETE FROM idempotency WHERE expires_at <= ?').run(now);
  }
}
