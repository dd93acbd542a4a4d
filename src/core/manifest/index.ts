/**
 * Load and check config/plugin.yaml. Parsing keeps source positions so
 * every finding names file:line:column. parseManifest is pure (no fs), so
 * `verify` and the development marketplace run it on archive members too.
 */
import { isMap } from 'yaml';
import { readYaml } from '../yaml/read.js';
import type { Locator } from '../yaml/locator.js';
import { readManifestFile } from './read.js';
import { checkRules } from './rules.js';
import { MANIFEST_PATH, MAX_MANIFEST_BYTES, type Diagnostic, type Manifest } from './types.js';
import { count } from '../../io/counters.js';

export { MANIFEST_PATH, MAX_MANIFEST_BYTES } from './types.js';
export type { Diagnostic, Manifest, Severity } from './types.js';
export { formatDiagnostic } from './format.js';

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
  for (let i = 0; i < buf.length;) {
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

  const read = readYaml(text, file, { prefix: 'MANIFEST', name: 'the manifest' });
  if (!read.ok) return { diagnostics: read.problems.map((p) => ({ severity: 'error', file, ...p })) };
  if (read.empty) {
    return fileError(file, 'MANIFEST_EMPTY', 'the manifest is empty', 'run `plexichat-plugin init` for a template, or see docs/manifest.md');
  }
  const { doc, data, locator } = read;
  if (!isMap(doc.contents)) {
    const kind = doc.contents && 'items' in doc.contents ? 'a list' : 'a single value';
    const { line, column } = locator.pos([]);
    return fileError(
      file,
      'MANIFEST_NOT_MAPPING',
      `the manifest is ${kind}; it must be a mapping with plugin:, metadata:, ... blocks`,
      'see docs/manifest.md for the layout',
      line,
      column,
    );
  }

  const ruleDiagnostics = checkRules(data, locator);
  const hasErrors = ruleDiagnostics.some((d) => d.severity === 'error');
  return {
    manifest: hasErrors ? undefined : (data as Manifest),
    diagnostics: ruleDiagnostics,
    data: data as Record<string, unknown>,
    locator,
  };
}

/**
 * Read and check <projectDir>/config/plugin.yaml. A missing file is a
 * WorkFailedError (exit 1); everything else becomes diagnostics.
 */
export async function loadManifest(projectDir: string): Promise<ParsedManifest> {
  return parseManifest(await readManifestFile(projectDir), MANIFEST_PATH);
}
