/**
 * Key rollover on the development marketplace (docs/signing.md, "Keys over
 * time"): POST /me/keys/rollover with a statement of signing/rollover.ts.
 * The old key must be the caller's and valid now; both signatures must
 * hold; then the new key is registered for the caller on the strength of
 * the old key's signature (no separate proof: the new key signed the
 * statement), and the old one is marked rolled over (its own table, so the
 * key table keeps its shape).
 */
import type { Database as Db } from 'better-sqlite3';
import { parseKeyRecord, type KeyRecord } from '../signing/keyring.js';
import { newKeyOf, parseRollover, rolloverProblem, type RolloverStatement } from '../signing/rollover.js';
import { ApiError } from './errors.js';
import type { ServerSigning } from './signing.js';

export class ServerRollovers {
  constructor(
    private readonly db: Db,
    private readonly signing: ServerSigning,
    private readonly now: () => number,
  ) {
    db.exec(
      'CREATE TABLE IF NOT EXISTS key_rollovers (old_key_id TEXT PRIMARY KEY, new_key_id TEXT NOT NULL, statement TEXT NOT NULL, created_at TEXT NOT NULL)',
    );
  }

  /** The key an old key handed over to, when it did. */
  successorOf(keyId: string): string | null {
    const r = this.db.prepare('SELECT new_key_id FROM key_rollovers WHERE old_key_id = ?').get(keyId) as { new_key_id: string } | undefined;
    return r?.new_key_id ?? null;
  }

  /** A key record with `rolled_over_to` when the key handed over. */
  decorate(r: KeyRecord): KeyRecord & { rolled_over_to?: string } {
    const next = this.successorOf(r.key_id);
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
  accept(owner: string, raw: unknown): { key: KeyRecord; rolled_over: KeyRecord; created: boolean } {
    const s = this.statementOf(raw);
    const old = this.signing.keyRecord(s.old_key_id);
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
    const tx = this.db.transaction(() => {
      const added = this.signing.addKey(owner, newKeyOf(s), null);
      this.db
        .prepare('INSERT OR REPLACE INTO key_rollovers (old_key_id, new_key_id, statement, created_at) VALUES (?, ?, ?, ?)')
        .run(s.old_key_id, s.new_key_id, JSON.stringify(s), new Date(this.now()).toISOString());
      return added;
    });
    const { record, created } = tx.immediate();
    return { key: record, rolled_over: this.decorate(old), created };
  }
}
