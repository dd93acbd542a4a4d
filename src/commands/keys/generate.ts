/**
 * `keys generate [--out <file>] [--force]`: a new Ed25519 signing key.
 * The private key (PEM, PKCS#8) is written with mode 0600 to <file>
 * (default: the user config dir's signing-key.pem), the public key (PEM,
 * SPKI) to <file>.pub. Existing files are never replaced without --force.
 * The output shows the key id and the public key, never the private key.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { userPath, type Ctx } from '../../io/context.js';
import { UsageError, WorkFailedError, errnoCode } from '../../errors.js';
import { openAtomic, type AtomicFile } from '../../io/atomic.js';
import { registerSecret } from '../../io/redact.js';
import { defaultKeyFile, oneLineCommand, publicKeyFileOf } from '../../signing/files.js';
import { ALGORITHM, generateKeyPair, keyIdOf, privateKeyPem, privateKeySecrets, publicKeyBase64, publicKeyPem } from '../../signing/keys.js';
import { makeDir } from '../../io/make-dir.js';
import { folderInPlace, outputDirError, writingTo, type OutputTarget } from '../../io/fs-errors.js';

export interface KeysGenerateOptions {
  out?: string;
  force?: boolean;
}

export interface KeysGenerateResult {
  keyId: string;
  algorithm: typeof ALGORITHM;
  /** One line of base64 of the SPKI DER. */
  publicKey: string;
  privateKeyFile: string;
  publicKeyFile: string;
  /** Files that existed and were replaced (--force). */
  replaced: string[];
}

/** Where the key goes, as io/fs-errors.ts words a failure to write it. */
function keyTarget(privateFile: string): OutputTarget {
  return { action: `write the key to ${privateFile}`, dir: privateFile, flag: '--out <file>', suffix: '; nothing was written' };
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw outputDirError(err, keyTarget(file)) ?? err;
  }
}

export async function run(opts: KeysGenerateOptions, ctx: Ctx): Promise<KeysGenerateResult> {
  let privateFile: string;
  if (opts.out !== undefined) {
    if (opts.out.trim() === '' || opts.out.endsWith('/')) {
      throw new UsageError('--out needs a file name', { hint: 'e.g. --out keys/signing-key.pem' });
    }
    privateFile = userPath(ctx, opts.out);
    await writingTo(keyTarget(privateFile), () => makeDir(path.dirname(privateFile), { mode: 0o700 }));
  } else {
    const def = defaultKeyFile(ctx.env);
    if (!def) {
      throw new UsageError('cannot find a config directory for the key', {
        hint: 'set XDG_CONFIG_HOME or HOME, or pass --out <file>',
        code: 'NO_CONFIG_DIR',
      });
    }
    privateFile = def;
    await writingTo(keyTarget(def), () => makeDir(path.dirname(def), { mode: 0o700 }));
  }
  const publicFile = publicKeyFileOf(privateFile);

  const present: string[] = [];
  for (const f of [privateFile, publicFile]) if (await exists(f)) present.push(f);
  if (present.length > 0 && !opts.force) {
    throw new WorkFailedError(`refusing to overwrite ${present.join(' and ')}`, {
      code: 'KEY_EXISTS',
      hint: 'pass --force to replace the key (signatures made with the old key then need its .pub to verify), or --out <file> for another one',
    });
  }
  for (const f of present) {
    const st = await fs.lstat(f);
    if (st.isDirectory()) throw outputDirError(folderInPlace(f), keyTarget(privateFile))!;
    if (!st.isFile()) {
      throw new WorkFailedError(`${f} exists and is not a regular file`, { code: 'KEY_EXISTS', hint: 'pass --out <file> with another path' });
    }
  }

  const pair = generateKeyPair();
  for (const s of privateKeySecrets(pair.privateKey)) registerSecret(s);
  const keyId = keyIdOf(pair.publicKey);

  let priv: AtomicFile | undefined;
  let pub: AtomicFile | undefined;
  try {
    priv = await openAtomic(privateFile, 0o600);
    await priv.handle.chmod(0o600);
    await priv.handle.writeFile(privateKeyPem(pair.privateKey));
    pub = await openAtomic(publicFile, 0o644);
    await pub.handle.writeFile(publicKeyPem(pair.publicKey));
    // Checked again right before the renames: a file that appeared meanwhile is not replaced.
    if (!opts.force) {
      for (const f of [privateFile, publicFile]) {
        if (await exists(f)) throw new WorkFailedError(`refusing to overwrite ${f}`, { code: 'KEY_EXISTS', hint: 'pass --force to replace it' });
      }
    }
    await priv.commit();
    await pub.commit();
  } catch (err) {
    await priv?.abort();
    await pub?.abort();
    if (err instanceof WorkFailedError) throw err;
    throw outputDirError(err, keyTarget(privateFile)) ?? err;
  }
  return {
    keyId,
    algorithm: ALGORITHM,
    publicKey: publicKeyBase64(pair.publicKey),
    privateKeyFile: privateFile,
    publicKeyFile: publicFile,
    replaced: present,
  };
}

export function render(r: KeysGenerateResult, ctx: Ctx): void {
  const { out } = ctx;
  const show = (f: string) => {
    const rel = path.relative(ctx.cwd, f);
    return rel && !rel.startsWith('..') ? rel : f;
  };
  out.result(`${out.c.green('✔')} created Ed25519 key ${r.keyId}`);
  out.result(`  key id       ${r.keyId}`);
  out.result(`  public key   ${r.publicKey}`);
  out.result(`  private key  ${show(r.privateKeyFile)} (mode 600; keep it secret, never commit it)`);
  out.result(`  public file  ${show(r.publicKeyFile)}`);
  for (const f of r.replaced) out.warn(`replaced ${show(f)}`);
  out.info(`next: plexichat-plugin build --sign${r.privateKeyFile === defaultKeyFile(ctx.env) ? '' : ` --key ${show(r.privateKeyFile)}`}`);
  out.info(`      plexichat-plugin marketplace keys add ${show(r.publicKeyFile)}`);
  out.info(`  CI: store the one-line form as a secret: ${oneLineCommand(show(r.privateKeyFile))}`);
}
