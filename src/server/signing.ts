/**
 * The development marketplace's side of signing (docs/signing.md): its own
 * Ed25519 key (<data-dir>/signing-key.pem, mode 0600, made on first start),
 * developers' registered public keys, the publisher signature checked on
 * submit with the same rule the CLI's `verify` applies (src/signing/verify.ts),
 * and the counter-signature made on publish.
 */
import { readRegularText } from '../io/read-file.js';
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import path from 'node:path';
import type { Database as Db } from 'better-sqlite3';
import { writeFileAtomic } from '../io/atomic.js';
import { archiveFacts, type ArchiveFacts } from '../signing/archive.js';
import { parseSignature, signFields, SIGNATURE_FORMAT, type SignatureDocument } from '../signing/document.js';
import { parseKeyRecord, type KeyRecord, type TrustedKey } from '../signing/keyring.js';
import { ALGORITHM, generateKeyPair, keyIdOf, parsePrivateKeyText, privateKeyPem, publicKeyBase64 } from '../signing/keys.js';
import { checkSignature, signatureDigest } from '../signing/verify.js';
import type { SubmissionRow } from './db.js';
import { ApiError } from './errors.js';
import { signEnvelope, type Envelope } from '../attest/dsse.js';

export const MARKETPLACE_KEY_FILE = 'signing-key.pem';

interface KeyRow {
  key_id: string;
  owner?: string;
  public_key: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

interface SignatureRow {
  submission_id: string;
  contents_sha256: string | null;
  publisher: string | null;
  publisher_key: string | null;
  marketplace: string | null;
}

/** What a submit's signature check decided, stored with the submission. */
export interface UploadSigning {
  contentsSha256: string | null;
  publisher: SignatureDocument | null;
}

function record(row: KeyRow, owner?: string): KeyRecord {
  const r: KeyRecord = {
    key_id: row.key_id,
    algorithm: ALGORITHM,
    public_key: row.public_key,
    created_at: row.created_at,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
  };
  const who = owner ?? row.owner;
  if (who !== undefined) r.owner = who;
  return r;
}

export class ServerSigning {
  readonly keyId: string;

  constructor(
    private readonly db: Db,
    private readonly privateKey: KeyObject,
    private readonly now: () => number,
  ) {
    this.keyId = keyIdOf(createPublicKey(privateKey));
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  /** The marketplace's own keys, for GET /keys. */
  marketplaceKeys(): KeyRecord[] {
    const rows = this.db.prepare('SELECT * FROM marketplace_keys ORDER BY created_at').all() as KeyRow[];
    return rows.map((r) => record(r, 'marketplace'));
  }

  keysOf(owner: string): KeyRecord[] {
    const rows = this.db.prepare('SELECT * FROM publisher_keys WHERE owner = ? ORDER BY created_at, key_id').all(owner) as KeyRow[];
    return rows.map((r) => record(r));
  }

  private keyRow(keyId: string): KeyRow | undefined {
    return this.db.prepare('SELECT * FROM publisher_keys WHERE key_id = ?').get(keyId) as KeyRow | undefined;
  }

  /** A publisher key's record, whoever owns it. */
  keyRecord(keyId: string): KeyRecord | undefined {
    const row = this.keyRow(keyId);
    return row ? record(row) : undefined;
  }

  /** A DSSE envelope over `body` signed with the marketplace's key (the attestations' counter-signature, attestations.ts). */
  envelope(payloadType: string, body: Buffer): Envelope {
    return signEnvelope(payloadType, body, this.privateKey, this.keyId);
  }

  /** Register a developer's key: created, already theirs, or another developer's. */
  addKey(owner: string, publicKey: KeyObject, expiresAt: string | null): { record: KeyRecord; created: boolean } {
    const keyId = keyIdOf(publicKey);
    const tx = this.db.transaction(() => {
      const existing = this.keyRow(keyId);
      if (existing) {
        if (existing.owner !== owner) {
          throw new ApiError(409, 'KEY_TAKEN', `key ${keyId} is registered to another developer; generate your own with \`plexichat-plugin keys generate\``);
        }
        return { record: record(existing), created: false };
      }
      const row: KeyRow = { key_id: keyId, owner, public_key: publicKeyBase64(publicKey), created_at: this.iso(), expires_at: expiresAt, revoked_at: null };
      this.db
        .prepare(
          'INSERT INTO publisher_keys (key_id, owner, public_key, created_at, expires_at, revoked_at) VALUES (@key_id, @owner, @public_key, @created_at, @expires_at, @revoked_at)',
        )
        .run(row);
      return { record: record(row), created: true };
    });
    return tx.immediate();
  }

  /** Revoke one of the owner's keys (the first revocation time is kept). */
  revoke(owner: string, keyId: string): KeyRecord {
    const row = this.keyRow(keyId);
    if (!row || row.owner !== owner)
      throw new ApiError(404, 'KEY_NOT_FOUND', `you have no key ${keyId.slice(0, 40)}; \`plexichat-plugin marketplace keys list\` shows yours`);
    if (row.revoked_at === null) {
      row.revoked_at = this.iso();
      this.db.prepare('UPDATE publisher_keys SET revoked_at = ? WHERE key_id = ?').run(row.revoked_at, keyId);
    }
    return record(row);
  }

  /** The owner's keys as a verifier trusts them (revoked and expired ones carry their dates). */
  trustedOf(owner: string): TrustedKey[] {
    return this.keysOf(owner).map((r, i) => parseKeyRecord(r, i));
  }

  /** The newest published version of the plugin that came with a publisher signature. */
  private signedPublished(name: string): { version: string; key: string } | undefined {
    return this.db
      .prepare(
        `SELECT s.version AS version, g.publisher_key AS key FROM submissions s JOIN signatures g ON g.submission_id = s.id
         WHERE s.plugin = ? AND s.state = 'published' AND g.publisher IS NOT NULL ORDER BY s.seq DESC LIMIT 1`,
      )
      .get(name) as { version: string; key: string } | undefined;
  }

  /**
   * The signature part of an upload, checked against the owner's keys as
   * they are now; a plugin with a signed published version needs one.
   * Throws ApiError 422 with the check's code.
   */
  async checkUpload(u: { owner: string; name: string; version: string; signature?: Buffer; archive: string; facts?: ArchiveFacts }): Promise<UploadSigning> {
    // The upload was hashed as it arrived and its listing read by the archive checks: not read again.
    const facts = u.facts ?? (await archiveFacts(u.archive));
    if (!u.signature) {
      const signed = this.signedPublished(u.name);
      if (signed) {
        throw new ApiError(
          422,
          'SIGNATURE_REQUIRED',
          `${u.name} ${signed.version} was published signed (key ${signed.key}), so an unsigned upload of ${u.name} is refused: sign it (\`plexichat-plugin build --sign\`)`,
        );
      }
      return { contentsSha256: facts.contentsSha256, publisher: null };
    }
    let doc: SignatureDocument;
    try {
      doc = parseSignature(u.signature);
    } catch (err) {
      throw new ApiError(422, 'SIGNATURE_MALFORMED', `the signature part is not a signature document: ${(err as Error).message}`);
    }
    const now = this.iso();
    const check = checkSignature({
      doc,
      facts,
      plugin: { name: u.name, version: u.version },
      keys: this.trustedOf(u.owner),
      at: now,
      what: "the upload's signature",
      when: `it is checked now (${now})`,
    });
    if (!check.ok) {
      const hint = check.code === 'UNKNOWN_KEY' ? ' (register your key with `plexichat-plugin marketplace keys add <pubkey-file>`)' : '';
      throw new ApiError(422, check.code, `${check.message}${hint}`, { key_id: doc.key_id });
    }
    return { contentsSha256: facts.contentsSha256, publisher: doc };
  }

  /** Store an upload's signing record (called inside the submission's insert transaction). */
  recordUpload(submissionId: string, u: UploadSigning): void {
    this.db
      .prepare('INSERT OR REPLACE INTO signatures (submission_id, contents_sha256, publisher, publisher_key, marketplace) VALUES (?, ?, ?, ?, NULL)')
      .run(submissionId, u.contentsSha256, u.publisher ? JSON.stringify(u.publisher) : null, u.publisher?.key_id ?? null);
  }

  private signatureRow(id: string): SignatureRow | undefined {
    return this.db.prepare('SELECT * FROM signatures WHERE submission_id = ?').get(id) as SignatureRow | undefined;
  }

  /** Before publishing: a publisher key revoked or expired since the upload blocks it (422). */
  checkPublish(row: SubmissionRow): void {
    const sig = this.signatureRow(row.id);
    if (!sig?.publisher_key) return;
    const key = this.keyRow(sig.publisher_key);
    const now = this.now();
    const stop = (code: string, what: string, at: string) =>
      new ApiError(
        422,
        code,
        `key ${sig.publisher_key} that signed ${row.plugin} ${row.version} was ${what} on ${at}; a version signed with it is not published: bump the version and sign it with a current key`,
        { key_id: sig.publisher_key },
      );
    if (!key) throw stop('UNKNOWN_KEY', 'removed', 'an unknown date');
    if (key.revoked_at !== null && now >= Date.parse(key.revoked_at)) throw stop('KEY_REVOKED', 'revoked', key.revoked_at);
    if (key.expires_at !== null && now >= Date.parse(key.expires_at)) throw stop('KEY_EXPIRED', 'expired', key.expires_at);
  }

  /** The counter-signature of a version being published (stored inside the publish transaction by the caller). */
  async counterSign(row: SubmissionRow, publishedAt: string, archivePath: string): Promise<SignatureDocument> {
    const sig = this.signatureRow(row.id);
    const publisher = sig?.publisher ? parseSignature(sig.publisher) : null;
    // Submissions from before signing existed have no record: their member list is read from the store.
    const contents = sig ? sig.contents_sha256 : (await archiveFacts(archivePath)).contentsSha256;
    return signFields(
      {
        format: SIGNATURE_FORMAT,
        role: 'marketplace',
        algorithm: ALGORITHM,
        key_id: this.keyId,
        plugin: { name: row.plugin, version: row.version },
        archive: { sha256: row.sha256, size: row.size },
        contents: { sha256: contents },
        publisher: publisher ? { key_id: publisher.key_id, signature_sha256: signatureDigest(publisher) } : null,
        created_at: publishedAt,
      },
      this.privateKey,
    );
  }

  recordCounterSignature(row: SubmissionRow, doc: SignatureDocument): void {
    const updated = this.db.prepare('UPDATE signatures SET marketplace = ? WHERE submission_id = ?').run(JSON.stringify(doc), row.id);
    if (updated.changes === 0) {
      this.db
        .prepare('INSERT INTO signatures (submission_id, contents_sha256, publisher, publisher_key, marketplace) VALUES (?, ?, NULL, NULL, ?)')
        .run(row.id, doc.contents.sha256, JSON.stringify(doc));
    }
  }

  /** GET /plugins/{name}/versions/{version}/signatures of a published row. */
  signaturesOf(row: SubmissionRow) {
    const sig = this.signatureRow(row.id);
    const publisher = sig?.publisher ? (JSON.parse(sig.publisher) as SignatureDocument) : null;
    const key = sig?.publisher_key ? this.keyRow(sig.publisher_key) : undefined;
    return {
      plugin: row.plugin,
      version: row.version,
      sha256: row.sha256,
      size: row.size,
      published_at: row.published_at,
      publisher,
      publisher_key: key ? record(key) : null,
      marketplace: sig?.marketplace ? (JSON.parse(sig.marketplace) as SignatureDocument) : null,
    };
  }
}

/** Load the marketplace's key from the data dir, or make it on first start; list it in marketplace_keys. */
export async function openSigning(dataDir: string, db: Db, now: () => number): Promise<ServerSigning> {
  const file = path.join(dataDir, MARKETPLACE_KEY_FILE);
  let privateKey: KeyObject;
  try {
    privateKey = parsePrivateKeyText(await readRegularText(file, { maxBytes: 1024 * 1024 }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot use the marketplace signing key ${file}: ${(err as Error).message}`);
    }
    privateKey = generateKeyPair().privateKey;
    await writeFileAtomic(file, privateKeyPem(privateKey), { mode: 0o600 });
  }
  const publicKey = createPublicKey(privateKey);
  db.prepare('INSERT OR IGNORE INTO marketplace_keys (key_id, public_key, created_at, expires_at, revoked_at) VALUES (?, ?, ?, NULL, NULL)').run(
    keyIdOf(publicKey),
    publicKeyBase64(publicKey),
    new Date(now()).toISOString(),
  );
  return new ServerSigning(db, privateKey, now);
}
