/**
 * Text for a terminal. Every human line the CLI prints goes through
 * `terminalSafe` (in Output): control characters that are not the CLI's own
 * colours are shown as visible escapes (`\x1b`, `\x07`, `\u009b`), and so are
 * bidirectional-text controls (U+202A..U+202E, U+2066..U+2069, U+200E/F,
 * U+061C) and the Unicode line and paragraph separators, so a reviewer's
 * note, a server's error text or a file name cannot move the cursor,
 * recolour, retitle or clear the developer's terminal, or reorder what is
 * shown. The CLI's own colours are private-use markers from the palette,
 * turned into SGR codes only after that.
 *
 * The one rule for text the CLI did not write (server fields, manifest text,
 * file names, suppression reasons, error messages, test names): it goes
 * through `inline` (or `block` for multi-line notes), which also shows line
 * breaks (LF, CR, NEL U+0085, U+2028, U+2029, VT, FF) escaped, so it stays on
 * its line and cannot forge another line (a `::error::` workflow command, a
 * "9.9.9 stable (signed by ...)" version line). Output.warn, error, success
 * and debug apply `inline` to their whole line: they are one line by contract.
 * JSON output keeps the data (JSON escapes it).
 */

/**
 * Marks an SGR code from our palette: MARK_OPEN <digits> MARK_CLOSE. The
 * opening mark carries a per-process random nonce (private-use characters),
 * so text from outside cannot forge a colour by containing the marks.
 */
const NONCE = Array.from({ length: 4 }, () => String.fromCharCode(0xe100 + Math.floor(Math.random() * 256))).join('');
export const MARK_OPEN = `\uE000${NONCE}`;
export const MARK_CLOSE = '\uE001';

// C0 except \t and \n, DEL, C1, bidi controls, U+2028/2029.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;
// The same with \t and \n.
// eslint-disable-next-line no-control-regex
const UNSAFE_INLINE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;
const MARKER = new RegExp(`${MARK_OPEN}(\\d{1,3})${MARK_CLOSE}`, 'g');

function visible(ch: string): string {
  const n = ch.charCodeAt(0);
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

/** Untrusted text for one line: every control character, line breaks and bidi controls included, made visible. */
export function inline(text: string): string {
  return text.replace(UNSAFE_INLINE, visible);
}

/**
 * A line (or lines) for the terminal: foreign control characters made
 * visible, then the palette's markers turned into colour codes.
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, visible).replace(MARKER, (_m, code: string) => `\u001b[${code}m`);
}

/**
 * Untrusted multi-line text (a reviewer's notes) under a label: each of its
 * lines is made safe with `inline` and indented to the label's width, so no
 * line of it can pass for a line the CLI wrote.
 */
export function block(label: string, text: string): string {
  const pad = ' '.repeat(label.length);
  return text
    .split(/\r\n|[\n\r\u0085\u2028\u2029\v\f]/)
    .map((l, i) => `${i === 0 ? label : pad}${inline(l)}`)
    .join('\n');
}
