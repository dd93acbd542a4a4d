/**
 * The signing key and signature files on disk: where the private key
 * comes from (--key, PLEXICHAT_SIGNING_KEY, the default key file), public
 * keys and keyrings to trust, and writing `<archive>.sig`. Every failure
 * is one CliError line that never contains key material; every private key
 * read is registered with the redactor.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CliError, UsageError, WorkFailedError, errnoCode } from '../errors.js';
import { readOptionalFile, readRegularText } from '../io/read-file.js';
import { writeFileAtomic } from '../io/atomic.js';
import { outputDirError } from '../io/fs-errors.js';
import { registerSecret } from '../io/redact.js';
import { userDir } from '../io/dirs.js';
import { DocumentError } from '../core/schema/issues.js';
import { MAX_SIGNATURE_BYTES, parseSignature, serializeSignature, signFields, SIGNATURE_FORMAT, type SignatureDocument } from './document.js';
import { ALGORITHM, KeyFormatError, keyIdOf, parsePrivateKeyLine, parsePrivateKeyText, parsePublicKeyText, privateKeySecrets } from './keys.js';
import { parseKeyring, trustedKey, type TrustedKey } from './keyring.js';

export const SIGNING_KEY_ENV = 'PLEXICHAT_SIGNING_KEY';
export const DEFAULT_KEY_FILE = 'signing-key.pem';
/** Key and keyring files larger than this are refused before reading. */
const MAX_KEY_FILE_BYTES = 1024 * 1024;

/** How to turn a key file into the one-line form (shown, never the key itself). */
export function oneLineCommand(file = DEFAULT_KEY_FILE): string {
  return `${SIGNING_KEY_ENV}="$(grep -v -- ----- ${file} | tr -d '\\n')"`;
}

/** `$XDG_CONFIG_HOME/plexichat-plugin/signing-key.pem`, undefined when there is no config dir. */
export function defaultKeyFile(env: NodeJS.ProcessEnv): string | undefined {
  const dir = userDir('config', env);
  return dir && path.join(dir, DEFAULT_KEY_FILE);
}

export function publicKeyFileOf(privateKeyFile: string): string {
  return `${privateKeyFile}.pub`;
}

export interface SigningKey {
  privateKey: KeyObject;
  keyId: string;
  /** Where it came from, for messages: a file path or the variable's name. */
  source: string;
  warnings: string[];
}

function protect(key: KeyObject): void {
  for (const s of privateKeySecrets(key)) registerSecret(s);
}

export async function readSmall(file: string, what: string, shown: string): Promise<string> {
  try {
    // The one reader: a FIFO, socket, device or folder is refused before a byte is read, and only 1 MiB + 1 byte is ever read.
    return await readRegularText(file, {
      shown: `${what} ${shown}`,
      maxBytes: MAX_KEY_FILE_BYTES,
      usage: true,
      code: 'KEY_FILE_UNREADABLE',
      hint: `pass the path of a ${what.replace(/^the /, '')} file`,
    });
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = errnoCode(err);
    throw new UsageError(code === 'ENOENT' ? `${what} ${shown} not found` : `cannot read ${what} ${shown} (${code ?? (err as Error).message})`, {
      code: 'KEY_FILE_UNREADABLE',
      hint: code === 'ENOENT' ? 'check the path' : 'check the path and the permissions of the file',
      cause: err,
    });
  }
}

export async function privateKeyFromFile(file: string, shown: string): Promise<SigningKey> {
  const text = await readSmall(file, 'the signing key', shown);
  let key: KeyObject;
  try {
    key = parsePrivateKeyText(text);
  } catch (err) {
    if (!(err instanceof KeyFormatError)) throw err;
    throw new UsageError(`the signing key ${shown} is not usable: ${err.message}`, {
      code: 'SIGNING_KEY_INVALID',
      hint: 'pass the private key file that `plexichat-plugin keys generate` wrote',
    });
  }
  protect(key);
  const warnings: string[] = [];
  const st = await fs.stat(file);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    warnings.push(`the signing key ${shown} can be read by other users (mode ${(st.mode & 0o777).toString(8)}): run chmod 600 ${shown}`);
  }
  return { privateKey: key, keyId: keyIdOf(createPublicKey(key)), source: shown, warnings };
}

/** --key <file> as typed (keyFile, for messages) and resolved (keyPath, the caller's userPath). */
export interface SigningKeyChoice {
  keyFile?: string;
  keyPath?: string;
  env: NodeJS.ProcessEnv;
}

/**
 * The private key to sign with: --key <file>, else PLEXICHAT_SIGNING_KEY
 * (one line), else the default key file when it exists. Undefined when
 * there is none; a key that is given but unusable is an error (exit 2).
 */
export async function findSigningKey(opts: SigningKeyChoice): Promise<SigningKey | undefined> {
  if (opts.keyFile !== undefined) {
    return privateKeyFromFile(opts.keyPath ?? opts.keyFile, opts.keyFile);
  }
  const value = opts.env[SIGNING_KEY_ENV];
  if (value !== undefined && value.trim() !== '') {
    let key: KeyObject;
    try {
      key = parsePrivateKeyLine(value);
    } catch (err) {
      if (!(err instanceof KeyFormatError)) throw err;
      throw new UsageError(`${SIGNING_KEY_ENV} is not usable: ${err.message}`, {
        code: 'SIGNING_KEY_INVALID',
        hint:
          err.reason === 'multi-line'
            ? `store the key on one line, the PEM's base64 body without the ----- lines: ${oneLineCommand('signing-key.pem')}`
            : `set it to the one-line form of the key file: ${oneLineCommand('signing-key.pem')}`,
      });
    }
    protect(key);
    return { privateKey: key, keyId: keyIdOf(createPublicKey(key)), source: SIGNING_KEY_ENV, warnings: [] };
  }
  const def = defaultKeyFile(opts.env);
  if (def) {
    try {
      await fs.access(def);
    } catch {
      return undefined;
    }
    return privateKeyFromFile(def, def);
  }
  return undefined;
}

/** The error for `--sign` with no key anywhere (exit 1: the work cannot be done as asked). */
export function noSigningKeyError(): WorkFailedError {
  return new WorkFailedError('--sign was given but there is no signing key; nothing was built', {
    code: 'SIGNING_KEY_MISSING',
    hint: `pass --key <file>, set ${SIGNING_KEY_ENV} (one line: ${oneLineCommand('signing-key.pem')}), or create a key with \`plexichat-plugin keys generate\``,
  });
}

/**
 * A public key file (PEM or one line of base64) as a trusted key: `file` as
 * the user typed it (for messages), `abs` the caller's userPath of it.
 */
export async function readPublicKeyFile(file: string, abs: string): Promise<TrustedKey> {
  const text = await readSmall(abs, 'the public key', file);
  try {
    return trustedKey(parsePublicKeyText(text));
  } catch (err) {
    if (!(err instanceof KeyFormatError)) throw err;
    throw new UsageError(`the public key ${file} is not usable: ${err.message}`, {
      code: 'PUBLIC_KEY_INVALID',
      hint: 'pass the .pub file that `plexichat-plugin keys generate` wrote',
    });
  }
}

/** A keyring file (`{ "keys": [...] }`, e.g. a saved `GET /api/v1/keys` answer). */
export async function readKeyringFile(file: string, abs: string): Promise<TrustedKey[]> {
  const text = await readSmall(abs, 'the keyring', file);
  let keys: TrustedKey[];
  try {
    keys = parseKeyring(text);
  } catch (err) {
    // The YAML locator places the bad member (JSON is YAML); loaded only on this path.
    const where = err instanceof DocumentError ? (await import('../core/yaml/read.js')).locate(text, file, err.path) : file;
    throw new UsageError(`the keyring ${where} is not usable: ${(err as Error).message}`, {
      code: 'KEYRING_INVALID',
      hint: 'see docs/signing.md for the keyring format (a saved `GET /api/v1/keys` answer is one)',
    });
  }
  return keysAfterRollovers(text, keys, file);
}

/** The keyring's keys and the successors its `rollovers` hand trust to (signing/rollover.ts); a statement no trusted key signed is refused. */
async function keysAfterRollovers(text: string, keys: TrustedKey[], file: string): Promise<TrustedKey[]> {
  const doc = JSON.parse(text.replace(/^\uFEFF/, '')) as { rollovers?: unknown };
  if (doc.rollovers === undefined) return keys;
  const { extendTrust, parseRollover } = await import('./rollover.js');
  const bad = (code: string, message: string) =>
    new UsageError(`the keyring ${file}: ${message}`, {
      code,
      hint:
        code === 'ROLLOVER_UNTRUSTED'
          ? 'add the old key (or an earlier statement leading to it) to the keyring, or drop the statement'
          : 'make the statement again with `plexichat-plugin keys rollover`',
    });
  if (!Array.isArray(doc.rollovers)) throw bad('KEYRING_INVALID', '"rollovers" is not a list');
  const statements = doc.rollovers.map((s, i) => {
    try {
      return parseRollover(s);
    } catch (err) {
      throw bad('ROLLOVER_INVALID', `rollover ${i + 1} is malformed: ${(err as Error).message}`);
    }
  });
  try {
    return extendTrust(keys, statements);
  } catch (err) {
    throw bad((err as { code?: string }).code ?? 'ROLLOVER_INVALID', (err as Error).message);
  }
}

export function signatureFileOf(archive: string): string {
  return `${archive}.sig`;
}

/** Read `<archive>.sig` (or the given file): undefined when it does not exist; throws an Error when malformed. */
export async function readSignatureFile(file: string, shown = file): Promise<SignatureDocument | undefined> {
  // The one reader: a FIFO, socket, device or folder is refused at once (no hang), and at most the cap + 1 byte is read.
  const data = await readOptionalFile(file, {
    shown,
    maxBytes: MAX_SIGNATURE_BYTES,
    hint: 'pass the signature document (the .sig) that `plexichat-plugin build --sign` wrote',
  });
  return data && parseSignature(data);
}

/** Sign an archive and write `<archive>.sig` atomically; returns the document. */
export async function signArchiveFile(
  archive: string,
  plugin: { name: string; version: string },
  key: SigningKey,
  now: number,
  known?: { sha256: string; size: number; contentsSha256?: string },
): Promise<SignatureDocument> {
  // What build just wrote is known; anything else is read (loaded here: `keys generate` and `verify --key` need this module, not the zip reader).
  const facts =
    known?.contentsSha256 !== undefined
      ? { sha256: known.sha256, size: known.size, contentsSha256: known.contentsSha256 }
      : await (await import('./archive.js')).archiveFacts(archive, known);
  const doc = signFields(
    {
      format: SIGNATURE_FORMAT,
      role: 'publisher',
      algorithm: ALGORITHM,
      key_id: key.keyId,
      plugin,
      archive: { sha256: facts.sha256, size: facts.size },
      contents: { sha256: facts.contentsSha256 },
      created_at: new Date(now).toISOString(),
    },
    key.privateKey,
  );
  await writeFileAtomic(signatureFileOf(archive), serializeSignature(doc));
  return doc;
}

/**
 * `build`'s signing decision, made before anything is packed: the key to
 * sign with, or undefined for an unsigned build. `--sign` without a key
 * is an error; with no flag a configured key signs; `--no-sign` never does.
 */
export async function signingKeyForBuild(opts: SigningKeyChoice & { sign?: boolean }): Promise<SigningKey | undefined> {
  if (opts.sign === false) {
    if (opts.keyFile !== undefined) throw new UsageError('--key and --no-sign contradict each other', { hint: 'drop one of them' });
    return undefined;
  }
  const key = await findSigningKey(opts);
  if (!key && opts.sign) throw noSigningKeyError();
  return key;
}

/** Remove a file a build writes (archive, .sha256, .sig); absent is fine, and a folder in its place is not ours and stays. */
async function removeBuildFile(file: string): Promise<void> {
  const st = await fs.lstat(file).catch(() => undefined);
  if (st && !st.isDirectory()) await fs.rm(file, { force: true });
}

/**
 * After the archive is in place: sign it (write `<archive>.sig`), or remove
 * a stale `.sig` of an earlier build. A signature that cannot be written
 * takes the archive and its .sha256 with it, so a signed build never ends
 * as an unsigned success.
 */
export async function finishBuildSignature(
  built: { archive: string; sha256File?: string; sha256?: string; size?: number; contentsSha256?: string; plugin: { name: string; version: string } },
  key: SigningKey | undefined,
  now: number,
): Promise<SignatureDocument | undefined> {
  const sigFile = signatureFileOf(built.archive);
  if (!key) {
    await removeBuildFile(sigFile);
    return undefined;
  }
  try {
    const known =
      built.sha256 !== undefined && built.size !== undefined ? { sha256: built.sha256, size: built.size, contentsSha256: built.contentsSha256 } : undefined;
    return await signArchiveFile(built.archive, built.plugin, key, now, known);
  } catch (err) {
    await Promise.all([built.archive, built.sha256File, sigFile].filter((f): f is string => Boolean(f)).map((f) => removeBuildFile(f)));
    const at = {
      action: `write the signature ${path.basename(sigFile)}`,
      dir: path.dirname(sigFile),
      flag: '--out <dir>',
      suffix: '; the archive was removed',
    };
    throw (
      outputDirError(err, at) ??
      new WorkFailedError(`cannot write the signature ${path.basename(sigFile)} (${errnoCode(err) ?? (err as Error).message}); the archive was removed`, {
        code: 'CANNOT_WRITE',
        hint: 'check that the output folder is writable, then build again',
        cause: err,
      })
    );
  }
}
