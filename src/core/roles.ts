/**
 * The marketplace's token roles (docs/marketplace-api.md, "Roles"): the
 * server gives every token exactly one of these, and the client refuses an
 * answer that names any other (a protocol error, not a new kind of user).
 */
export const ROLES = ['developer', 'reviewer'] as const;

export type Role = (typeof ROLES)[number];

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}
