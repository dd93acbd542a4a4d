/**
 * What a generated validator (ajv standalone code, generated from the JSON
 * Schemas in schemas/files/ by scripts/gen-schemas.mjs) says about a value,
 * as data paths a Locator can place. Each file's module turns the issues
 * into its own messages and codes.
 */
import type { Path } from '../yaml/locator.js';

/** An error as ajv's generated code reports it. */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** The shape of a generated validator's `validate` export. */
export interface GeneratedValidator {
  (data: unknown): boolean;
  errors?: SchemaError[] | null;
}

export interface SchemaIssue {
  /** The JSON Schema keyword that failed: type, required, additionalProperties, enum, pattern, ... */
  keyword: string;
  /** Where in the data: keys and list indexes. */
  path: Path;
  params: Record<string, unknown>;
  /** ajv's own words, e.g. "must be string". */
  message: string;
}

/** The issues of data against the validator, in the validator's order; [] when it is valid. */
export function schemaIssues(validate: unknown, data: unknown): SchemaIssue[] {
  const v = validate as GeneratedValidator;
  if (v(data)) return [];
  return (v.errors ?? []).map((e) => ({ keyword: e.keyword, path: pointerToPath(e.instancePath), params: e.params, message: e.message ?? 'is invalid' }));
}

function pointerToPath(pointer: string): Path {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `metadata.tags[2]`. */
export function dotted(path: Path): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : p))
    .join('.')
    .replace(/\.\[/g, '[');
}

/** A value's kind as messages name it. */
export function typeName(v: unknown): string {
  if (v === null) return 'empty (null)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

/** The value at path in data (undefined when a step is missing). */
export function valueAt(data: unknown, path: Path): unknown {
  let v: unknown = data;
  for (const p of path) v = v === null || typeof v !== 'object' ? undefined : (v as Record<string | number, unknown>)[p];
  return v;
}

/** The member an issue is about: its path, plus the missing property of a `required` issue. */
export function memberOf(issue: SchemaIssue): Path {
  return issue.keyword === 'required' ? [...issue.path, String(issue.params.missingProperty)] : issue.path;
}

/**
 * The member the first problem is about, in a document's reading order:
 * members lists top-level (or dotted) names, most important first. An
 * issue counts for the most specific member it is at, under, or (when it
 * is about a whole block) above.
 */
export function firstMember(issues: SchemaIssue[], members: readonly string[]): { member: string; issue: SchemaIssue } | undefined {
  let best: { index: number; member: string; issue: SchemaIssue } | undefined;
  for (const issue of issues) {
    const at = dotted(memberOf(issue));
    const matching = members.filter((m) => at === m || at.startsWith(`${m}.`) || at.startsWith(`${m}[`) || (at !== '' && m.startsWith(`${at}.`)));
    if (matching.length === 0) continue;
    const under = matching.filter((m) => at === m || at.startsWith(`${m}.`) || at.startsWith(`${m}[`));
    // At or under members: the most specific one; above them (a whole block is wrong): its first.
    const member = under.length > 0 ? under.reduce((x, y) => (y.length > x.length ? y : x)) : matching[0];
    const index = members.indexOf(member);
    if (best === undefined || index < best.index) best = { index, member, issue };
  }
  return best && { member: best.member, issue: best.issue };
}

/** A problem a rule after the schema found, as an issue (so it is ordered with the schema's). */
export function ruleIssue(path: Path, message = 'is invalid'): SchemaIssue {
  return { keyword: 'rule', path, params: {}, message };
}

/** A document that breaks its format: the one-line reason, and the member it is about (for a position). */
export class DocumentError extends Error {
  constructor(
    message: string,
    readonly path: Path = [],
  ) {
    super(message);
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The JSON of a small document this CLI reads (a signature document, an
 * SBOM, a DSSE envelope): refused over `maxBytes`, a leading BOM dropped;
 * throws an Error with a one-line reason.
 */
export function parseSmallJson(text: string, maxBytes: number): unknown {
  if (Buffer.byteLength(text) > maxBytes) throw new Error(`it is over ${maxBytes} bytes`);
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new Error(`it is not valid JSON (${(err as Error).message})`);
  }
}
