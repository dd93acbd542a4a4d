/**
 * The metadata store: users (token identities), publisher and marketplace
 * keys, plugins, submissions with their signature records, and idempotency
 * records. Two implementations: SQLite in the data dir (sqlite-meta.ts, the
 * default) and PostgreSQL (pg-meta.ts), which any number of replicas share.
 *
 * Every rule that must hold across replicas is decided here, inside one
 * transaction of the database: ownership of a plugin, one row per (plugin,
 * version), the state a review or publish moves from, a key revoked before
 * an upload or a publish commits. Callers never check-then-write.
 *
 * dump() and load() read and write every row (migration between stores, and
 * what an index writer reads besides plugins() and published()).
 */
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
  /**
   * The platform variant (core/package/wheels.ts variantOf): '' for the one
   * archive of a version; a wheel platform tag for each archive of a
   * version built with --split-platforms (one row per variant).
   */
  platform: string;
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

export interface KeyRow {
  key_id: string;
  owner?: string;
  public_key: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface SignatureRow {
  submission_id: string;
  contents_sha256: string | null;
  publisher: string | null;
  publisher_key: string | null;
  marketplace: string | null;
}

/** What came with an upload besides the archive (server/attestations.ts): an SBOM and a provenance envelope. */
export interface AttestationRow {
  submission_id: string;
  sbom_sha256: string | null;
  sbom_size: number | null;
  provenance_sha256: string | null;
  provenance_size: number | null;
  provenance_key: string | null;
  /** The marketplace's DSSE counter-signature (JSON), made on publish. */
  marketplace: string | null;
}

/** A key handed over to another (server/rollover.ts). */
export interface RolloverRow {
  old_key_id: string;
  new_key_id: string;
  statement: string;
  created_at: string;
}

/** Every row of a store, table by table (submissions in insertion order, with their order number). */
export interface Tables {
  plugins: PluginRow[];
  submissions: (SubmissionRow & { seq: number })[];
  publisher_keys: (KeyRow & { owner: string })[];
  marketplace_keys: KeyRow[];
  signatures: SignatureRow[];
  identities: { id: string; user: string }[];
  idempotency: IdempotencyRow[];
  attestations: AttestationRow[];
  key_rollovers: RolloverRow[];
}

export const TABLES: readonly (keyof Tables)[] = [
  'plugins',
  'submissions',
  'publisher_keys',
  'marketplace_keys',
  'signatures',
  'identities',
  'idempotency',
  'attestations',
  'key_rollovers',
];

export interface IdempotencyWrite {
  key: string;
  fingerprint: string;
  status: number;
  body: (row: SubmissionRow) => string;
  expiresAt: number;
}

export type InsertResult =
  | { kind: 'inserted'; row: SubmissionRow }
  | { kind: 'not-owner'; owner: string }
  | { kind: 'exists'; row: SubmissionRow }
  /** The publisher key of the upload was revoked (or expired) before the row could commit. */
  | { kind: 'key-invalid'; key: KeyRow | undefined }
  /** Another platform variant of the version, which this one does not agree with (why says how). */
  | { kind: 'variant-mismatch'; row: SubmissionRow; why: string };

/**
 * Whether a new row may join the rows already stored for its (plugin,
 * version), decided inside the insert's transaction by both stores: the
 * row of the same platform (or of a version without variants) is `exists`;
 * a variant of another platform must agree with them (the same manifest
 * file, a version not reviewed to an end yet) and takes their state, else
 * `variant-mismatch`. Undefined: insert `row` as returned in `insert`.
 */
export function joinVariant(row: SubmissionRow, siblings: readonly SubmissionRow[]): InsertResult | { kind: 'insert'; row: SubmissionRow } {
  const first = siblings[0];
  if (!first) return { kind: 'insert', row };
  const same = siblings.find((s) => s.platform === row.platform) ?? (row.platform === '' || first.platform === '' ? first : undefined);
  if (same) return { kind: 'exists', row: same };
  if (first.state === 'rejected' || first.state === 'published') {
    return { kind: 'variant-mismatch', row: first, why: `the version is already ${first.state}; variants are added before it is published` };
  }
  if (manifestDigestOf(first) !== manifestDigestOf(row)) {
    return { kind: 'variant-mismatch', row: first, why: 'its config/plugin.yaml differs from the other variants (only the wheels may differ)' };
  }
  return { kind: 'insert', row: { ...row, state: first.state, reviewer: first.reviewer, notes: first.notes, channel: first.channel } };
}

/** The sha256 of the manifest file a row's archive carries (kept in its manifest summary). */
function manifestDigestOf(row: SubmissionRow): string | undefined {
  try {
    const v = row.manifest ? (JSON.parse(row.manifest) as { manifestSha256?: unknown }) : undefined;
    return typeof v?.manifestSha256 === 'string' ? v.manifestSha256 : (row.manifest ?? undefined);
  } catch {
    return undefined;
  }
}

export interface SubmissionFilter {
  plugin?: string;
  owner?: string;
  state?: State;
}

export type ReviewFields = Pick<SubmissionRow, 'state' | 'notes' | 'reviewer' | 'updated_at'>;

export interface PublishRequest {
  id: string;
  channel: Channel;
  at: string;
  /** The counter-signature document (JSON) and the member-list digest it names. */
  marketplace: string;
  contentsSha256: string | null;
  /** The key that signed the upload, re-checked (revoked/expired at `now`) inside the transaction. */
  publisherKey: string | null;
  /** The attestations' counter-signature (JSON), stored with the publish when the upload had attestations. */
  attestationMarketplace: string | null;
  now: number;
}

export type PublishResult =
  | { kind: 'published'; row: SubmissionRow }
  /** The row was not approved when the transaction took it (another replica moved it). */
  | { kind: 'state'; row: SubmissionRow }
  | { kind: 'key-invalid'; key: KeyRow | undefined };

export interface MetaStore {
  readonly kind: 'sqlite' | 'postgres';
  /** The stored user id of a token (see auth.ts): its own id, or the legacy short id that owns data. */
  identity(spec: { id: string; legacyId: string }): Promise<string>;
  plugin(name: string): Promise<PluginRow | undefined>;
  plugins(): Promise<PluginRow[]>;
  submission(id: string): Promise<SubmissionRow | undefined>;
  submissionOf(plugin: string, version: string): Promise<SubmissionRow | undefined>;
  /** Every row of a version: one, or one per platform variant (in the order they were submitted). */
  variantsOf(plugin: string, version: string): Promise<SubmissionRow[]>;
  /** Newest first. */
  submissions(filter?: SubmissionFilter): Promise<SubmissionRow[]>;
  published(plugin: string): Promise<SubmissionRow[]>;
  count(plugin?: string): Promise<number>;
  /** Every archive digest a row names (the rest of the blob store is garbage). */
  referencedDigests(): Promise<Set<string>>;
  hasDigest(sha256: string): Promise<boolean>;
  idempotency(user: string, key: string, now: number): Promise<IdempotencyRow | undefined>;
  rememberIdempotent(row: IdempotencyRow): Promise<void>;
  purgeExpiredIdempotency(now: number): Promise<void>;
  /**
   * The submission, its plugin (first submission), its signature record and
   * its idempotency record in one transaction, ownership, (plugin, version)
   * and the publisher key checked inside it.
   */
  insertSubmission(
    row: SubmissionRow,
    idem: IdempotencyWrite | undefined,
    signature: Omit<SignatureRow, 'submission_id'>,
    now: number,
    attestation?: Omit<AttestationRow, 'submission_id'>,
  ): Promise<InsertResult>;
  attestationRow(submissionId: string): Promise<AttestationRow | undefined>;
  /**
   * Move a submission from one of `from` to fields.state, with its version's
   * other platform variants (those in one of `from`), in one transaction;
   * 'state' with the row as it is when it was elsewhere.
   */
  review(id: string, from: readonly State[], fields: ReviewFields): Promise<{ kind: 'updated' | 'state'; row: SubmissionRow } | undefined>;
  /**
   * Publish archives in one transaction: a version's one archive, or every
   * platform variant of it. All or none: the first request that cannot be
   * published (a row gone, not approved, a publisher key revoked since) is
   * the answer and nothing is published; else the first request's result.
   */
  publish(reqs: readonly PublishRequest[]): Promise<PublishResult | undefined>;
  // keys
  marketplaceKeys(): Promise<KeyRow[]>;
  /** Record the marketplace's key (kept when already there). */
  ensureMarketplaceKey(row: KeyRow): Promise<void>;
  keysOf(owner: string): Promise<KeyRow[]>;
  keyRow(keyId: string): Promise<KeyRow | undefined>;
  addKey(row: KeyRow & { owner: string }): Promise<{ kind: 'created' | 'existing' | 'taken'; row: KeyRow }>;
  /** Revoke the owner's key (the first revocation time is kept); undefined when the owner has no such key. */
  revokeKey(owner: string, keyId: string, at: string): Promise<KeyRow | undefined>;
  /** The key an old key handed over to, when it did. */
  successorOf(keyId: string): Promise<string | null>;
  /** Register the new key of a rollover and record the hand-over, in one transaction. */
  rollover(key: KeyRow & { owner: string }, r: RolloverRow): Promise<{ kind: 'created' | 'existing' | 'taken'; row: KeyRow }>;
  /** The newest published version of the plugin that came with a publisher signature. */
  signedPublished(plugin: string): Promise<{ version: string; key: string } | undefined>;
  signatureRow(submissionId: string): Promise<SignatureRow | undefined>;
  // migration and index writers
  dump(): Promise<Tables>;
  /** Write every row of `tables` into this (empty) store in one transaction. */
  load(tables: Tables): Promise<void>;
  /** Run fn while holding the store's start-up lock (PostgreSQL: an advisory lock; replicas take turns). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** The applied schema version. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}

/** Whether a key (revoked_at / expires_at) is no longer usable at `now` (epoch ms). */
export function keyInvalidAt(key: Pick<KeyRow, 'revoked_at' | 'expires_at'>, now: number): boolean {
  return (key.revoked_at !== null && now >= Date.parse(key.revoked_at)) || (key.expires_at !== null && now >= Date.parse(key.expires_at));
}
