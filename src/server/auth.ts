/**
 * Tokens. The server keeps only the sha256 of each token and compares
 * digests in constant time. A token's user id is its role and its full
 * digest (`dev-<64 hex>`), stored per token in the data dir (storage/
 * identities) so the same token is the same user across restarts and two
 * tokens are never one user. Data dirs from before, whose owners are
 * `dev-<first 8 hex>`, keep their owners: the first token whose short id
 * owns data there is mapped to it (see MetaStore.identity).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '../core/roles.js';

export interface TokenSpec {
  token: string;
  role: Role;
  /** Epoch ms after which the token is refused. */
  expiresAt?: number;
}

export interface Caller {
  user: string;
  role: Role;
}

interface Entry {
  digest: Buffer;
  user: string;
  role: Role;
  expiresAt?: number;
}

export function generateToken(): string {
  return `pcx_${randomBytes(24).toString('base64url')}`;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function rolePrefix(role: Role): string {
  return role === 'developer' ? 'dev' : 'rev';
}

/** A token's user id: its role and the full sha256 of the token (never the token). */
export function userIdOf(token: string, role: Role): string {
  return `${rolePrefix(role)}-${digest(token).toString('hex')}`;
}

/** The short id of data dirs from before the full digest: `dev-<first 8 hex>`. Two tokens can share it. */
export function legacyUserIdOf(token: string, role: Role): string {
  return `${rolePrefix(role)}-${digest(token).toString('hex').slice(0, 8)}`;
}

/** Maps a token (its role and digest) to its stored user id; the default is userIdOf's. */
export type IdentityResolver = (spec: { role: Role; id: string; legacyId: string }) => Promise<string>;

/** What a token must be: what a Bearer header can carry (printable ASCII, no spaces), at least 8 long. */
const TOKEN_RE = /^[\x21-\x7e]{8,}$/;

/**
 * Why these tokens cannot be served, or undefined. Each token has one role:
 * a token given for two roles would make its holder both developer and
 * reviewer. Never names a token (the message may be printed or logged).
 */
export function tokenProblem(specs: readonly TokenSpec[]): string | undefined {
  const roles = new Map<string, Role>();
  for (const s of specs) {
    if (!TOKEN_RE.test(s.token)) return 'a token must be at least 8 characters with no spaces (printable ASCII)';
    const other = roles.get(s.token);
    if (other !== undefined && other !== s.role) {
      return `the same token is given for the ${other} and the ${s.role} role; each role needs its own token`;
    }
    roles.set(s.token, s.role);
  }
  return undefined;
}

export class TokenError extends Error {
  readonly code = 'BAD_TOKENS';
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

export class TokenTable {
  private readonly entries: Entry[];

  private readonly specs: TokenSpec[];

  /** Throws TokenError for tokens tokenProblem() refuses. */
  constructor(specs: TokenSpec[]) {
    const problem = tokenProblem(specs);
    if (problem) throw new TokenError(problem);
    this.specs = specs;
    this.entries = specs.map((s) => ({
      digest: digest(s.token),
      user: userIdOf(s.token, s.role),
      role: s.role,
      expiresAt: s.expiresAt,
    }));
  }

  /** Give each token the user id the data dir stores for it (a short id of an older data dir, or its full one). */
  async resolveIds(resolve: IdentityResolver): Promise<void> {
    for (const [i, s] of this.specs.entries()) {
      this.entries[i].user = await resolve({ role: s.role, id: userIdOf(s.token, s.role), legacyId: legacyUserIdOf(s.token, s.role) });
    }
  }

  /** The caller for a presented token, 'expired', or undefined. Checks every entry (no early exit). */
  lookup(token: string, now: number): Caller | 'expired' | undefined {
    const d = digest(token);
    let found: Entry | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(e.digest, d) && !found) found = e;
    }
    if (!found) return undefined;
    if (found.expiresAt !== undefined && found.expiresAt <= now) return 'expired';
    return { user: found.user, role: found.role };
  }
}

/** The token of an `Authorization: Bearer <token>` header, '' when malformed, undefined when absent. */
export function bearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer[ ]+([\x21-\x7e]+)\s*$/i.exec(header);
  return m ? m[1] : '';
}
