/**
 * Key records and keyrings: a public key with its validity window. One
 * shape everywhere (docs/signing.md "Keyring"): a keyring file for
 * `verify --keyring`, `GET /api/v1/keys` (the marketplace's own keys),
 * `GET /api/v1/me/keys` and `marketplace keys list --json` (a developer's
 * keys) all are `{ "keys": [<key record>, ...] }`, so a saved answer of
 * the API is a keyring. Its shape is schemas/files/keyring.schema.json
 * (the validator and the record's type are generated from it). Pure.
 */
import type { KeyObject } from 'node:crypto';
import { DocumentError, firstMember, isObject, schemaIssues } from '../core/schema/issues.js';
import type { KeyRecord as KeyRecordIn } from './keyring-schema-types.generated.js';
import { validate as validateKeyring } from './keyring-schema-validator.generated.js';
import { ALGORITHM, KeyFormatError, keyIdOf, parsePublicKeyText, publicKeyBase64 } from './keys.js';

/**
 * The wire form of a key (snake_case, like the marketplace API), as this
 * side writes it: the record of schemas/files/keyring.schema.json with
 * every window field present (null: no limit).
 */
export type KeyRecord = KeyRecordIn & Required<Pick<KeyRecordIn, 'key_id' | 'algorithm' | 'created_at' | 'expires_at' | 'revoked_at'>>;

/** A key ready to check signatures with. */
export interface TrustedKey {
  keyId: string;
  publicKey: KeyObject;
  expiresAt: string | null;
  revokedAt: string | null;
  owner?: string;
}

export function keyRecord(
  publicKey: KeyObject,
  window: { created_at?: string | null; expires_at?: string | null; revoked_at?: string | null; owner?: string } = {},
): KeyRecord {
  const r: KeyRecord = {
    key_id: keyIdOf(publicKey),
    algorithm: ALGORITHM,
    public_key: publicKeyBase64(publicKey),
    created_at: window.created_at ?? null,
    expires_at: window.expires_at ?? null,
    revoked_at: window.revoked_at ?? null,
  };
  if (window.owner !== undefined) r.owner = window.owner;
  return r;
}

export function trustedKey(publicKey: KeyObject, window: { expiresAt?: string | null; revokedAt?: string | null; owner?: string } = {}): TrustedKey {
  return {
    keyId: keyIdOf(publicKey),
    publicKey,
    expiresAt: window.expiresAt ?? null,
    revokedAt: window.revokedAt ?? null,
    ...(window.owner !== undefined ? { owner: window.owner } : {}),
  };
}

const TIME_HINT = 'null or an ISO 8601 UTC time such as 2026-01-31T00:00:00.000Z';

/** A key record from JSON (a keyring entry or an API answer); throws a DocumentError with a one-line reason and the member. */
export function parseKeyRecord(v: unknown, i = 0): TrustedKey {
  // The record is checked as the one entry of a keyring: the same schema, the same words.
  const issues = schemaIssues(validateKeyring, { keys: [v] }).map((issue) => ({ ...issue, path: issue.path.slice(2) }));
  const key = `key ${i + 1}`;
  if (!isObject(v)) throw new DocumentError(`${key} is not an object`);
  const first = firstMember(issues, ['algorithm', 'public_key', 'expires_at', 'revoked_at', 'created_at', 'owner']);
  if (first?.member === 'algorithm') throw new DocumentError(`${key}: algorithm ${JSON.stringify(v.algorithm)} is not ${ALGORITHM}`, ['algorithm']);
  if (first?.member === 'public_key') throw new DocumentError(`${key}: "public_key" is missing`, ['public_key']);
  const o = v as unknown as KeyRecordIn;
  let publicKey: KeyObject;
  try {
    publicKey = parsePublicKeyText(o.public_key);
  } catch (err) {
    throw new DocumentError(`${key}: "public_key" is not usable: ${err instanceof KeyFormatError ? err.message : 'bad key'}`, ['public_key']);
  }
  const keyId = keyIdOf(publicKey);
  if (o.key_id !== undefined && o.key_id !== keyId) {
    throw new DocumentError(`${key}: "key_id" ${JSON.stringify(o.key_id)} is not the id of its public key (${keyId})`, ['key_id']);
  }
  const late = (['expires_at', 'revoked_at', 'created_at'] as const).find((f) => typeof o[f] === 'string' && Number.isNaN(Date.parse(o[f])));
  const bad = first?.member ?? late;
  if (bad === 'owner') throw new DocumentError(`${key}: "owner" must be a string`, ['owner']);
  if (bad !== undefined) throw new DocumentError(`${key}: "${bad}" must be ${TIME_HINT}`, [bad]);
  return { keyId, publicKey, expiresAt: o.expires_at ?? null, revokedAt: o.revoked_at ?? null, ...(o.owner !== undefined ? { owner: o.owner } : {}) };
}

/** A keyring document `{ "keys": [...] }` (schemas/files/keyring.schema.json); throws a DocumentError with a one-line reason and where. */
export function parseKeyring(text: string): TrustedKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new Error(`it is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(doc) || !Array.isArray(doc.keys))
    throw new DocumentError('it has no "keys" list (expected { "keys": [ { "key_id", "public_key", ... } ] })', isObject(doc) ? ['keys'] : []);
  return doc.keys.map((k, i) => {
    try {
      return parseKeyRecord(k, i);
    } catch (err) {
      throw err instanceof DocumentError ? new DocumentError(err.message, ['keys', i, ...err.path]) : err;
    }
  });
}
