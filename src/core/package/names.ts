/**
 * Entry-name rules shared by `build` (names it writes) and `verify` (names
 * it reads). A name is a relative, forward-slash path in NFC with no empty,
 * `.` or `..` segment, nothing Windows cannot create, and no control
 * characters. Twins (names equal after NFC + lower-casing) are refused by
 * the callers using `twinKey`.
 */

export interface NameProblem {
  code: string;
  message: string;
}

export const MAX_SEGMENT_BYTES = 255;
export const MAX_PATH_BYTES = 1024;

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const WINDOWS_FORBIDDEN = /[<>:"|?*]/;

/** Why `name` is not a safe archive entry name, or undefined when it is. */
export function checkEntryName(name: string): NameProblem | undefined {
  if (name.length === 0) return { code: 'NAME_EMPTY', message: 'empty entry name' };
  if (CONTROL.test(name)) return { code: 'NAME_CONTROL_CHAR', message: 'contains a control character' };
  if (name.includes('\\')) return { code: 'NAME_BACKSLASH', message: 'contains a backslash' };
  if (name.startsWith('/')) return { code: 'NAME_ABSOLUTE', message: 'is an absolute path' };
  if (/^[A-Za-z]:/.test(name)) return { code: 'NAME_ABSOLUTE', message: 'starts with a drive letter' };
  if (Buffer.byteLength(name) > MAX_PATH_BYTES) {
    return { code: 'NAME_TOO_LONG', message: `is longer than ${MAX_PATH_BYTES} bytes` };
  }
  const dir = name.endsWith('/');
  const segments = (dir ? name.slice(0, -1) : name).split('/');
  for (const seg of segments) {
    if (seg === '..') return { code: 'NAME_TRAVERSAL', message: 'contains a ".." segment' };
    if (seg === '' || seg === '.') return { code: 'NAME_NOT_NORMALIZED', message: 'contains an empty or "." segment' };
    if (Buffer.byteLength(seg) > MAX_SEGMENT_BYTES) {
      return { code: 'NAME_TOO_LONG', message: `has a segment longer than ${MAX_SEGMENT_BYTES} bytes` };
    }
    if (WINDOWS_FORBIDDEN.test(seg)) {
      return { code: 'NAME_WINDOWS', message: 'contains a character Windows cannot use in file names (<>:"|?*)' };
    }
    if (/[ .]$/.test(seg)) return { code: 'NAME_WINDOWS', message: 'has a segment ending in a dot or space' };
    if (WINDOWS_RESERVED.test(seg)) return { code: 'NAME_WINDOWS', message: `uses the reserved Windows name "${seg}"` };
  }
  return undefined;
}

/** Two names with the same key would overwrite each other on a case-insensitive or normalizing file system. */
export function twinKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/** JSON-quoted name for messages, so control characters and spaces are visible. */
export function showName(name: string): string {
  return /^[\w./@+-]+$/.test(name) ? name : JSON.stringify(name);
}
