/**
 * The output folder of a command that writes files (`build --out`,
 * `marketplace download --out`): one rule. A folder that does not exist is
 * created (with its missing parents); a path that is a file, or lies inside
 * one, is the flag's fault (exit 2, OUT_NOT_A_DIR); anything else is worded
 * by io/fs-errors.ts. The caller removes the folder it created when the
 * command fails, so a failure leaves nothing behind.
 */
import fs from 'node:fs/promises';
import { CliError, UsageError, WorkFailedError, errnoCode } from '../errors.js';
import { outputDirError } from './fs-errors.js';
import { makeDir } from './make-dir.js';

export interface OutDirOptions {
  /** The --out value as typed, or undefined for the command's default folder. */
  given: string | undefined;
  /** How the default folder is named in messages (`dist`). */
  defaultShown: string;
  /** Create it when missing (false for a dry run). */
  create: boolean;
}

/** Check (and create) the output folder; true when this call created it. */
export async function useOutDir(dir: string, o: OutDirOptions): Promise<boolean> {
  const shown = o.given ?? o.defaultShown;
  let st: Awaited<ReturnType<typeof fs.stat>>;
  try {
    st = await fs.stat(dir);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw outDirFailure(err, `use the output folder ${shown}`, shown);
    if (!o.create) return false;
    try {
      await makeDir(dir);
      return true;
    } catch (e) {
      throw outDirFailure(e, `create the output folder ${shown}`, shown);
    }
  }
  if (st.isDirectory()) return false;
  const msg = `the output folder ${shown} exists and is not a folder`;
  const hint = o.given ? 'pass --out with a folder path' : `move the file named ${shown} away, or pass --out <dir>`;
  throw o.given ? new UsageError(msg, { hint, code: 'OUT_NOT_A_DIR' }) : new WorkFailedError(msg, { hint, code: 'OUT_NOT_A_DIR' });
}

/** Removes a folder useOutDir created, when it is still empty (a failed command). */
export async function dropCreatedOutDir(dir: string, created: boolean): Promise<void> {
  if (created) await fs.rmdir(dir).catch(() => undefined);
}

/** Why the output folder cannot be used: a folder path inside a file is the flag's fault, the rest as io/fs-errors.ts words it. */
function outDirFailure(err: unknown, action: string, shown: string): CliError {
  const code = errnoCode(err);
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    return new UsageError(`the output folder ${shown} is inside a file`, { hint: 'pass --out with a folder path' });
  }
  return (
    outputDirError(err, { action, dir: shown, flag: '--out <dir>', suffix: '; nothing was written' }) ??
    new WorkFailedError(`cannot ${action} (${code ?? (err as Error).message})`, { hint: 'check the permissions, or pass --out <dir>' })
  );
}
