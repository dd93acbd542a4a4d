/**
 * Entry-name rules shared by `build` (names it writes) and `verify` (names
 * it reads). A name is a relative, forward-slash path in NFC with no empty,
 * `.` or `..` segment, nothing Windows cannot create, no control
 * characters, nothing invisible and no look-alike of a path separator.
 * Twins (names equal after NFC + lower-casing) are refused by the callers
 * using `twinKey`. `build` (files it packs), `verify` (members it reads) and
 * the development marketplace (every upload goes through verify) all apply
 * this one rule.
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

/**
 * Characters that show as nothing, or change how the rest of the name is
 * shown: Unicode format characters (general category Cf: bidi overrides and
 * isolates, zero-width space/joiners, word joiner, BOM...), every other
 * default-ignorable code point (variation selectors, Hangul fillers, the
 * combining grapheme joiner...), private-use characters, the Braille blank,
 * and every space other than U+0020 (no-break, en/em, ideographic, line and
 * paragraph separators).
 */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Co}\u2800]|(?! )\p{White_Space}/u;

/**
 * Look-alikes of `/`, `\\`, `.` and `:`: a name such as `src\u2215evil.py`
 * reads as a path in another folder, `\u2025/x` as `../x`. Listed ones have no
 * compatibility decomposition; any other character whose NFKC form contains
 * one of those four (fullwidth and small forms, dot leaders) is caught by
 * `confusable` below.
 */
const SEPARATOR_LOOKALIKES = new Set([
  // slashes: division slash, fraction slash, big solidus, box-drawing and mathematical diagonals,
  // combining short/long solidus overlays, double/triple solidus operators, CJK strokes, Kangxi slash
  0x2215, 0x2044, 0x29f8, 0x2571, 0x27cb, 0x0337, 0x0338, 0x2afd, 0x2afb, 0x1735, 0x2f03, 0x31d3, 0x3033,
  // backslashes: set minus, reverse solidus operator, big reverse solidus, diagonals, combining overlay, CJK stroke
  0x2216, 0x29f5, 0x29f9, 0x2572, 0x27cd, 0x20e5, 0x31d4,
  // colons: ratio, modifier letter colon
  0x2236, 0xa789,
]);

function confusable(name: string): number | undefined {
  for (const ch of name) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x80) continue;
    if (SEPARATOR_LOOKALIKES.has(cp) || /[/\\.:]/.test(ch.normalize('NFKC'))) return cp;
  }
  return undefined;
}

function invisibleKind(ch: string): string {
  if (/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(ch)) return 'a bidirectional-text control';
  if (/[\u200b-\u200d\u2060\ufeff]/.test(ch)) return 'a zero-width character';
  if (/\p{White_Space}/u.test(ch)) return 'a space other than the plain space';
  if (/\p{Co}/u.test(ch)) return 'a private-use character';
  return 'an invisible Unicode format character';
}

/** `U+202E` for a code point. */
export function codePoint(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Why `name` is not a safe archive entry name, or undefined when it is. */
export function checkEntryName(name: string): NameProblem | undefined {
  if (name.length === 0) return { code: 'NAME_EMPTY', message: 'empty entry name' };
  if (CONTROL.test(name)) return { code: 'NAME_CONTROL_CHAR', message: 'contains a control character' };
  const invisible = INVISIBLE.exec(name);
  if (invisible) {
    return {
      code: 'NAME_INVISIBLE_CHAR',
      message: `contains ${codePoint(invisible[0].codePointAt(0) ?? 0)}, ${invisibleKind(invisible[0])} (names must show every character they hold)`,
    };
  }
  const lookalike = confusable(name);
  if (lookalike !== undefined) {
    return {
      code: 'NAME_CONFUSABLE_CHAR',
      message: `contains ${codePoint(lookalike)}, which looks like a path separator or dot (/, \\, . or :)`,
    };
  }
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

function escapeCodePoint(ch: string): string {
  let out = '';
  for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

/**
 * JSON-quoted name for messages, so control characters, spaces, invisible
 * characters and separator look-alikes are visible (`"src/evil\u202eyp.txt"`).
 * Other non-ASCII letters stay as they are.
 */
export function showName(name: string): string {
  return /^[\w./@+-]+$/.test(name) ? name : quotedName(name);
}

/** The name always JSON-quoted, with the same escapes as showName. */
export function quotedName(name: string): string {
  return JSON.stringify(name).replace(/[^ -~]/gu, (ch) =>
    /\p{Cc}/u.test(ch) || INVISIBLE.test(ch) || confusable(ch) !== undefined ? escapeCodePoint(ch) : ch,
  );
}
