/**
 * The SQLite schema, as versioned migrations (schema_migrations holds the
 * applied versions). Version 1 is the schema of the first data dirs (every
 * statement IF NOT EXISTS, so a data dir from before the table is
 * migrated in place); later versions add to it. pg-schema.ts holds the same
 * tables for PostgreSQL.
 */
import type { Database as Db } from 'better-sqlite3';

const V1 = `
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
  UNIQUE (plugin, version)
);
CREATE INDEX IF NOT EXISTS submissions_owner ON submissions(owner);
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

/** Version 2: the manifest summary and the permission diff of a submission (NULL in older rows). */
function v2(db: Db): void {
  const columns = new Set((db.prepare('PRAGMA table_info(submissions)').all() as { name: string }[]).map((c) => c.name));
  for (const col of ['manifest', 'permission_diff']) {
    if (!columns.has(col)) db.exec(`ALTER TABLE submissions ADD COLUMN ${col} TEXT`);
  }
}

/** Version 3: what came with an upload (SBOM, provenance) and key rollovers (data dirs of the versions that made these themselves keep them). */
const V3 = `
CREATE TABLE IF NOT EXISTS attestations (
  submission_id TEXT PRIMARY KEY,
  sbom_sha256 TEXT, sbom_size INTEGER,
  provenance_sha256 TEXT, provenance_size INTEGER, provenance_key TEXT,
  marketplace TEXT
);
CREATE TABLE IF NOT EXISTS key_rollovers (old_key_id TEXT PRIMARY KEY, new_key_id TEXT NOT NULL, statement TEXT NOT NULL, created_at TEXT NOT NULL);
`;

/**
 * Version 4: platform variants, one row per (plugin, version, platform);
 * '' for a version's one archive. SQLite cannot drop the old UNIQUE
 * (plugin, version), so the table is made anew and the rows copied, with
 * foreign keys off (migrateSqlite: the tables that name it would lose their
 * rows' parent for a moment), and checked before the commit.
 */
function v4(db: Db): void {
  const columns = (db.prepare('PRAGMA table_info(submissions)').all() as { name: string }[]).map((c) => c.name);
  if (columns.includes('platform')) return;
  db.exec(`
CREATE TABLE submissions_v4 (
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
  platform TEXT NOT NULL DEFAULT '',
  UNIQUE (plugin, version, platform)
);
INSERT INTO submissions_v4 (${columns.join(', ')}) SELECT ${columns.join(', ')} FROM submissions;
DROP TABLE submissions;
ALTER TABLE submissions_v4 RENAME TO submissions;
CREATE INDEX IF NOT EXISTS submissions_owner ON submissions(owner);
`);
}

const MIGRATIONS: { version: number; apply: (db: Db) => void; rebuilds?: true }[] = [
  { version: 1, apply: (db) => db.exec(V1) },
  { version: 2, apply: v2 },
  { version: 3, apply: (db) => db.exec(V3) },
  { version: 4, apply: v4, rebuilds: true },
];

export const SQLITE_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Apply the migrations not applied yet, each in its own transaction; the versions applied now. */
export function migrateSqlite(db: Db, now: () => number): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const done = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    // A table made anew: foreign keys off around the transaction (the pragma is a no-op inside one), checked before it commits.
    if (m.rebuilds) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        m.apply(db);
        if (m.rebuilds && (db.pragma('foreign_key_check') as unknown[]).length)
          throw new Error(`schema version ${m.version}: a row names a submission that is not there`);
        db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, new Date(now()).toISOString());
      }).immediate();
    } finally {
      if (m.rebuilds) db.pragma('foreign_keys = ON');
    }
    applied.push(m.version);
  }
  return applied;
}
