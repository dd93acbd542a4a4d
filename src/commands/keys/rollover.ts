/**
 * `keys rollover --from <old-key> --to <new-key> [--out <file>] [--force]`:
 * the key rollover statement (signing/rollover.ts): the old private key
 * signs the new key's id and public key with the time, the new key signs
 * the same bytes. Written to <file> (default: <new-key>.rollover.json) for
 * `marketplace keys rollover` and for a keyring's `rollovers`.
 */
import fs from 'node:fs/promises';
import { userPath, type Ctx } from '../../io/context.js';
import { UsageError, WorkFailedError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { writingTo } from '../../io/fs-errors.js';
import { privateKeyFromFile } from '../../signing/files.js';
import { makeRollover } from '../../signing/rollover.js';
import { inline } from '../../io/terminal.js';

export interface KeysRolloverOptions {
  from?: string;
  to?: string;
  out?: string;
  force?: boolean;
}

export interface KeysRolloverResult {
  oldKeyId: string;
  newKeyId: string;
  createdAt: string;
  file: string;
}

export async function run(opts: KeysRolloverOptions, ctx: Ctx): Promise<KeysRolloverResult> {
  if (opts.from === undefined || opts.to === undefined) {
    throw new UsageError('keys rollover needs --from <old-private-key> and --to <new-private-key>', {
      hint: 'e.g. keys rollover --from signing-key.pem --to signing-key-2026.pem (make the new one with `keys generate --out`)',
    });
  }
  const [oldKey, newKey] = [await privateKeyFromFile(userPath(ctx, opts.from), opts.from), await privateKeyFromFile(userPath(ctx, opts.to), opts.to)];
  if (oldKey.keyId === newKey.keyId) throw new UsageError(`--from and --to are the same key (${oldKey.keyId})`, { hint: 'pass the new key as --to' });
  const shown = opts.out ?? `${opts.to}.rollover.json`;
  const file = userPath(ctx, shown);
  const exists = await fs.lstat(file).then(
    () => true,
    () => false,
  );
  if (exists && !opts.force)
    throw new WorkFailedError(`refusing to overwrite ${shown}`, { code: 'FILE_EXISTS', hint: 'pass --force to replace it, or --out <file>' });
  const createdAt = new Date(ctx.clock.now()).toISOString();
  const statement = makeRollover(oldKey.privateKey, newKey.privateKey, createdAt);
  const target = { action: `write the statement to ${shown}`, dir: shown, flag: '--out <file>', suffix: '; nothing was written' };
  await writingTo(target, () => writeFileAtomic(file, `${JSON.stringify(statement, null, 2)}\n`));
  return { oldKeyId: oldKey.keyId, newKeyId: newKey.keyId, createdAt, file };
}

export function render(r: KeysRolloverResult, ctx: Ctx): void {
  ctx.out.result(inline(`key ${r.oldKeyId} hands over to key ${r.newKeyId} (${r.createdAt})`));
  ctx.out.result(inline(`  statement  ${r.file}`));
  ctx.out.info('next: plexichat-plugin marketplace keys rollover <statement>, and add it to the "rollovers" of the keyrings that trust the old key');
}
