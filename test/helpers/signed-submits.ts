/**
 * Signed submissions over the HTTP API (no CLI process per upload): a
 * developer's Ed25519 key registered with its proof, and a plugin archive
 * with its publisher signature part, as `build --sign` + `submit` send them.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { api, listingFor, submit, type ApiAnswer } from './server-zips.js';
import { pluginZip } from './zip-fixtures.js';
import { signFields, SIGNATURE_FORMAT } from '../../src/signing/document.js';
import { signKeyProof } from '../../src/signing/key-proof.js';
import { ALGORITHM, generateKeyPair, keyIdOf, publicKeyPem } from '../../src/signing/keys.js';

export interface DevKey {
  privateKey: KeyObject;
  keyId: string;
}

/** A new key registered for the token's developer (POST /me/keys with its proof). */
export async function registerKey(base: string, token: string): Promise<DevKey> {
  const me = (await api(base, 'GET', '/me', { token })).body as { user: string };
  const { privateKey } = generateKeyPair();
  const publicKey = createPublicKey(privateKey);
  const r = await api(base, 'POST', '/me/keys', { token, json: { public_key: publicKeyPem(publicKey), proof: signKeyProof(privateKey, me.user) } });
  if (r.status !== 201 && r.status !== 200) throw new Error(`POST /me/keys: ${r.status} ${r.raw.toString()}`);
  return { privateKey, keyId: keyIdOf(publicKey) };
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** An archive of name@version (salt makes other bytes of the same version) and its publisher signature. */
export function signedArchive(key: DevKey, name: string, version: string, salt = '') {
  const archive = pluginZip({ name, version, files: salt ? { 'src/salt.txt': salt } : {} });
  const integrity = extractIntegrity(archive);
  const doc = signFields(
    {
      format: SIGNATURE_FORMAT,
      role: 'publisher',
      algorithm: ALGORITHM,
      key_id: key.keyId,
      plugin: { name, version },
      archive: { sha256: sha(archive), size: archive.length },
      contents: { sha256: sha(integrity) },
      created_at: new Date().toISOString(),
    },
    key.privateKey,
  );
  return { archive, signature: JSON.stringify(doc) };
}

/** The plexichat-integrity.json of a fixture zip (zip-fixtures.ts: local headers carry the sizes). */
function extractIntegrity(zip: Buffer): Buffer {
  const name = Buffer.from('plexichat-integrity.json');
  for (let i = 0; i + 30 < zip.length;) {
    if (zip.readUInt32LE(i) !== 0x04034b50) break;
    const method = zip.readUInt16LE(i + 8);
    const size = zip.readUInt32LE(i + 18);
    const nameLen = zip.readUInt16LE(i + 26);
    const extraLen = zip.readUInt16LE(i + 28);
    const start = i + 30 + nameLen + extraLen;
    if (zip.subarray(i + 30, i + 30 + nameLen).equals(name)) {
      const body = zip.subarray(start, start + size);
      return method === 8 ? inflateRawSync(body) : body;
    }
    i = start + size;
  }
  throw new Error('no plexichat-integrity.json in the fixture zip');
}

/** POST a signed upload (archive, listing, signature parts). */
export function submitSigned(
  base: string,
  token: string,
  key: DevKey,
  name: string,
  version: string,
  opts: { salt?: string; idempotencyKey?: string } = {},
): Promise<ApiAnswer> {
  const { archive, signature } = signedArchive(key, name, version, opts.salt);
  return submit(base, token, name, archive, {
    version,
    key: opts.idempotencyKey,
    parts: [
      { name: 'listing', data: JSON.stringify(listingFor(archive, name, version)) },
      { name: 'archive', data: archive, filename: `${name}.zip`, contentType: 'application/zip' },
      { name: 'signature', data: signature, filename: `${name}.zip.sig`, contentType: 'application/json' },
    ],
  });
}
