/**
 * Reading a YAML configuration file into data and a Locator, the same way
 * for every file (config/plugin.yaml, config/monitoring.yaml,
 * .plexichat.yaml): one document, unique keys, strict, at most 50 alias
 * expansions, and every syntax error at its line and column. The codes are
 * the file's own (`<PREFIX>_SYNTAX`, `<PREFIX>_DUPLICATE_KEY`, ...).
 */
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { Locator } from './locator.js';

const MAX_SYNTAX_ERRORS = 10;

/** A problem with the file as YAML: its code, what is wrong, how to fix it, where (line 0: the whole file). */
export interface YamlProblem {
  code: string;
  message: string;
  hint: string;
  line: number;
  column: number;
}

export interface YamlNames {
  /** The file's code prefix, e.g. MANIFEST. */
  prefix: string;
  /** The file as messages name it, e.g. "the manifest" or "config/monitoring.yaml". */
  name: string;
}

/** The file's one document as data, with its locator; `empty` when it holds nothing (or only comments). */
export type YamlRead =
  { ok: true; empty: false; data: unknown; doc: Document.Parsed; locator: Locator } | { ok: true; empty: true } | { ok: false; problems: YamlProblem[] };

const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

export function readYaml(text: string, file: string, names: YamlNames): YamlRead {
  const fail = (code: string, message: string, hint: string, line = 0, column = 0): YamlRead => ({
    ok: false,
    problems: [{ code: `${names.prefix}_${code}`, message, hint, line, column }],
  });
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true }) as Document.Parsed[];
    if (!Array.isArray(docs)) docs = [docs];
  } catch (err) {
    // yaml < 2.8.3 threw RangeError on deep nesting; never let any error escape.
    return fail('SYNTAX', `${names.name} could not be parsed: ${(err as Error).message.split('\n')[0]}`, 'check the YAML syntax');
  }
  if (docs.length === 0 || docs[0].contents === null) return { ok: true, empty: true };

  const problems: YamlProblem[] = [];
  const seen = new Set<string>();
  for (const err of docs.flatMap((d) => d.errors)) {
    // prettyErrors is off: its formatting exhausts memory on deeply nested input.
    const pos = lineCounter.linePos(err.pos[0]);
    const message = err.message.split('\n')[0];
    const key = `${pos.line}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const dupKey = err.code === 'DUPLICATE_KEY' ? keyAt(text, err.pos[0]) : undefined;
    problems.push({
      code: `${names.prefix}_${err.code === 'DUPLICATE_KEY' ? 'DUPLICATE_KEY' : 'SYNTAX'}`,
      message: dupKey !== undefined ? `the key '${dupKey}' appears twice in this block (${lower(message)})` : lower(message),
      hint: syntaxHint(err.code),
      line: pos.line,
      column: pos.col,
    });
    if (problems.length >= MAX_SYNTAX_ERRORS) break;
  }
  if (problems.length > 0) return { ok: false, problems };

  if (docs.length > 1) {
    const { line, col } = lineCounter.linePos(docs[1].range?.[0] ?? 0);
    return fail('MULTI_DOCUMENT', `${names.name} holds more than one YAML document`, 'remove the second `---` document', line, col);
  }
  const doc = docs[0];
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 });
  } catch (err) {
    return fail('ALIASES', `${names.name} could not be read: ${(err as Error).message.split('\n')[0]}`, `do not use YAML aliases (*name) in ${names.name}`);
  }
  return { ok: true, empty: false, data, doc, locator: new Locator(doc, lineCounter, file, text) };
}

/**
 * "file:line:column" of the member at path in a YAML or JSON text (JSON is
 * YAML), for a document checked elsewhere that names a bad member; just
 * the file when the text does not parse or the path is the whole document.
 */
export function locate(text: string, file: string, path: (string | number)[]): string {
  if (path.length === 0) return file;
  const read = readYaml(text.replace(/^\uFEFF/, ''), file, { prefix: 'DOCUMENT', name: file });
  return read.ok && !read.empty ? read.locator.where(path) : file;
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
      return 'the document nests too deeply; keep it to a few flat blocks';
    default:
      return 'check the YAML syntax at this position';
  }
}
