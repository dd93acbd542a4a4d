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
 * so this subset of RFC 8785 is all of it. The document's shape is
 * schemas/files/signature.schema.json.
 */
import { sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { isPluginName } from '../core/plugin-name.js';
import { firstMember, isObject, parseSmallJson, ruleIssue, schemaIssues } from '../core/schema/issues.js';
import { ALGORITHM } from './keys.js';
import type { SignatureDocument } from './signature-schema-types.generated.js';
import { validate as validateSignature } from './signature-schema-validator.generated.js';

export const SIGNATURE_FORMAT = 'plexichat-plugin-signature/1';
/** A .sig larger than this is refused before parsing. */
export const MAX_SIGNATURE_BYTES = 64 * 1024;

export type SignatureRole = 'publisher' | 'marketplace';

/** The document, typed from schemas/files/signature.schema.json (the validator is generated from it too). */
export type { SignatureDocument } from './signature-schema-types.generated.js';

/** What is signed: the document without `signature`. */
export type SignedFields = Omit<SignatureDocument, 'signature'>;

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

/** The fields in the order a reader checks them: the first problem is reported. */
const FIELDS = [
  'format',
  'algorithm',
  'role',
  'key_id',
  'plugin.name',
  'plugin.version',
  'archive.sha256',
  'archive.size',
  'contents.sha256',
  'publisher',
  'created_at',
  'signature',
];

/** Parse and shape-check a signature document (schemas/files/signature.schema.json); throws an Error with a one-line reason. */
export function parseSignature(data: Buffer | string): SignatureDocument {
  const text = typeof data === 'string' ? data : data.toString('utf8');
  const doc = parseSmallJson(text, MAX_SIGNATURE_BYTES);
  if (!isObject(doc)) throw new Error('it is not a JSON object');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- read field by field after schemaIssues below has checked the shape
  const o = doc as Record<string, any>;
  const issues = schemaIssues(validateSignature, doc);
  // Names are printed: only a valid plugin name (no control characters). The times must be real ones.
  if (isObject(o.plugin) && typeof o.plugin.name === 'string' && !isPluginName(o.plugin.name)) issues.push(ruleIssue(['plugin', 'name']));
  if (typeof o.created_at === 'string' && Number.isNaN(Date.parse(o.created_at))) issues.push(ruleIssue(['created_at']));
  const first = firstMember(issues, FIELDS);
  if (first) throw new Error(problem(first.member, o));
  const d = o as SignatureDocument;
  // Only the known fields are kept: nothing unsigned can ride along.
  const out: SignatureDocument = {
    format: SIGNATURE_FORMAT,
    role: d.role,
    algorithm: ALGORITHM,
    key_id: d.key_id,
    plugin: { name: d.plugin.name, version: d.plugin.version },
    archive: { sha256: d.archive.sha256, size: d.archive.size },
    contents: { sha256: d.contents.sha256 },
    created_at: d.created_at,
    signature: d.signature,
  };
  if (d.publisher !== undefined) out.publisher = d.publisher === null ? null : { key_id: d.publisher.key_id, signature_sha256: d.publisher.signature_sha256 };
  return out;
}

function problem(member: string, o: Record<string, unknown>): string {
  switch (member) {
    case 'format':
      return `unknown format ${JSON.stringify(o.format)} (this version reads ${SIGNATURE_FORMAT})`;
    case 'algorithm':
      return `unknown algorithm ${JSON.stringify(o.algorithm)}`;
    case 'role':
      return `unknown role ${JSON.stringify(o.role)}`;
    default:
      return `"${member}" is missing or malformed`;
  }
}
