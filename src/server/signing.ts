/**
 * The development marketplace's side of signing (docs/signing.md): its own
 * Ed25519 key (given with `serve --signing-key`, else the blob store's
 * signing-key.pem: <data-dir>/signing-key.pem, mode 0600, or the bucket's;
 * made on first start under the start-up lock),
 * developers' registered public keys, the publisher signature checked on
 * submit with the same rule the CLI's `verify` applies (src/signing/verify.ts),
 * and the counter-signature made on publish.
 */
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import { archiveFacts, type ArchiveFacts } from '../signing/archive.js';
import { parseSignature, signFields, SIGNATURE_FORMAT, type SignatureDocument } from '../signing/document.js';
import { parseKeyRecord, type KeyRecord, type TrustedKey } from '../signing/keyring.js';
import { ALGORITHM, generateKeyPair, keyIdOf, parsePrivateKeyText, privateKeyPem, publicKeyBase64 } from '../signing/keys.js';
import { checkSignature, signatureDigest } from '../signing/verify.js';
import type { KeyRow, MetaStore, SignatureRow, SubmissionRow } from './storage/meta.js';
import type { BlobStore } from './storage/blobs.js';
import { ApiError } from './errors.js';
import { UsageError } from '../errors.js';
import { signEnvelope, type Envelope } from '../attest/dsse.js';

export const MARKETPLACE_KEY_FILE = 'signing-key.pem';

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

/** What the database says of signatures and of the marketplace's keys: read without the marketplace's private key (marketplace index). */
export class SignatureRecords {
  constructor(protected readonly meta: MetaStore) {}

  /** The marketplace's own keys, for GET /keys. */
  async marketplaceKeys(): Promise<KeyRecord[]> {
    return (await this.meta.marketplaceKeys()).map((r) => record(r, 'marketplace'));
  }

  async signaturesOf(row: SubmissionRow) {
    const sig = await this.meta.signatureRow(row.id);
    const publisher = sig?.publisher ? (JSON.parse(sig.publisher) as SignatureDocument) : null;
    const key = sig?.publisher_key ? await this.meta.keyRow(sig.publisher_key) : undefined;
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

export class ServerSigning extends SignatureRecords {
  readonly keyId: string;

  constructor(
    meta: MetaStore,
    private readonly privateKey: KeyObject,
    private readonly now: () => number,
  ) {
    super(meta);
    this.keyId = keyIdOf(createPublicKey(privateKey));
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  async keysOf(owner: string): Promise<KeyRecord[]> {
    return (await this.meta.keysOf(owner)).map((r) => record(r));
  }

  /** Register a developer's key: created, already theirs, or another developer's. */
  async addKey(owner: string, publicKey: KeyObject, expiresAt: string | null): Promise<{ record: KeyRecord; created: boolean }> {
    const keyId = keyIdOf(publicKey);
    const row = { key_id: keyId, owner, public_key: publicKeyBase64(publicKey), created_at: this.iso(), expires_at: expiresAt, revoked_at: null };
    const result = await this.meta.addKey(row);
    if (result.kind === 'taken') {
      throw new ApiError(409, 'KEY_TAKEN', `key ${keyId} is registered to another developer; generate your own with \`plexichat-plugin keys generate\``);
    }
    return { record: record(result.row), created: result.kind === 'created' };
  }

  /** Revoke one of the owner's keys (the first revocation time is kept). */
  async revoke(owner: string, keyId: string): Promise<KeyRecord> {
    const row = await this.meta.revokeKey(owner, keyId, this.iso());
    if (!row) throw new ApiError(404, 'KEY_NOT_FOUND', `you have no key ${keyId.slice(0, 40)}; \`plexichat-plugin marketplace keys list\` shows yours`);
    return record(row);
  }

  /** A publisher key's record, whoever owns it. */
  async keyRecord(keyId: string): Promise<KeyRecord | undefined> {
    const row = await this.meta.keyRow(keyId);
    return row ? record(row) : undefined;
  }

  /** A stored key row as the API shows it. */
  recordOf(row: KeyRow): KeyRecord {
    return record(row);
  }

  /** A DSSE envelope over `body` signed with the marketplace's key (the attestations' counter-signature, attestations.ts). */
  envelope(payloadType: string, body: Buffer): Envelope {
    return signEnvelope(payloadType, body, this.privateKey, this.keyId);
  }

  /** The owner's keys as a verifier trusts them (revoked and expired ones carry their dates). */
  async trustedOf(owner: string): Promise<TrustedKey[]> {
    return (await this.keysOf(owner)).map((r, i) => parseKeyRecord(r, i));
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
      const signed = await this.meta.signedPublished(u.name);
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
      keys: await this.trustedOf(u.owner),
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

  /** An upload's signing record, stored by the submission's insert transaction. */
  uploadRecord(u: UploadSigning): Omit<SignatureRow, 'submission_id'> {
    return {
      contents_sha256: u.contentsSha256,
      publisher: u.publisher ? JSON.stringify(u.publisher) : null,
      publisher_key: u.publisher?.key_id ?? null,
      marketplace: null,
    };
  }

  /** The refusal of a publish whose publisher key was revoked or expired since the upload (422). */
  keyStop(row: SubmissionRow, keyId: string, key: KeyRow | undefined): ApiError {
    const now = this.now();
    const stop = (code: string, what: string, at: string) =>
      new ApiError(
        422,
        code,
        `key ${keyId} that signed ${row.plugin} ${row.version} was ${what} on ${at}; a version signed with it is not published: bump the version and sign it with a current key`,
        { key_id: keyId },
      );
    if (!key) return stop('UNKNOWN_KEY', 'removed', 'an unknown date');
    if (key.revoked_at !== null && now >= Date.parse(key.revoked_at)) return stop('KEY_REVOKED', 'revoked', key.revoked_at);
    return stop('KEY_EXPIRED', 'expired', key.expires_at ?? 'an unknown date');
  }

  /**
   * The counter-signature of a version being published, with what the publish
   * transaction re-checks: the key that signed the upload and the member-list digest.
   */
  async counterSign(
    row: SubmissionRow,
    publishedAt: string,
    archive: () => Promise<string | null>,
  ): Promise<{ doc: SignatureDocument; publisherKey: string | null; contentsSha256: string | null }> {
    const sig = await this.meta.signatureRow(row.id);
    const publisher = sig?.publisher ? parseSignature(sig.publisher) : null;
    // Submissions from before signing existed have no record: their member list is read from the store.
    const contents = sig ? sig.contents_sha256 : await archive();
    const doc = signFields(
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
    return { doc, publisherKey: sig?.publisher_key ?? null, contentsSha256: contents };
  }

  /** GET /plugins/{name}/versions/{version}/signatures of a published row. */
}

/**
 * The marketplace's signing key cannot be used as configured: another key
 * than the marketplace's own was given, or the key the marketplace signs
 * with is neither in the store nor given. One marketplace signs with one
 * key: a new one is never made in its place.
 */
export class SigningKeyError extends UsageError {
  constructor(message: string, code: 'SIGNING_KEY_MISMATCH' | 'SIGNING_KEY_MISSING', hint: string) {
    super(message, { code, hint });
  }
}

/** The opened key, and whether the blob store holds a copy of a key that was given (serve says it may be removed). */
export interface OpenedSigning {
  signing: ServerSigning;
  copyInStore: boolean;
}

/**
 * The marketplace's key: the one given (`serve --signing-key`, kept out of
 * the store), else the blob store's, else a new one made on first start.
 * Under the start-up lock: replicas that start at once make one key, and
 * the others read it. The key must be the one the database lists as the
 * marketplace's when it lists one: a store that lost its key file, or a
 * given key of another marketplace, stops the start (SigningKeyError).
 */
export async function openSigning(meta: MetaStore, blobs: BlobStore, now: () => number, given?: KeyObject): Promise<OpenedSigning> {
  const { privateKey, copyInStore } = await meta.exclusive(async () => {
    let text: Buffer | undefined;
    try {
      text = await blobs.getFile(MARKETPLACE_KEY_FILE);
    } catch (err) {
      throw new Error(`cannot use the marketplace signing key ${MARKETPLACE_KEY_FILE} in ${blobs.where}: ${(err as Error).message}`);
    }
    let stored: KeyObject | undefined;
    try {
      if (text !== undefined) stored = parsePrivateKeyText(text.toString('utf8').replace(/^\uFEFF/, ''));
    } catch (err) {
      throw new Error(`cannot use the marketplace signing key ${MARKETPLACE_KEY_FILE} in ${blobs.where}: ${(err as Error).message}`);
    }
    const listed = (await meta.marketplaceKeys()).filter((k) => k.revoked_at === null).map((k) => k.key_id);
    const key = given ?? stored;
    if (key) {
      const id = keyIdOf(createPublicKey(key));
      const storedId = stored && keyIdOf(createPublicKey(stored));
      const other = storedId !== undefined && storedId !== id ? storedId : listed.length > 0 && !listed.includes(id) ? listed[0] : undefined;
      if (other !== undefined) {
        const holder = given ? '--signing-key' : `${MARKETPLACE_KEY_FILE} in ${blobs.where}`;
        throw new SigningKeyError(
          `the marketplace signs with key ${other}, and ${holder} holds key ${id}`,
          'SIGNING_KEY_MISMATCH',
          `pass the marketplace's own key (${other}) with --signing-key <file>; a marketplace keeps one key, so its counter-signatures stay verifiable`,
        );
      }
      return { privateKey: key, copyInStore: given !== undefined && stored !== undefined };
    }
    if (listed.length > 0) {
      throw new SigningKeyError(
        `the marketplace signs with key ${listed[0]}, which is not in ${blobs.where}`,
        'SIGNING_KEY_MISSING',
        'pass its private key file with --signing-key <file> (or PLEXICHAT_SERVE_SIGNING_KEY_FILE); a new key is never made in its place',
      );
    }
    const made = generateKeyPair().privateKey;
    await blobs.putFile(MARKETPLACE_KEY_FILE, Buffer.from(privateKeyPem(made)));
    return { privateKey: made, copyInStore: false };
  });
  const publicKey = createPublicKey(privateKey);
  await meta.ensureMarketplaceKey({
    key_id: keyIdOf(publicKey),
    public_key: publicKeyBase64(publicKey),
    created_at: new Date(now()).toISOString(),
    expires_at: null,
    revoked_at: null,
  });
  return { signing: new ServerSigning(meta, privateKey, now), copyInStore };
}
