/**
 * Reading config/plugin.yaml from a project, without parsing it (so a
 * caller that has the parse cached does not load the YAML library).
 */
import path from 'node:path';
import { WorkFailedError, errnoCode } from '../../errors.js';
import { NotRegularFileError, readRegularFile } from '../../io/read-file.js';
import { MANIFEST_PATH, MAX_MANIFEST_BYTES } from './types.js';

/**
 * The bytes of <projectDir>/config/plugin.yaml, within the size cap. A
 * missing, unreadable or oversized file is a WorkFailedError (exit 1).
 */
export async function readManifestFile(projectDir: string): Promise<Buffer> {
  const abs = path.join(projectDir, MANIFEST_PATH);
  let buf: Buffer;
  try {
    buf = await readRegularFile(abs, { shown: MANIFEST_PATH, maxBytes: MAX_MANIFEST_BYTES, over: 'truncate' });
  } catch (err) {
    if (err instanceof NotRegularFileError) throw err;
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new WorkFailedError(`${MANIFEST_PATH} not found in ${projectDir}`, {
        code: 'MANIFEST_NOT_FOUND',
        hint: 'run this in a plugin directory (or pass -C <dir>), or create one with `plexichat-plugin init`',
      });
    }
    if (code === 'EISDIR') {
      throw new WorkFailedError(`${MANIFEST_PATH} is a directory, not a file`, { code: 'MANIFEST_NOT_FOUND', hint: 'replace it with the YAML manifest' });
    }
    throw new WorkFailedError(`cannot read ${MANIFEST_PATH}: ${code ?? (err as Error).message}`, {
      code: 'MANIFEST_UNREADABLE',
      hint: 'check the file permissions',
      cause: err,
    });
  }
  return buf;
}
