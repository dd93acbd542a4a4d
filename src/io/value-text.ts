/**
 * A value read from YAML or JSON (typed `unknown`) as text for a message or a
 * field: what `String(v)` gives, except that a mapping is shown as its JSON
 * instead of "[object Object]".
 */
export function valueText(v: unknown): string {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return JSON.stringify(v);
  return String(v);
}
