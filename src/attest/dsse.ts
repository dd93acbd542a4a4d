/**
 * DSSE, the Dead Simple Signing Envelope (secure-systems-lab/dsse, v1.0.0):
 * the Pre-Authentication Encoding, and an envelope signed with one Ed25519
 * key. Pure (node:crypto only). docs/signing.md, "Build provenance".
 *
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 *
 * LEN is the ASCII decimal byte length (of the UTF-8 of the type), with no
 * leading zeros. The envelope is JSON: { payloadType, payload (base64),
 * signatures: [{ keyid, sig (base64) }] }; a reader accepts standard and
 * URL-safe base64, as the specification requires.
 */
import { sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { isObject, parseSmallJson } from '../core/schema/issues.js';

/** The payload type of an in-toto Statement. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** An envelope file larger than this is refused before parsing. */
export const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;

export interface EnvelopeSignature {
  keyid?: string;
  sig: string;
}

export interface Envelope {
  payloadType: string;
  payload: string;
  signatures: EnvelopeSignature[];
}

/** The bytes a DSSE signature is made over. */
export function pae(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'ascii'), type, Buffer.from(` ${body.length} `, 'ascii'), body]);
}

/** An envelope over `body`, signed with one key (keyid: the key's id, a hint only). */
export function signEnvelope(payloadType: string, body: Buffer, privateKey: KeyObject, keyid: string): Envelope {
  const sig = edSign(null, pae(payloadType, body), privateKey).toString('base64');
  return { payloadType, payload: body.toString('base64'), signatures: [{ keyid, sig }] };
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Standard or URL-safe base64; throws on anything else. */
export function decodeBase64(text: string, what: string): Buffer {
  if (!BASE64.test(text)) throw new Error(`${what} is not base64`);
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** Parse an envelope's JSON (one line of a .intoto.jsonl, or a whole file); throws an Error with a one-line reason. */
export function parseEnvelope(text: string): Envelope {
  const doc = parseSmallJson(text, MAX_ENVELOPE_BYTES);
  if (!isObject(doc)) throw new Error('it is not a JSON object');
  if (typeof doc.payloadType !== 'string') throw new Error('"payloadType" is missing or not a string');
  if (typeof doc.payload !== 'string') throw new Error('"payload" is missing or not a string');
  decodeBase64(doc.payload, '"payload"');
  if (!Array.isArray(doc.signatures) || doc.signatures.length === 0) throw new Error('"signatures" is missing or empty');
  const signatures: EnvelopeSignature[] = doc.signatures.map((s: unknown, i: number) => {
    if (!isObject(s) || typeof s.sig !== 'string') throw new Error(`signature ${i + 1} has no "sig"`);
    if (s.keyid !== undefined && typeof s.keyid !== 'string') throw new Error(`signature ${i + 1}'s "keyid" is not a string`);
    return s.keyid === undefined ? { sig: s.sig } : { keyid: s.keyid, sig: s.sig };
  });
  return { payloadType: doc.payloadType, payload: doc.payload, signatures };
}

/** The payload's bytes. */
export function envelopeBody(env: Envelope): Buffer {
  return decodeBase64(env.payload, '"payload"');
}

/** True when `sig` is the key's Ed25519 signature over the envelope's PAE. */
export function envelopeSignatureMatches(env: Envelope, sig: EnvelopeSignature, publicKey: KeyObject): boolean {
  let raw: Buffer;
  try {
    raw = decodeBase64(sig.sig, '"sig"');
  } catch {
    return false;
  }
  if (raw.length !== 64) return false;
  try {
    return edVerify(null, pae(env.payloadType, envelopeBody(env)), publicKey, raw);
  } catch {
    return false;
  }
}
