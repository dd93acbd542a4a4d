/**
 * Key rollover statements (docs/signing.md, "Keys over time"): the holder
 * of an old key names its successor. The old key signs the new key's id
 * and public key with a date; the new key signs the same bytes (so the
 * statement also proves its holder has the new private key). Made by
 * `keys rollover`, accepted by the marketplace (POST /me/keys/rollover)
 * and by `verify --keyring` (a keyring's `rollovers`): a key trusted there
 * makes its successors trusted, along a chain of statements. Pure.
 *
 *   { "format": "plexichat-key-rollover/1", "algorithm": "ed25519",
 *     "old_key_id", "new_key_id", "new_public_key", "created_at",
 *     "signature" (old key), "new_signature" (new key) }
 *
 * Both signatures are over the canonical JSON (document.ts) of the
 * statement without them.
 */
import { createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { isObject, parseSmallJson } from '../core/schema/issues.js';
import { canonicalJson } from './document.js';
import type { TrustedKey } from './keyring.js';
import type { Rollover } from './keyring-schema-types.generated.js';
import { ALGORITHM, keyIdOf, parsePublicKeyText, publicKeyBase64 } from './keys.js';
import { keyValidityAt } from './verify.js';

export const ROLLOVER_FORMAT = 'plexichat-key-rollover/1';
const MAX_ROLLOVER_BYTES = 64 * 1024;

/** The statement's shape is the keyring schema's (schemas/files/keyring.schema.json), not a copy of it. */
export type RolloverStatement = Rollover;

type Signed = Omit<RolloverStatement, 'signature' | 'new_signature'>;

function signedBytes(s: Signed): Buffer {
  const { format, algorithm, old_key_id, new_key_id, new_public_key, created_at } = s;
  return Buffer.from(canonicalJson({ format, algorithm, old_key_id, new_key_id, new_public_key, created_at }), 'utf8');
}

/** The statement that `oldKey`'s holder hands over to `newKey` at `at`. */
export function makeRollover(oldKey: KeyObject, newKey: KeyObject, at: string): RolloverStatement {
  const newPublic = createPublicKey(newKey);
  const fields: Signed = {
    format: ROLLOVER_FORMAT,
    algorithm: ALGORITHM,
    old_key_id: keyIdOf(createPublicKey(oldKey)),
    new_key_id: keyIdOf(newPublic),
    new_public_key: publicKeyBase64(newPublic),
    created_at: at,
  };
  const bytes = signedBytes(fields);
  return { ...fields, signature: edSign(null, bytes, oldKey).toString('base64'), new_signature: edSign(null, bytes, newKey).toString('base64') };
}

/** Parse and shape-check a statement; throws an Error with a one-line reason. */
export function parseRollover(value: unknown): RolloverStatement {
  const doc = typeof value === 'string' ? parseSmallJson(value, MAX_ROLLOVER_BYTES) : value;
  if (!isObject(doc)) throw new Error('it is not a JSON object');
  if (doc.format !== ROLLOVER_FORMAT) throw new Error(`unknown format ${JSON.stringify(doc.format)} (this version reads ${ROLLOVER_FORMAT})`);
  if (doc.algorithm !== ALGORITHM) throw new Error(`unknown algorithm ${JSON.stringify(doc.algorithm)}`);
  for (const f of ['old_key_id', 'new_key_id', 'new_public_key', 'created_at', 'signature', 'new_signature'] as const) {
    if (typeof doc[f] !== 'string' || doc[f] === '') throw new Error(`"${f}" is missing or not a string`);
  }
  if (Number.isNaN(Date.parse(doc.created_at as string))) throw new Error('"created_at" is not a time');
  const s = doc as unknown as RolloverStatement;
  let key: KeyObject;
  try {
    key = parsePublicKeyText(s.new_public_key);
  } catch {
    throw new Error('"new_public_key" is not an Ed25519 public key');
  }
  if (keyIdOf(key) !== s.new_key_id) throw new Error(`"new_key_id" ${s.new_key_id} is not the id of "new_public_key" (${keyIdOf(key)})`);
  const { format, algorithm, old_key_id, new_key_id, new_public_key, created_at, signature, new_signature } = s;
  return { format, algorithm, old_key_id, new_key_id, new_public_key, created_at, signature, new_signature };
}

function sigMatches(bytes: Buffer, sig: string, key: KeyObject): boolean {
  const raw = Buffer.from(sig, 'base64');
  if (raw.length !== 64) return false;
  try {
    return edVerify(null, bytes, key, raw);
  } catch {
    return false;
  }
}

/** The new key of a statement. */
export function newKeyOf(s: RolloverStatement): KeyObject {
  return parsePublicKeyText(s.new_public_key);
}

/** Why the statement is not `oldKey`'s handing-over (undefined when it is): both signatures, and the old key valid at created_at. */
export function rolloverProblem(s: RolloverStatement, oldKey: TrustedKey): { code: string; message: string } | undefined {
  const bytes = signedBytes(s);
  if (s.old_key_id !== oldKey.keyId || !sigMatches(bytes, s.signature, oldKey.publicKey)) {
    return { code: 'ROLLOVER_INVALID', message: `the rollover to key ${s.new_key_id} is not signed by key ${oldKey.keyId}` };
  }
  if (!sigMatches(bytes, s.new_signature, newKeyOf(s))) {
    return { code: 'ROLLOVER_INVALID', message: `the rollover to key ${s.new_key_id} is not signed by that new key (its "new_signature" does not match)` };
  }
  const v = keyValidityAt(oldKey, s.created_at, `the rollover to key ${s.new_key_id}`);
  if (v.problem) return { code: v.problem.code, message: v.problem.message };
  return undefined;
}

/**
 * The trusted keys and every successor the statements hand trust to, along
 * chains of any length. A successor keeps the trust's owner; its validity
 * starts at the statement. Throws {code, message} for the first statement
 * that is not a trusted key's (ROLLOVER_UNTRUSTED) or does not verify.
 */
export function extendTrust(keys: TrustedKey[], statements: RolloverStatement[]): TrustedKey[] {
  const trusted = [...keys];
  const pending = [...statements];
  for (let progress = true; progress && pending.length > 0;) {
    progress = false;
    for (let i = 0; i < pending.length; i++) {
      const s = pending[i];
      const old = trusted.find((k) => k.keyId === s.old_key_id);
      if (!old) continue;
      const problem = rolloverProblem(s, old);
      if (problem) throw Object.assign(new Error(problem.message), { code: problem.code });
      if (!trusted.some((k) => k.keyId === s.new_key_id)) {
        trusted.push({ keyId: s.new_key_id, publicKey: newKeyOf(s), expiresAt: null, revokedAt: null, ...(old.owner ? { owner: old.owner } : {}) });
      }
      pending.splice(i--, 1);
      progress = true;
    }
  }
  if (pending.length > 0) {
    const s = pending[0];
    throw Object.assign(new Error(`the rollover from key ${s.old_key_id} to key ${s.new_key_id} is not signed by a trusted key`), {
      code: 'ROLLOVER_UNTRUSTED',
    });
  }
  return trusted;
}
