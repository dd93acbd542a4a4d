/**
 * The integrity listing: a generated archive member that names every other
 * member with its size and sha256, so a reader can check the archive member
 * by member (see docs/archive-format.md).
 */

export const INTEGRITY_PATH = 'plexichat-integrity.json';
export const INTEGRITY_FORMAT = 'plexichat-plugin-integrity/1';
/** A listing larger than this is refused before parsing. */
export const MAX_INTEGRITY_BYTES = 16 * 1024 * 1024;

export interface IntegrityFile {
  path: string;
  size: number;
  sha256: string;
}

export interface IntegrityListing {
  format: typeof INTEGRITY_FORMAT;
  algorithm: 'sha256';
  plugin: { name: string; version: string };
  files: IntegrityFile[];
}

/** Deterministic text of a listing: files sorted by path, fixed key order, one file per line. */
export function serializeIntegrity(plugin: { name: string; version: string }, files: IntegrityFile[]): Buffer {
  const sorted = [...files].sort((a, b) => compareNames(a.path, b.path));
  const lines = sorted.map(
    (f) => `    { "path": ${JSON.stringify(f.path)}, "size": ${f.size}, "sha256": "${f.sha256}" }`,
  );
  const text =
    '{\n' +
    `  "format": "${INTEGRITY_FORMAT}",\n` +
    '  "algorithm": "sha256",\n' +
    `  "plugin": { "name": ${JSON.stringify(plugin.name)}, "version": ${JSON.stringify(plugin.version)} },\n` +
    `  "files": [${lines.length ? `\n${lines.join(',\n')}\n  ` : ''}]\n` +
    '}\n';
  return Buffer.from(text, 'utf8');
}

/** Parse and shape-check a listing; throws an Error with a one-line message when it is malformed. */
export function parseIntegrity(data: Buffer): IntegrityListing {
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message})`);
  }
  const o = doc as Partial<IntegrityListing> | null;
  if (!o || typeof o !== 'object') throw new Error('not a JSON object');
  if (o.format !== INTEGRITY_FORMAT) throw new Error(`unknown format ${JSON.stringify(o.format)}`);
  if (o.algorithm !== 'sha256') throw new Error(`unknown algorithm ${JSON.stringify(o.algorithm)}`);
  if (!Array.isArray(o.files)) throw new Error('"files" is not a list');
  for (const f of o.files as unknown[]) {
    const e = f as Partial<IntegrityFile> | null;
    if (
      !e ||
      typeof e.path !== 'string' ||
      typeof e.size !== 'number' ||
      !Number.isSafeInteger(e.size) ||
      e.size < 0 ||
      typeof e.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(e.sha256)
    ) {
      throw new Error(`malformed file record ${JSON.stringify(f).slice(0, 200)}`);
    }
  }
  return o as IntegrityListing;
}

/** Byte-wise (UTF-8) order, the same on every machine and locale. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
