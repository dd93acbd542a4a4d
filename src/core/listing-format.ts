/**
 * The listing as it travels (docs/marketplace-api.md, "The listing"): one
 * type and one parser for both ends. `marketplace prepare` writes every key
 * (a `CompleteListing`); the development marketplace parses what it
 * receives with `parseListing`, where the keys not marked *req* may be
 * absent and unknown keys are kept.
 */
import semver from 'semver';

export interface ListingArchive {
  file: string;
  sha256: string;
  size: number;
}

export interface PermissionSummary {
  name: string;
  required: boolean;
  description: string;
}

export interface Listing {
  name: string;
  version: string;
  description: string;
  category: string;
  archive: ListingArchive;
  long_description?: string;
  changelog?: string;
  tags?: string[];
  license?: string | null;
  homepage?: string | null;
  author?: string | null;
  permissions?: { required: string[]; optional: string[] };
  /** One line per permission: what the plugin may do (extra key; stored by the server). */
  permissions_summary?: PermissionSummary[];
  [key: string]: unknown;
}

/** What `prepare` writes: every documented key present. */
export type CompleteListing = Required<Pick<Listing, 'long_description' | 'changelog' | 'tags' | 'license' | 'homepage' | 'author' | 'permissions' | 'permissions_summary'>> &
  Listing;

/** A listing that breaks the documented format; the message says which key and why. */
export class ListingFormatError extends Error {}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function invalid(message: string): ListingFormatError {
  return new ListingFormatError(`listing: ${message}`);
}

export function parseListing(bytes: Buffer): Listing {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (err) {
    throw invalid(`not valid JSON (${(err as Error).message})`);
  }
  if (!isObj(doc)) throw invalid('must be a JSON object');
  for (const key of ['name', 'version', 'description', 'category'] as const) {
    if (typeof doc[key] !== 'string' || doc[key].trim() === '') {
      throw invalid(`"${key}" must be a non-empty string`);
    }
  }
  if (!semver.valid(doc.version as string) || (doc.version as string).startsWith('v')) {
    throw invalid(`"version" ${JSON.stringify(doc.version)} is not a semantic version`);
  }
  for (const key of ['long_description', 'changelog'] as const) {
    if (doc[key] !== undefined && typeof doc[key] !== 'string') throw invalid(`"${key}" must be a string`);
  }
  for (const key of ['license', 'homepage', 'author'] as const) {
    if (doc[key] !== undefined && doc[key] !== null && typeof doc[key] !== 'string') {
      throw invalid(`"${key}" must be a string or null`);
    }
  }
  if (doc.tags !== undefined && !isStrArray(doc.tags)) throw invalid('"tags" must be an array of strings');
  if (doc.permissions !== undefined) {
    const p = doc.permissions;
    if (!isObj(p) || !isStrArray(p.required ?? []) || !isStrArray(p.optional ?? [])) {
      throw invalid('"permissions" must be { "required": [strings], "optional": [strings] }');
    }
  }
  const a = doc.archive;
  if (!isObj(a)) throw invalid('"archive" must be an object with file, sha256 and size');
  if (typeof a.file !== 'string' || a.file === '') throw invalid('"archive.file" must be a non-empty string');
  if (typeof a.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(a.sha256)) {
    throw invalid('"archive.sha256" must be 64 lowercase hex digits');
  }
  if (typeof a.size !== 'number' || !Number.isSafeInteger(a.size) || a.size < 0) {
    throw invalid('"archive.size" must be a whole number of bytes');
  }
  return doc as Listing;
}
