/**
 * The integrity listing: a generated archive member that names every other
 * member with its size and sha256, so a reader can check the archive member
 * by member (see docs/archive-format.md). Its shape is
 * schemas/files/integrity.schema.json; the validator and the type are
 * generated from it.
 */
import { firstMember, isObject, schemaIssues, type SchemaIssue } from '../schema/issues.js';
import type { IntegrityListing } from './integrity-schema-types.generated.js';
import { validate as validateIntegrity } from './integrity-schema-validator.generated.js';

export const INTEGRITY_PATH = 'plexichat-integrity.json';
export const INTEGRITY_FORMAT = 'plexichat-plugin-integrity/1';
/** A listing larger than this is refused before parsing. */
export const MAX_INTEGRITY_BYTES = 16 * 1024 * 1024;

/** The listing's type, generated from schemas/files/integrity.schema.json. */
export type { IntegrityListing } from './integrity-schema-types.generated.js';
export type IntegrityFile = IntegrityListing['files'][number];

/** Deterministic text of a listing: files sorted by path, fixed key order, one file per line. */
export function serializeIntegrity(plugin: { name: string; version: string }, files: IntegrityFile[]): Buffer {
  const sorted = [...files].sort((a, b) => compareNames(a.path, b.path));
  const lines = sorted.map((f) => `    { "path": ${JSON.stringify(f.path)}, "size": ${f.size}, "sha256": "${f.sha256}" }`);
  const text =
    '{\n' +
    `  "format": "${INTEGRITY_FORMAT}",\n` +
    '  "algorithm": "sha256",\n' +
    `  "plugin": { "name": ${JSON.stringify(plugin.name)}, "version": ${JSON.stringify(plugin.version)} },\n` +
    `  "files": [${lines.length ? `\n${lines.join(',\n')}\n  ` : ''}]\n` +
    '}\n';
  return Buffer.from(text, 'utf8');
}

/** Parse and shape-check a listing (schemas/files/integrity.schema.json); throws an Error with a one-line message when it is malformed. */
export function parseIntegrity(data: Buffer): IntegrityListing {
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message})`);
  }
  const issues = schemaIssues(validateIntegrity, doc);
  if (issues.length > 0) throw new Error(problem(issues, doc));
  return doc as IntegrityListing;
}

/** The first problem, in the listing's own words. */
function problem(issues: SchemaIssue[], doc: unknown): string {
  if (!isObject(doc)) return 'not a JSON object';
  const first = firstMember(issues, ['format', 'algorithm', 'files', 'plugin']);
  switch (first?.member) {
    case 'format':
      return `unknown format ${JSON.stringify(doc.format)}`;
    case 'algorithm':
      return `unknown algorithm ${JSON.stringify(doc.algorithm)}`;
    case 'files': {
      const index = first.issue.path[1];
      if (typeof index !== 'number') return '"files" is not a list';
      return `malformed file record ${String(JSON.stringify((doc.files as unknown[])[index])).slice(0, 200)}`;
    }
    default:
      return '"plugin" is missing or malformed (expected { "name": ..., "version": ... })';
  }
}

/** Byte-wise (UTF-8) order, the same on every machine and locale. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
