/**
 * Redaction for anything that reaches output: bearer/basic credentials,
 * URL user-info, and PlexiChat tokens (pcx_...). Secrets registered at run
 * time (the token in use) are removed too.
 */
const known = new Set<string>();

export function registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 4) known.add(secret);
}

export function redact(text: string): string {
  let s = text
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]')
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s:]+(?::[^/@\s]*)?@/gi, '$1[redacted]@')
    .replace(/\bpcx_[A-Za-z0-9_-]+/g, 'pcx_[redacted]');
  for (const secret of known) s = s.split(secret).join('[redacted]');
  return s;
}

/**
 * A value with every string in it redacted (object keys too), for documents
 * that carry text a server or a file chose: the --json error document, whose
 * fields (request id, server code, findings, hint) are all such text.
 */
export function redactDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redact(value) as T;
  if (depth > 32 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[redact(k)] = redactDeep(v, depth + 1);
  return out as T;
}
