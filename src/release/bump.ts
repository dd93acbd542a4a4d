/**
 * The version bump: the next version from a bump word or an explicit
 * version, and the manifest text with only the `plugin.version` scalar
 * replaced. The yaml library's document model finds the scalar's exact
 * source range; the new text is the old text with that range spliced, so
 * comments, key order, quoting elsewhere, blank lines and line endings are
 * byte for byte what they were. Pure: strings in, strings out.
 */
import semver from 'semver';
import { isScalar, LineCounter, parseDocument, Scalar } from 'yaml';

export const BUMPS = ['patch', 'minor', 'major'] as const;
export type BumpWord = (typeof BUMPS)[number];

/** A bump that cannot be computed; `usage` says whether the arguments were wrong (exit 2) or the state (exit 1). */
export class BumpError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly hint: string,
    readonly usage: boolean,
  ) {
    super(message);
  }
}

/** Identifiers allowed after --pre: semver prerelease identifiers, not numeric-only. */
const PRE_ID = /^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/;

/**
 * The version after `current` for `bump` (patch, minor, major or X.Y.Z),
 * optionally as a prerelease `pre`. A prerelease bump of a version that is
 * already a prerelease of the same release counts on (1.1.0-rc.0 →
 * 1.1.0-rc.1); otherwise it starts at .0 of the bumped release.
 */
export function nextVersion(current: string, bump: string, pre?: string): string {
  if (!semver.valid(current)) {
    throw new BumpError(
      `the current version ${JSON.stringify(current)} is not a semantic version`,
      'VERSION_INVALID',
      'write plugin.version as "X.Y.Z" in config/plugin.yaml (quoted)',
      false,
    );
  }
  if (pre !== undefined && (!PRE_ID.test(pre) || /^\d+$/.test(pre))) {
    throw new BumpError(
      `--pre ${JSON.stringify(pre)} is not a prerelease identifier`,
      'USAGE',
      'use letters, digits and hyphens, e.g. --pre rc or --pre beta',
      true,
    );
  }
  let next: string | null;
  if ((BUMPS as readonly string[]).includes(bump)) {
    const word = bump as BumpWord;
    if (pre === undefined) next = semver.inc(current, word);
    else {
      const release = semver.inc(current, word);
      const cur = semver.parse(current)!;
      const sameRelease = cur.prerelease.length > 0 && release === `${cur.major}.${cur.minor}.${cur.patch}`;
      const samePre = sameRelease && String(cur.prerelease[0]) === pre.split('.')[0];
      next = samePre ? semver.inc(current, 'prerelease', pre) : semver.inc(current, `pre${word}`, pre, '0');
    }
  } else {
    const v = bump.startsWith('v') ? bump.slice(1) : bump;
    if (!semver.valid(v) || semver.clean(v) !== v) {
      throw new BumpError(
        `${JSON.stringify(bump)} is neither patch, minor, major nor a version X.Y.Z`,
        'USAGE',
        'e.g. plexichat-plugin version minor, or plexichat-plugin version 2.0.0',
        true,
      );
    }
    if (pre !== undefined && semver.prerelease(v)) {
      throw new BumpError(
        `${v} is a prerelease already; --pre ${pre} cannot be added to it`,
        'USAGE',
        `pass ${semver.coerce(v)?.version}-${pre}.0 or drop --pre`,
        true,
      );
    }
    next = pre === undefined ? v : `${v}-${pre}.0`;
  }
  if (!next) throw new BumpError(`cannot bump ${current} by ${bump}`, 'USAGE', 'use patch, minor, major or X.Y.Z', true);
  if (!semver.gt(next, current)) {
    throw new BumpError(
      `${next} is not greater than the current version ${current}`,
      'VERSION_NOT_NEWER',
      'a new version must be greater than the current one: use patch, minor, major or a higher X.Y.Z',
      false,
    );
  }
  return next;
}

export interface VersionLocation {
  /** The value as written (a string for a valid manifest). */
  value: unknown;
  /** Offsets of the scalar's source text (quotes included). */
  start: number;
  end: number;
  /** 1-based line and column of the scalar. */
  line: number;
  column: number;
  style: Scalar.Type | undefined;
}

/** Where `plugin.version` is written in the manifest text; throws BumpError when it cannot be edited in place. */
export function locateVersion(text: string): VersionLocation {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lineCounter.linePos(e.pos[0]);
    throw new BumpError(
      `config/plugin.yaml:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`,
      'MANIFEST_SYNTAX',
      'fix the YAML first (`plexichat-plugin validate` shows every problem)',
      false,
    );
  }
  const node = doc.getIn(['plugin', 'version'], true);
  if (node === undefined) {
    throw new BumpError('config/plugin.yaml has no plugin.version', 'VERSION_MISSING', 'add `version: "0.1.0"` under plugin:', false);
  }
  if (!isScalar(node) || !node.range) {
    throw new BumpError('plugin.version in config/plugin.yaml is not a single value', 'VERSION_INVALID', 'write it as version: "X.Y.Z"', false);
  }
  if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
    throw new BumpError(
      'plugin.version is written as a block scalar (| or >), which cannot be edited in place',
      'VERSION_INVALID',
      'write it on one line: version: "X.Y.Z"',
      false,
    );
  }
  const [start, end] = node.range;
  const pos = lineCounter.linePos(start);
  return { value: node.value, start, end, line: pos.line, column: pos.col, style: node.type };
}

/** The manifest text with plugin.version set to `version`, written in the scalar's own quoting style. */
export function replaceVersion(text: string, loc: VersionLocation, version: string): string {
  const source = loc.style === 'QUOTE_DOUBLE' ? JSON.stringify(version) : loc.style === 'QUOTE_SINGLE' ? `'${version}'` : version;
  const next = text.slice(0, loc.start) + source + text.slice(loc.end);
  // The splice must read back as exactly the new version (a plain scalar that YAML would read as
  // something else, or a range that did not cover the value, would show up here).
  const check = locateVersion(next);
  if (check.value !== version) {
    throw new BumpError(
      `internal: the edited manifest reads plugin.version as ${JSON.stringify(check.value)}`,
      'VERSION_EDIT_FAILED',
      'please report this; nothing was written',
      false,
    );
  }
  return next;
}
