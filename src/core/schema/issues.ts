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
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
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
