/**
 * `marketplace keys add <pubkey-file> [--expires <time>]`, `keys list`,
 * `keys revoke <key-id>`: the publisher keys the marketplace checks
 * uploads against (docs/signing.md). Each is its own command module.
 */
import { userPath, type Ctx } from '../../io/context.js';
import { UsageError } from '../../errors.js';
import { withSession } from '../../marketplace/session.js';
import fs from 'node:fs/promises';
import { findSigningKey, readPublicKeyFile, readSmall, SIGNING_KEY_ENV, type SigningKey } from '../../signing/files.js';
import { KEY_ID_PATTERN, publicKeyBase64 } from '../../signing/keys.js';
import type { KeyRecord, TrustedKey } from '../../signing/keyring.js';
import { signKeyProof } from '../../signing/key-proof.js';
import { inline } from '../../io/terminal.js';

export interface KeysResult {
  marketplace: string;
  keys: KeyRecord[];
}

export interface KeyResult {
  marketplace: string;
  key: KeyRecord;
  /** add: the key was already registered to you. */
  existing?: boolean;
}

function expiresAt(value: string | undefined, now: number): string | null {
  if (value === undefined) return null;
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t)) {
    throw new UsageError(`--expires must be a date or time, e.g. 2027-06-30 or 2027-06-30T12:00:00Z; got ${JSON.stringify(value.slice(0, 60))}`);
  }
  if (t <= now) throw new UsageError(`--expires ${value} is in the past`, { hint: 'give a future date' });
  return new Date(t).toISOString();
}

function state(k: KeyRecord): string {
  if (k.revoked_at) return `revoked ${k.revoked_at}`;
  if (k.expires_at) return `valid until ${k.expires_at}`;
  return 'valid';
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * The private key of the key being registered, to sign the proof of
 * possession with: --key <file>; else the file the .pub was written beside;
 * else PLEXICHAT_SIGNING_KEY or the default key file, when it is that key.
 */
async function privateKeyOf(key: TrustedKey, opts: { file: string; key?: string }, ctx: Ctx): Promise<SigningKey> {
  const tried: string[] = [];
  const explicit = opts.key !== undefined;
  const candidates: (() => Promise<SigningKey | undefined>)[] = [];
  if (opts.key !== undefined) {
    const keyFile = opts.key;
    candidates.push(() => findSigningKey({ keyFile, keyPath: userPath(ctx, keyFile), env: ctx.env }));
  } else {
    const beside = opts.file.endsWith('.pub') ? opts.file.slice(0, -'.pub'.length) : undefined;
    if (beside !== undefined && (await exists(userPath(ctx, beside)))) {
      candidates.push(() => findSigningKey({ keyFile: beside, keyPath: userPath(ctx, beside), env: ctx.env }));
    }
    candidates.push(() => findSigningKey({ env: ctx.env }));
  }
  for (const next of candidates) {
    const found = await next();
    if (!found) continue;
    for (const w of found.warnings) ctx.out.warn(w);
    if (found.keyId === key.keyId) return found;
    tried.push(`${found.source} is key ${found.keyId}`);
    if (explicit) break;
  }
  throw new UsageError(
    `registering key ${key.keyId} needs its private key, to prove you hold it${tried.length ? ` (${tried.join('; ')})` : ''}; nothing was registered`,
    {
      code: 'KEY_PROOF_NO_PRIVATE_KEY',
      hint: `pass --key <private-key-file> (the file \`keys generate\` wrote beside ${opts.file}), or set ${SIGNING_KEY_ENV}; the private key is only used to sign, never sent`,
    },
  );
}

export const add = {
  async run(opts: { file: string; expires?: string; key?: string }, ctx: Ctx): Promise<KeyResult> {
    const key = await readPublicKeyFile(opts.file, userPath(ctx, opts.file));
    const expires = expiresAt(opts.expires, ctx.clock.now());
    const signer = await privateKeyOf(key, opts, ctx);
    return withSession(ctx, { token: 'required' }, async ({ client, target }) => {
      // The proof names who registers it: the marketplace refuses it for anyone else (signing/key-proof.ts).
      const me = await client.me();
      const r = await client.addKey(publicKeyBase64(key.publicKey), expires, signKeyProof(signer.privateKey, me.user));
      return { marketplace: target.baseUrl, key: r.key, existing: r.existing };
    });
  },
  render(r: KeyResult, ctx: Ctx): void {
    ctx.out.result(
      inline(
        r.existing
          ? `key ${r.key.key_id} was already registered (${state(r.key)})`
          : `${ctx.out.c.green('✔')} registered key ${r.key.key_id} (${state(r.key)})`,
      ),
    );
    if (!r.key.revoked_at) ctx.out.info('uploads signed with it (`build --sign`, then `marketplace submit`) are checked against it');
  },
};

export const list = {
  async run(_opts: unknown, ctx: Ctx): Promise<KeysResult> {
    return withSession(ctx, { token: 'required' }, async ({ client, target }) => ({ marketplace: target.baseUrl, keys: await client.listKeys() }));
  },
  render(r: KeysResult, ctx: Ctx): void {
    if (r.keys.length === 0) {
      ctx.out.result(inline(`no keys registered on ${r.marketplace}`));
      ctx.out.info('add one: plexichat-plugin marketplace keys add <pubkey-file>');
      return;
    }
    for (const k of r.keys) {
      const next = (k as { rolled_over_to?: unknown }).rolled_over_to;
      ctx.out.result(inline(`${k.key_id}  ${state(k)}  added ${k.created_at ?? '?'}${typeof next === 'string' ? `  rolled over to ${next}` : ''}`));
    }
  },
};

export const revoke = {
  async run(opts: { id: string }, ctx: Ctx): Promise<KeyResult> {
    const id = opts.id.trim().toLowerCase();
    if (!KEY_ID_PATTERN.test(id)) {
      throw new UsageError(`${JSON.stringify(opts.id.slice(0, 40))} is not a key id (16 hex digits)`, {
        hint: '`plexichat-plugin marketplace keys list` shows your key ids',
      });
    }
    return withSession(ctx, { token: 'required' }, async ({ client, target }) => ({ marketplace: target.baseUrl, key: await client.revokeKey(id) }));
  },
  render(r: KeyResult, ctx: Ctx): void {
    ctx.out.result(inline(`key ${r.key.key_id} revoked on ${r.key.revoked_at}`));
    ctx.out.info('new uploads signed with it are refused; versions published before keep verifying');
  },
};

export interface RolloverResult {
  marketplace: string;
  /** The new key, now registered; the old one, marked rolled over. */
  key: KeyRecord;
  rolledOver: KeyRecord & { rolled_over_to?: string };
}

export const rollover = {
  async run(opts: { file: string }, ctx: Ctx): Promise<RolloverResult> {
    const { parseRollover } = await import('../../signing/rollover.js');
    const text = await readSmall(userPath(ctx, opts.file), 'the rollover statement', opts.file);
    let statement;
    try {
      statement = parseRollover(text);
    } catch (err) {
      throw new UsageError(`${opts.file} is not a key rollover statement: ${(err as Error).message}`, {
        code: 'ROLLOVER_INVALID',
        hint: 'make one with `plexichat-plugin keys rollover --from <old-key> --to <new-key>`',
      });
    }
    return withSession(ctx, { token: 'required' }, async ({ client, target }) => ({ marketplace: target.baseUrl, ...(await client.rolloverKey(statement)) }));
  },
  render(r: RolloverResult, ctx: Ctx): void {
    ctx.out.result(inline(`${ctx.out.c.green('✔')} registered key ${r.key.key_id} (${state(r.key)}); key ${r.rolledOver.key_id} is rolled over to it`));
    ctx.out.info(`sign with the new key from now on; revoke the old one when nothing signs with it: marketplace keys revoke ${r.rolledOver.key_id}`);
  },
};
