/**
 * Ed25519 keys (node:crypto only): generation, the key id, and the text
 * forms a key travels in. Pure: no files, no process. Used by the CLI
 * (`keys generate`, `build --sign`, `verify`) and the development
 * marketplace (publisher keys, its own counter-signing key) alike.
 *
 * Forms (docs/signing.md):
 * - private key: PEM "PRIVATE KEY" (PKCS#8) in a file, or one line of
 *   base64 of the PKCS#8 DER (PLEXICHAT_SIGNING_KEY). The one-line form is
 *   exactly the PEM's body lines joined.
 * - public key: PEM "PUBLIC KEY" (SPKI) in a file, or one line of base64
 *   of the SPKI DER (what the marketplace API and keyrings carry).
 * - key id: the first 16 hex digits of the sha256 of the SPKI DER.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export const ALGORITHM = 'ed25519';
const KEY_ID_HEX = 16;
export const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateKeyPair(): KeyPair {
  return generateKeyPairSync('ed25519');
}

/** The short digest that names a public key. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(spkiDer(publicKey)).digest('hex').slice(0, KEY_ID_HEX);
}

export function spkiDer(publicKey: KeyObject): Buffer {
  return publicKey.export({ format: 'der', type: 'spki' });
}

/** One line of base64 of the SPKI DER. */
export function publicKeyBase64(publicKey: KeyObject): string {
  return spkiDer(publicKey).toString('base64');
}

export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ format: 'pem', type: 'spki' }).toString();
}

export function privateKeyPem(privateKey: KeyObject): string {
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** The one-line form (base64 of the PKCS#8 DER). Never printed: callers register it for redaction. */
export function privateKeyBase64(privateKey: KeyObject): string {
  return privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
}

/** Why a text is not a usable key: thrown by the parsers below, message without the key's bytes. */
export class KeyFormatError extends Error {
  constructor(
    message: string,
    readonly reason: 'multi-line' | 'not-base64' | 'not-a-key' | 'wrong-type' | 'private-not-public' | 'public-not-private',
  ) {
    super(message);
  }
}

const BASE64_LINE = /^[A-Za-z0-9+/]+={0,2}$/;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/;

function checkEd25519(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new KeyFormatError(`it is a ${key.asymmetricKeyType ?? 'unknown'} key, not an Ed25519 key`, 'wrong-type');
  }
  return key;
}

function decodeLine(text: string): Buffer {
  if (!BASE64_LINE.test(text) || text.length % 4 !== 0) throw new KeyFormatError('it is not one line of base64', 'not-base64');
  return Buffer.from(text, 'base64');
}

/**
 * A private key from a file's text: a PEM "PRIVATE KEY" block, or the
 * one-line base64 form. Throws KeyFormatError.
 */
export function parsePrivateKeyText(text: string): KeyObject {
  const t = text.replace(/^\uFEFF/, '').trim();
  const pem = PEM_BLOCK.exec(t);
  if (pem) {
    if (pem[1] === 'PUBLIC KEY') throw new KeyFormatError('it is a public key, not a private key', 'public-not-private');
    if (pem[1] !== 'PRIVATE KEY') {
      throw new KeyFormatError(`it is a PEM "${pem[1]}" block; expected an Ed25519 "PRIVATE KEY" (PKCS#8)`, 'not-a-key');
    }
    return privateFromDer(decodeLine(pem[2].replace(/\s+/g, '')));
  }
  return parsePrivateKeyLine(t);
}

/**
 * A private key from its one-line form (the environment variable). A PEM,
 * or any value spread over several lines, is refused: CI systems mangle
 * newlines in secrets, so a multi-line key "works" on one runner and not
 * on the next.
 */
export function parsePrivateKeyLine(value: string): KeyObject {
  const t = value.trim();
  if (/-----BEGIN/.test(t) || /[\r\n]/.test(t) || /\\n/.test(t)) {
    throw new KeyFormatError('it holds a multi-line PEM key; it must be one line of base64 (the PKCS#8 DER)', 'multi-line');
  }
  return privateFromDer(decodeLine(t));
}

/** A public key from a PEM "PUBLIC KEY" block or the one-line base64 of its SPKI DER. Throws KeyFormatError. */
export function parsePublicKeyText(text: string): KeyObject {
  const t = text.replace(/^\uFEFF/, '').trim();
  const pem = PEM_BLOCK.exec(t);
  if (pem) {
    if (pem[1] === 'PRIVATE KEY') {
      throw new KeyFormatError('it is a private key; pass the public key (the .pub file)', 'private-not-public');
    }
    if (pem[1] !== 'PUBLIC KEY') throw new KeyFormatError(`it is a PEM "${pem[1]}" block; expected a "PUBLIC KEY"`, 'not-a-key');
    return publicFromDer(decodeLine(pem[2].replace(/\s+/g, '')));
  }
  if (/[\r\n]/.test(t)) throw new KeyFormatError('it is not a PEM block nor one line of base64', 'not-base64');
  return publicFromDer(decodeLine(t));
}

/**
 * The two DER forms of a key, each with what to say when the bytes are not
 * that form: the other form (a mix-up worth naming), or not a key at all.
 */
const DER_FORMS = {
  private: {
    read: (der: Buffer) => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
    isOther: () => new KeyFormatError('it is a public key, not a private key', 'public-not-private'),
    notAKey: () => new KeyFormatError('it is not a PKCS#8 private key', 'not-a-key'),
  },
  public: {
    read: (der: Buffer) => createPublicKey({ key: der, format: 'der', type: 'spki' }),
    isOther: () => new KeyFormatError('it is a private key; pass the public key (the .pub file)', 'private-not-public'),
    notAKey: () => new KeyFormatError('it is not an SPKI public key', 'not-a-key'),
  },
} as const;

/** An Ed25519 key of the wanted form from DER bytes. Throws KeyFormatError. */
function keyFromDer(der: Buffer, want: keyof typeof DER_FORMS): KeyObject {
  const form = DER_FORMS[want];
  let key: KeyObject;
  try {
    key = form.read(der);
  } catch {
    let isOther = false;
    try {
      DER_FORMS[want === 'private' ? 'public' : 'private'].read(der);
      isOther = true;
    } catch {
      // neither form
    }
    throw isOther ? form.isOther() : form.notAKey();
  }
  return checkEd25519(key);
}

const privateFromDer = (der: Buffer) => keyFromDer(der, 'private');
const publicFromDer = (der: Buffer) => keyFromDer(der, 'public');

/** The strings of a private key that must never reach any output (for the redactor). */
export function privateKeySecrets(privateKey: KeyObject): string[] {
  const pem = privateKeyPem(privateKey);
  const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  return [privateKeyBase64(privateKey), ...body];
}
