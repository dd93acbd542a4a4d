/**
 * Key rollover on the development marketplace (docs/signing.md, "Keys over
 * time"): POST /me/keys/rollover with a statement of signing/rollover.ts.
 * The old key must be the caller's and valid now; both signatures must
 * hold; then the new key is registered for the caller on the strength of
 * the old key's signature (no separate proof: the new key signed the
 * statement), and the old one is marked rolled over (its own table, so the
 * key table keeps its shape).
 */
import { keyIdOf, publicKeyBase64 } from '../signing/keys.js';
import type { MetaStore } from './storage/meta.js';
import { parseKeyRecord, type KeyRecord } from '../signing/keyring.js';
import { newKeyOf, parseRollover, rolloverProblem, type RolloverStatement } from '../signing/rollover.js';
import { ApiError } from './errors.js';
import type { ServerSigning } from './signing.js';

export class ServerRollovers {
  constructor(
    private readonly meta: MetaStore,
    private readonly signing: ServerSigning,
    private readonly now: () => number,
  ) {}

  /** A key record with `rolled_over_to` when the key handed over. */
  async decorate(r: KeyRecord): Promise<KeyRecord & { rolled_over_to?: string }> {
    const next = await this.meta.successorOf(r.key_id);
    return next ? { ...r, rolled_over_to: next } : r;
  }

  private statementOf(raw: unknown): RolloverStatement {
    try {
      return parseRollover(raw);
    } catch (err) {
      throw new ApiError(400, 'ROLLOVER_INVALID', `"statement" is not a key rollover statement: ${(err as Error).message}`);
    }
  }

  /** Accept the statement for `owner`: the new key registered, the old one marked. */
  async accept(owner: string, raw: unknown): Promise<{ key: KeyRecord; rolled_over: KeyRecord; created: boolean }> {
    const s = this.statementOf(raw);
    const old = await this.signing.keyRecord(s.old_key_id);
    if (!old || old.owner !== owner) {
      throw new ApiError(404, 'KEY_NOT_FOUND', `you have no key ${s.old_key_id}: a rollover is accepted from one of your registered keys only`);
    }
    if (old.revoked_at !== null && this.now() >= Date.parse(old.revoked_at)) {
      throw new ApiError(
        422,
        'KEY_REVOKED',
        `key ${old.key_id} was revoked on ${old.revoked_at}: a revoked key hands over to nothing; register the new key with \`marketplace keys add\``,
      );
    }
    const problem = rolloverProblem(s, parseKeyRecord(old));
    if (problem) throw new ApiError(422, problem.code, problem.message);
    const at = new Date(this.now()).toISOString();
    const key = newKeyOf(s);
    const keyId = keyIdOf(key);
    const r = await this.meta.rollover(
      { key_id: keyId, owner, public_key: publicKeyBase64(key), created_at: at, expires_at: null, revoked_at: null },
      { old_key_id: s.old_key_id, new_key_id: s.new_key_id, statement: JSON.stringify(s), created_at: at },
    );
    if (r.kind === 'taken') {
      throw new ApiError(409, 'KEY_TAKEN', `key ${keyId} is registered to another developer; generate your own with \`plexichat-plugin keys generate\``);
    }
    return { key: this.signing.recordOf(r.row), rolled_over: await this.decorate(old), created: r.kind === 'created' };
  }
}
