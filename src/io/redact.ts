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
