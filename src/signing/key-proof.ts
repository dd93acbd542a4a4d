/**
 * Proof of possession for registering a publisher key (docs/signing.md,
 * "Registering a key"): the developer signs, with the private key, a
 * statement naming their developer id on the marketplace and the key's id.
 * The marketplace checks it against the key being registered and the
 * caller's own id, so nobody registers a public key they do not hold, and a
 * proof made for one developer is refused for any other (a replay).
 * The one definition both `marketplace keys add` and the server use.
 */
import { createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './document.js';
import { keyIdOf } from './keys.js';

export const KEY_PROOF_FORMAT = 'plexichat-key-proof/1';

/** The statement that is signed: canonical JSON of the format, the developer id and the key id. */
export function keyProofBytes(developer: string, keyId: string): Buffer {
  return Buffer.from(canonicalJson({ format: KEY_PROOF_FORMAT, developer, key_id: keyId }), 'utf8');
}

/** The proof (base64 Ed25519 signature) that the holder of privateKey registers it as `developer`. */
export function signKeyProof(privateKey: KeyObject, developer: string): string {
  const keyId = keyIdOf(createPublicKey(privateKey));
  return edSign(null, keyProofBytes(developer, keyId), privateKey).toString('base64');
}

/** True when `proof` is publicKey's signature over the statement for `developer`. */
export function keyProofMatches(publicKey: KeyObject, developer: string, proof: string): boolean {
  if (!/^[A-Za-z0-9+/]{86}==$/.test(proof)) return false;
  try {
    return edVerify(null, keyProofBytes(developer, keyIdOf(publicKey)), publicKey, Buffer.from(proof, 'base64'));
  } catch {
    return false;
  }
}
