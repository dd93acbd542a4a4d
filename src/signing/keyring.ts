/**
 * Key records and keyrings: a public key with its validity window. One
 * shape everywhere (docs/signing.md "Keyring"): a keyring file for
 * `verify --keyring`, `GET /api/v1/keys` (the marketplace's own keys),
 * `GET /api/v1/me/keys` and `marketplace keys list --json` (a developer's
 * keys) all are `{ "keys": [<key record>, ...] }`, so a saved answer of
 * the API is a keyring. Pure.
 */
import type { KeyObject } from 'node:crypto';
import { ALGORITHM, KEY_ID_PATTERN, KeyFormatError, keyIdOf, parsePublicKeyText, publicKeyBase64 } from './keys.js';

/** The wire form of a key (snake_case, like the marketplace API). */
export interface KeyRecord {
  key_id: string;
  algorithm: typeof ALGORITHM;
  /** base64 of the SPKI DER, one line. */
  public_key: string;
  /** When the key was added (informational; not a lower bound of its validity). */
  created_at: string | null;
  /** Signatures made at or after this time are refused (KEY_EXPIRED). */
  expires_at: string | null;
  /** Signatures made at or after this time are refused (KEY_REVOKED); earlier ones keep verifying. */
  revoked_at: string | null;
  /** Who holds the key (a marketplace user id, or "marketplace"), when known. */
  owner?: string;
}

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

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

function time(v: unknown, field: string, i: number): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string' || !ISO.test(v) || Number.isNaN(Date.parse(v))) {
    throw new Error(`key ${i + 1}: "${field}" must be null or an ISO 8601 UTC time such as 2026-01-31T00:00:00.000Z`);
  }
  return v;
}

/** A key record from JSON (a keyring entry or an API answer); throws an Error with a one-line reason. */
export function parseKeyRecord(v: unknown, i = 0): TrustedKey {
  const o = v as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error(`key ${i + 1} is not an object`);
  if (o.algorithm !== undefined && o.algorithm !== ALGORITHM) {
    throw new Error(`key ${i + 1}: algorithm ${JSON.stringify(o.algorithm)} is not ${ALGORITHM}`);
  }
  if (typeof o.public_key !== 'string') throw new Error(`key ${i + 1}: "public_key" is missing`);
  let publicKey: KeyObject;
  try {
    publicKey = parsePublicKeyText(o.public_key);
  } catch (err) {
    throw new Error(`key ${i + 1}: "public_key" is not usable: ${err instanceof KeyFormatError ? err.message : 'bad key'}`);
  }
  const keyId = keyIdOf(publicKey);
  if (o.key_id !== undefined && (typeof o.key_id !== 'string' || !KEY_ID_PATTERN.test(o.key_id) || o.key_id !== keyId)) {
    throw new Error(`key ${i + 1}: "key_id" ${JSON.stringify(o.key_id)} is not the id of its public key (${keyId})`);
  }
  return {
    keyId,
    publicKey,
    expiresAt: time(o.expires_at, 'expires_at', i),
    revokedAt: time(o.revoked_at, 'revoked_at', i),
    ...(typeof o.owner === 'string' ? { owner: o.owner } : {}),
  };
}

/** A keyring document `{ "keys": [...] }`; throws an Error with a one-line reason. */
export function parseKeyring(text: string): TrustedKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new Error(`it is not valid JSON (${(err as Error).message})`);
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('it has no "keys" list (expected { "keys": [ { "key_id", "public_key", ... } ] })');
  return keys.map((k, i) => parseKeyRecord(k, i));
}
