/**
 * The signature document (`dist/<name>-<version>.zip.sig`, and the
 * marketplace's counter-signature): its fields, its canonical encoding and
 * the Ed25519 signature over that encoding. Pure. docs/signing.md is the
 * reference; a change here is a change of `format`.
 *
 * The signed bytes are the UTF-8 of the document without `signature`,
 * serialized canonically: object keys sorted (by UTF-16 code units, as in
 * RFC 8785), no whitespace, strings as JSON.stringify writes them, integers
 * in decimal. Every value is a string, a safe integer, null or an object,
 * so this subset of RFC 8785 is all of it.
 */
import { sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { isPluginName } from '../core/plugin-name.js';
import { ALGORITHM, KEY_ID_PATTERN } from './keys.js';

export const SIGNATURE_FORMAT = 'plexichat-plugin-signature/1';
/** A .sig larger than this is refused before parsing. */
export const MAX_SIGNATURE_BYTES = 64 * 1024;

export type SignatureRole = 'publisher' | 'marketplace';

export interface SignedFields {
  format: typeof SIGNATURE_FORMAT;
  /** `publisher`: made by the plugin's author; `marketplace`: the counter-signature made on publish. */
  role: SignatureRole;
  algorithm: typeof ALGORITHM;
  key_id: string;
  plugin: { name: string; version: string };
  /** The archive file's bytes. */
  archive: { sha256: string; size: number };
  /** The archive's member list: sha256 of its plexichat-integrity.json (null when it has none). */
  contents: { sha256: string | null };
  /** Counter-signature only: the publisher signature it vouches for (null for an unsigned upload). */
  publisher?: { key_id: string; signature_sha256: string } | null;
  /** When it was signed (ISO 8601 UTC, milliseconds). For the marketplace: when it was published. */
  created_at: string;
}

export interface SignatureDocument extends SignedFields {
  /** base64 of the 64-byte Ed25519 signature over canonicalBytes(fields). */
  signature: string;
}

/** The bytes that are signed. */
export function canonicalBytes(fields: SignedFields): Buffer {
  const { signature: _omit, ...rest } = fields as SignedFields & { signature?: string };
  return Buffer.from(canonicalJson(rest), 'utf8');
}

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`canonical JSON holds integers only, got ${value}`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new Error(`canonical JSON cannot hold a ${typeof value}`);
}

export function signFields(fields: SignedFields, privateKey: KeyObject): SignatureDocument {
  const signature = edSign(null, canonicalBytes(fields), privateKey).toString('base64');
  return { ...fields, signature };
}

/** True when the document's signature is the key's signature over its fields. */
export function signatureMatches(doc: SignatureDocument, publicKey: KeyObject): boolean {
  const sig = Buffer.from(doc.signature, 'base64');
  if (sig.length !== 64) return false;
  try {
    return edVerify(null, canonicalBytes(doc), publicKey, sig);
  } catch {
    return false;
  }
}

/** The document as written to disk: pretty JSON in a fixed key order, one trailing newline. */
export function serializeSignature(doc: SignatureDocument): string {
  const ordered: Record<string, unknown> = {
    format: doc.format,
    role: doc.role,
    algorithm: doc.algorithm,
    key_id: doc.key_id,
    plugin: doc.plugin,
    archive: doc.archive,
    contents: doc.contents,
  };
  if (doc.publisher !== undefined) ordered.publisher = doc.publisher;
  ordered.created_at = doc.created_at;
  ordered.signature = doc.signature;
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

const HEX64 = /^[0-9a-f]{64}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** Parse and shape-check a signature document; throws an Error with a one-line reason. */
export function parseSignature(data: Buffer | string): SignatureDocument {
  const text = typeof data === 'string' ? data : data.toString('utf8');
  if (Buffer.byteLength(text) > MAX_SIGNATURE_BYTES) throw new Error(`it is over ${MAX_SIGNATURE_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new Error(`it is not valid JSON (${(err as Error).message})`);
  }
  const o = doc as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error('it is not a JSON object');
  if (o.format !== SIGNATURE_FORMAT) {
    throw new Error(`unknown format ${JSON.stringify(o.format)} (this version reads ${SIGNATURE_FORMAT})`);
  }
  if (o.algorithm !== ALGORITHM) throw new Error(`unknown algorithm ${JSON.stringify(o.algorithm)}`);
  if (o.role !== 'publisher' && o.role !== 'marketplace') throw new Error(`unknown role ${JSON.stringify(o.role)}`);
  const bad = (field: string) => new Error(`"${field}" is missing or malformed`);
  if (typeof o.key_id !== 'string' || !KEY_ID_PATTERN.test(o.key_id)) throw bad('key_id');
  const plugin = o.plugin as Record<string, unknown> | null;
  // Names and versions are printed: only the characters a valid one has (no control characters).
  if (!plugin || typeof plugin.name !== 'string' || !isPluginName(plugin.name)) throw bad('plugin.name');
  if (typeof plugin.version !== 'string' || !/^[0-9A-Za-z.+-]{1,128}$/.test(plugin.version)) throw bad('plugin.version');
  const archive = o.archive as Record<string, unknown> | null;
  if (!archive || typeof archive.sha256 !== 'string' || !HEX64.test(archive.sha256)) throw bad('archive.sha256');
  if (typeof archive.size !== 'number' || !Number.isSafeInteger(archive.size) || archive.size < 0) throw bad('archive.size');
  const contents = o.contents as Record<string, unknown> | null;
  if (!contents || !(contents.sha256 === null || (typeof contents.sha256 === 'string' && HEX64.test(contents.sha256)))) {
    throw bad('contents.sha256');
  }
  let publisher: SignatureDocument['publisher'];
  if (o.publisher !== undefined) {
    const p = o.publisher as Record<string, unknown> | null;
    if (p === null) publisher = null;
    else if (typeof p.key_id === 'string' && KEY_ID_PATTERN.test(p.key_id) && typeof p.signature_sha256 === 'string' && HEX64.test(p.signature_sha256)) {
      publisher = { key_id: p.key_id, signature_sha256: p.signature_sha256 };
    } else throw bad('publisher');
  }
  if (typeof o.created_at !== 'string' || !ISO.test(o.created_at) || Number.isNaN(Date.parse(o.created_at))) throw bad('created_at');
  if (typeof o.signature !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(o.signature)) throw bad('signature');
  // Only the known fields are kept: nothing unsigned can ride along.
  const out: SignatureDocument = {
    format: SIGNATURE_FORMAT,
    role: o.role,
    algorithm: ALGORITHM,
    key_id: o.key_id,
    plugin: { name: plugin.name, version: plugin.version },
    archive: { sha256: archive.sha256, size: archive.size },
    contents: { sha256: contents.sha256 },
    created_at: o.created_at,
    signature: o.signature,
  };
  if (publisher !== undefined) out.publisher = publisher;
  return out;
}
