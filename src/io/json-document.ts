/**
 * The one shape of every --json document (docs/json.md): a `schemaVersion`
 * first, then the command's fields, every field name in camelCase.
 *
 * Commands return their results as they hold them; records that come from
 * elsewhere (the marketplace's answers, the dev host's events, signature
 * documents) are written in snake_case on the wire. They are turned into
 * the CLI's convention here, once, for every command, rather than in each.
 * A value that is the user's own document (the parsed manifest, whose
 * `settings` and `resources` maps have keys the user chose) is marked
 * with verbatim() and printed as it is.
 */

/** The version of the document shapes; raised when a field is renamed or removed (docs/json.md). */
export const JSON_SCHEMA_VERSION = 1;

const verbatimValues = new WeakSet<object>();

/** Print this value as it is (its keys are the user's data, not field names). */
export function verbatim<T extends object>(value: T): T {
  verbatimValues.add(value);
  return value;
}

const SNAKE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$/;

/** `created_at` -> `createdAt`; any other name (already camelCase, or not a field-like name) is kept. */
export function camelName(key: string): string {
  return SNAKE.test(key) ? key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()) : key;
}

/** A document of many records repeats the same few names: each is worked out once. */
const names = new Map<string, string>();

function nameOf(key: string): string {
  let name = names.get(key);
  if (name === undefined) {
    name = camelName(key);
    if (names.size < 10_000) names.set(key, name);
  }
  return name;
}

function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value === null || typeof value !== 'object' || verbatimValues.has(value)) return value;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[nameOf(k)] = camelKeys(v);
  }
  return out;
}

/** The document as printed: schemaVersion, then the fields of doc in camelCase. */
export function jsonDocument(doc: object): Record<string, unknown> {
  return { schemaVersion: JSON_SCHEMA_VERSION, ...(camelKeys(doc) as Record<string, unknown>) };
}
