/**
 * The listing as it travels (docs/marketplace-api.md, "The listing"): one
 * type and one parser for both ends. `marketplace prepare` writes every key
 * (a `CompleteListing`); the development marketplace parses what it
 * receives with `parseListing`, where the keys not marked *req* may be
 * absent and unknown keys are kept. The format is
 * schemas/files/listing.schema.json.
 */
import semver from 'semver';
import { firstMember, isObject, ruleIssue, schemaIssues } from './schema/issues.js';
import type { Listing } from './listing-schema-types.generated.js';
import { validate as validateListing } from './listing-schema-validator.generated.js';

/** The listing, typed from schemas/files/listing.schema.json (the validator is generated from it too). */
export type { Listing } from './listing-schema-types.generated.js';
export type ListingArchive = Listing['archive'];
export type PermissionSummary = NonNullable<Listing['permissions_summary']>[number];

/** What `prepare` writes: every documented key present. */
export type CompleteListing = Required<Pick<Listing, 'long_description' | 'changelog' | 'tags' | 'license' | 'homepage' | 'author' | 'permissions_summary'>> &
  Listing & { permissions: Required<NonNullable<Listing['permissions']>> };

/** A listing that breaks the documented format; the message says which key and why. */
export class ListingFormatError extends Error {}

function invalid(message: string): ListingFormatError {
  return new ListingFormatError(`listing: ${message}`);
}

/** The keys in the order they are checked: the first problem is reported. */
const KEYS = [
  'name',
  'version',
  'description',
  'category',
  'long_description',
  'changelog',
  'license',
  'homepage',
  'author',
  'tags',
  'permissions',
  'permissions_summary',
  'archive',
  'archive.file',
  'archive.sha256',
  'archive.size',
];

const MESSAGES: Record<string, string> = {
  long_description: '"long_description" must be a string',
  changelog: '"changelog" must be a string',
  license: '"license" must be a string or null',
  homepage: '"homepage" must be a string or null',
  author: '"author" must be a string or null',
  tags: '"tags" must be an array of strings',
  permissions: '"permissions" must be { "required": [strings], "optional": [strings] }',
  permissions_summary: '"permissions_summary" must be [{ "name": string, "required": boolean, "description": string }]',
  archive: '"archive" must be an object with file, sha256 and size',
  'archive.file': '"archive.file" must be a non-empty string',
  'archive.sha256': '"archive.sha256" must be 64 lowercase hex digits',
  'archive.size': '"archive.size" must be a whole number of bytes',
};

/** Parse and check a listing (schemas/files/listing.schema.json); throws a ListingFormatError naming the first bad key. */
export function parseListing(bytes: Buffer): Listing {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (err) {
    throw invalid(`not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) throw invalid('must be a JSON object');
  const issues = schemaIssues(validateListing, doc);
  const version = doc.version;
  if (typeof version === 'string' && /\S/.test(version) && (!semver.valid(version) || version.startsWith('v'))) issues.push(ruleIssue(['version'], 'semver'));
  const first = firstMember(issues, KEYS);
  if (!first) return doc as Listing;
  const { member, issue } = first;
  if (issue.keyword === 'rule') throw invalid(`"version" ${JSON.stringify(version)} is not a semantic version`);
  throw invalid(MESSAGES[member] ?? `"${member}" must be a non-empty string`);
}
