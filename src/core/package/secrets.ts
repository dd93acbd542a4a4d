/**
 * Likely secrets that must not be packed: by file name (.env, private key
 * files) and by content (private key blocks, cloud and chat tokens, tokens
 * in .npmrc/.pypirc). Findings carry the file, line and rule, never the
 * secret itself.
 */

export interface SecretFinding {
  file: string;
  /** 1-based; 0 when the rule is about the file name. */
  line: number;
  rule: string;
  description: string;
}

interface NameRule {
  rule: string;
  description: string;
  test(base: string): boolean;
}

const NAME_RULES: NameRule[] = [
  {
    rule: 'env-file',
    description: 'environment file (usually holds credentials)',
    test: (b) => b === '.env' || (b.startsWith('.env.') && !/\.(example|sample|template|dist|defaults)$/i.test(b)),
  },
  {
    rule: 'private-key-file',
    description: 'private key file',
    test: (b) => /^id_(rsa|dsa|ecdsa|ed25519)$/.test(b) || /\.(pem|p12|pfx|jks|keystore)$/i.test(b),
  },
];

interface ContentRule {
  rule: string;
  description: string;
  /** Only for files with this base name. */
  onlyFor?: string;
  re: RegExp;
}

/**
 * Content rules. Each regex is anchored on a rare literal so one combined
 * scan over the bytes is cheap; a file's text is only scanned when it
 * looks like text (no NUL byte near the start).
 */
const CONTENT_RULES: ContentRule[] = [
  { rule: 'private-key', description: 'private key block', re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  { rule: 'aws-access-key', description: 'AWS access key id', re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { rule: 'github-token', description: 'GitHub token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b/ },
  { rule: 'slack-token', description: 'Slack token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { rule: 'slack-webhook', description: 'Slack webhook URL', re: /hooks\.slack\.com\/services\/T[A-Za-z0-9_]+\/B[A-Za-z0-9_]+\/[A-Za-z0-9_]+/ },
  { rule: 'npmrc-token', description: 'registry credential in .npmrc', onlyFor: '.npmrc', re: /(?:_authToken|_auth|_password)\s*=\s*\S/ },
  { rule: 'pypirc-password', description: 'password in .pypirc', onlyFor: '.pypirc', re: /^[ \t]*password[ \t]*[=:][ \t]*\S/m },
];

const GENERIC = CONTENT_RULES.filter((r) => !r.onlyFor);
const COMBINED = new RegExp(GENERIC.map((r) => `(${r.re.source})`).join('|'), 'g');

export function secretByName(file: string): SecretFinding | undefined {
  const base = file.slice(file.lastIndexOf('/') + 1);
  const hit = NAME_RULES.find((r) => r.test(base));
  return hit ? { file, line: 0, rule: hit.rule, description: hit.description } : undefined;
}

/** Looks like text: no NUL byte in the first 8 KiB. */
export function looksLikeText(data: Buffer): boolean {
  return data.subarray(0, 8192).indexOf(0) === -1;
}

/**
 * Scan one buffer of a file. `startLine` is the 1-based line number of the
 * first byte of `data` (for files scanned in chunks). Returns at most one
 * finding per rule.
 */
export function scanSecrets(file: string, data: Buffer, startLine = 1): SecretFinding[] {
  const base = file.slice(file.lastIndexOf('/') + 1);
  const text = data.toString('latin1');
  const found: SecretFinding[] = [];
  const seen = new Set<string>();
  const lineAt = (index: number) => {
    let n = startLine;
    for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) n += 1;
    return n;
  };
  COMBINED.lastIndex = 0;
  for (let m = COMBINED.exec(text); m; m = COMBINED.exec(text)) {
    const idx = m.slice(1).findIndex((g) => g !== undefined);
    const rule = GENERIC[idx];
    if (!seen.has(rule.rule)) {
      seen.add(rule.rule);
      found.push({ file, line: lineAt(m.index), rule: rule.rule, description: rule.description });
    }
  }
  for (const rule of CONTENT_RULES) {
    if (rule.onlyFor !== base) continue;
    const m = rule.re.exec(text);
    if (m) found.push({ file, line: lineAt(m.index), rule: rule.rule, description: rule.description });
  }
  return found;
}

/** Newlines in a buffer (to carry line numbers across chunks). */
export function countLines(data: Buffer): number {
  let n = 0;
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) n += 1;
  return n;
}
