/**
 * Load and check config/plugin.yaml. Parsing keeps source positions so
 * every finding names file:line:column. parseManifest is pure (no fs), so
 * `verify` and the development marketplace run it on archive members too.
 */
import { LineCounter, parseAllDocuments, isMap, type Document } from 'yaml';
import { readManifestFile } from './read.js';
import { checkRules, Locator } from './rules.js';
import { MANIFEST_PATH, MAX_MANIFEST_BYTES, type Diagnostic, type Manifest } from './types.js';
import { count } from '../../io/counters.js';

export { MANIFEST_PATH, MAX_MANIFEST_BYTES } from './types.js';
export type { Diagnostic, Manifest, Severity } from './types.js';
export { formatDiagnostic } from './format.js';

const MAX_SYNTAX_ERRORS = 10;

export interface ParsedManifest {
  /** The manifest, when it has no errors. */
  manifest?: Manifest;
  diagnostics: Diagnostic[];
  /** The YAML as data, whenever it parsed to a mapping (even with rule errors). */
  data?: Record<string, unknown>;
  /** Positions of that data's nodes. */
  locator?: Locator;
}

function fileError(file: string, code: string, message: string, hint: string, line = 0, column = 0): ParsedManifest {
  return { diagnostics: [{ severity: 'error', code, message, hint, file, line, column }] };
}

/** Byte offset of the first invalid UTF-8 sequence, or -1. */
function invalidUtf8Offset(buf: Buffer): number {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return -1;
  } catch {
    // find where: a simple scan of lead and continuation bytes
  }
  for (let i = 0; i < buf.length; ) {
    const b = buf[i];
    if (b < 0x80) {
      i += 1;
      continue;
    }
    const n = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 0;
    if (n === 0) return i;
    for (let k = 1; k <= n; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    i += n + 1;
  }
  return 0;
}

function decode(input: string | Buffer, file: string): { text: string } | ParsedManifest {
  if (typeof input === 'string') return { text: input.replace(/^\uFEFF/, '') };
  if (input.length > MAX_MANIFEST_BYTES) {
    return fileError(
      file,
      'MANIFEST_TOO_LARGE',
      `the manifest is ${input.length} bytes; the limit is ${MAX_MANIFEST_BYTES}`,
      'keep config/plugin.yaml to the plugin description; move data into files under src/',
    );
  }
  const nul = input.indexOf(0);
  if (nul !== -1) {
    return fileError(file, 'MANIFEST_BINARY', `the manifest is not text (a NUL byte at offset ${nul})`, 'config/plugin.yaml must be a UTF-8 YAML file');
  }
  const bad = invalidUtf8Offset(input);
  if (bad !== -1) {
    const before = input.subarray(0, bad).toString('utf8');
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    return fileError(file, 'MANIFEST_ENCODING', `the manifest is not valid UTF-8 (byte offset ${bad})`, 'save config/plugin.yaml as UTF-8', line, column);
  }
  return { text: input.toString('utf8').replace(/^\uFEFF/, '') };
}

export function parseManifest(input: string | Buffer, file: string = MANIFEST_PATH): ParsedManifest {
  count('manifest.parse');
  const decoded = decode(input, file);
  if (!('text' in decoded)) return decoded;
  const { text } = decoded;
  if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES) {
    return fileError(file, 'MANIFEST_TOO_LARGE', `the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`, 'keep config/plugin.yaml small');
  }

  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true }) as Document.Parsed[];
    if (!Array.isArray(docs)) docs = [docs];
  } catch (err) {
    // yaml < 2.8.3 threw RangeError on deep nesting; never let any error escape.
    return fileError(file, 'MANIFEST_SYNTAX', `the manifest could not be parsed: ${(err as Error).message.split('\n')[0]}`, 'check the YAML syntax');
  }

  if (docs.length === 0 || docs[0].contents === null) {
    return fileError(file, 'MANIFEST_EMPTY', 'the manifest is empty', 'run `plexichat-plugin init` for a template, or see docs/manifest.md');
  }

  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const err of docs.flatMap((d) => d.errors)) {
    // prettyErrors is off: its formatting exhausts memory on deeply nested input.
    const pos = lineCounter.linePos(err.pos[0]);
    const message = err.message.split('\n')[0];
    const key = `${pos.line}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const dupKey = err.code === 'DUPLICATE_KEY' ? keyAt(text, err.pos[0]) : undefined;
    diagnostics.push({
      severity: 'error',
      code: err.code === 'DUPLICATE_KEY' ? 'MANIFEST_DUPLICATE_KEY' : 'MANIFEST_SYNTAX',
      message: dupKey !== undefined ? `the key '${dupKey}' appears twice in this block (${message.charAt(0).toLowerCase() + message.slice(1)})` : message.charAt(0).toLowerCase() + message.slice(1),
      hint: syntaxHint(err.code),
      file,
      line: pos.line,
      column: pos.col,
    });
    if (diagnostics.length >= MAX_SYNTAX_ERRORS) break;
  }
  if (diagnostics.length > 0) return { diagnostics };

  if (docs.length > 1) {
    const start = docs[1].range?.[0] ?? 0;
    const { line, col } = lineCounter.linePos(start);
    return fileError(file, 'MANIFEST_MULTI_DOCUMENT', 'the manifest holds more than one YAML document', 'remove the second `---` document', line, col);
  }

  const doc = docs[0];
  if (!isMap(doc.contents)) {
    const kind = doc.contents && 'items' in doc.contents ? 'a list' : 'a single value';
    const { line, col } = lineCounter.linePos(doc.contents?.range?.[0] ?? 0);
    return fileError(
      file,
      'MANIFEST_NOT_MAPPING',
      `the manifest is ${kind}; it must be a mapping with plugin:, metadata:, ... blocks`,
      'see docs/manifest.md for the layout',
      line,
      col,
    );
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 });
  } catch (err) {
    return fileError(file, 'MANIFEST_ALIASES', `the manifest could not be read: ${(err as Error).message.split('\n')[0]}`, 'do not use YAML aliases (*name) in the manifest');
  }

  const locator = new Locator(doc, lineCounter, file, text);
  const ruleDiagnostics = checkRules(data, locator);
  const hasErrors = ruleDiagnostics.some((d) => d.severity === 'error');
  return {
    manifest: hasErrors ? undefined : (data as Manifest),
    diagnostics: ruleDiagnostics,
    data: data as Record<string, unknown>,
    locator,
  };
}

/** The mapping key written at offset pos (`name` in `  name: abc`), when it is a plain or quoted one. */
function keyAt(text: string, pos: number): string | undefined {
  const m = /^\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\n]|'')*)'|([^:#\n][^:\n]*?))\s*:/.exec(text.slice(pos, pos + 300));
  const key = m?.[1] ?? m?.[2]?.replace(/''/g, "'") ?? m?.[3];
  return key === undefined ? undefined : key.slice(0, 80);
}

function syntaxHint(code: string): string {
  switch (code) {
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    case 'MISSING_CHAR':
      return 'close the quote or bracket that was opened';
    case 'DUPLICATE_KEY':
      return 'each key may appear once in a block; remove or merge the duplicate';
    case 'RESOURCE_EXHAUSTION':
      return 'the document nests too deeply; the manifest is a few flat blocks';
    default:
      return 'check the YAML syntax at this position';
  }
}

/**
 * Read and check <projectDir>/config/plugin.yaml. A missing file is a
 * WorkFailedError (exit 1); everything else becomes diagnostics.
 */
export async function loadManifest(projectDir: string): Promise<ParsedManifest> {
  return parseManifest(await readManifestFile(projectDir), MANIFEST_PATH);
}
