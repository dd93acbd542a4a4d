/**
 * The marketplace listing (docs/marketplace-api.md, "The listing"): built
 * from the manifest, docs/README.md (long description), the CHANGELOG.md
 * section for this version, and the archive's sha256 and size. Checking
 * gathers every problem at once, so one run says everything that is missing.
 *
 * No CLI or process dependencies: the project dir and the manifest come in,
 * a listing and a list of problems go out.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { readRegularFile } from '../io/read-file.js';
import { PERMISSIONS } from './catalog.js';
import type { Manifest } from './manifest/types.js';
import { fileDigest } from './digest.js';
import type { CompleteListing as Listing } from './listing-format.js';
import { artefactStem } from './plugin-name.js';

export type { CompleteListing as Listing } from './listing-format.js';

export interface ListingProblem {
  code: string;
  /** What is wrong, naming the file. */
  message: string;
  /** What to do about it. */
  hint: string;
}

export interface ListingPaths {
  distDir: string;
  archive: string;
  sha256File: string;
  listing: string;
}

export function listingPaths(projectDir: string, name: string, version: string, distDir = 'dist'): ListingPaths {
  const dist = path.resolve(projectDir, distDir);
  const base = artefactStem(name, version);
  return {
    distDir: dist,
    archive: path.join(dist, `${base}.zip`),
    sha256File: path.join(dist, `${base}.zip.sha256`),
    listing: path.join(dist, `${base}.listing.json`),
  };
}

/** A path as messages show it: relative to the project with `/`, or absolute when it lies outside. */
export function projectRelative(projectDir: string, p: string): string {
  const r = path.relative(projectDir, p);
  return r.startsWith('..') || path.isAbsolute(r) ? p : r.split(path.sep).join('/');
}

/** The paths for an archive given by path (`--archive`): its .sha256 and the listing sit beside it. */
function archivePaths(archive: string): ListingPaths {
  const dir = path.dirname(archive);
  const stem = path.basename(archive).replace(/\.zip$/i, '');
  return { distDir: dir, archive, sha256File: `${archive}.sha256`, listing: path.join(dir, `${stem}.listing.json`) };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The CHANGELOG.md section for `version`: the text under a heading such as
 * `## [1.2.0] - 2026-11-26`, `## 1.2.0`, or `## v1.2.0`, up to the next
 * heading of the same or a higher level. Undefined when there is no such
 * heading; '' when the section is empty.
 */
export function changelogSection(text: string, version: string): string | undefined {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const head = new RegExp(`^(#{1,6})\\s*\\[?v?${escapeRe(version)}\\]?(?=$|[\\s\\-–—:(])`);
  for (let i = 0; i < lines.length; i++) {
    const m = head.exec(lines[i] ?? '');
    if (!m) continue;
    const level = m[1].length;
    const body: string[] = [];
    for (let j = i + 1; j < lines.length; j++) {
      const h = /^(#{1,6})\s/.exec(lines[j] ?? '');
      if (h && h[1].length <= level) break;
      body.push(lines[j]);
    }
    return body.join('\n').trim();
  }
  return undefined;
}

/** Template text left in place: what a person must replace before publishing. */
const PLACEHOLDERS: { re: RegExp; what: string }[] = [
  { re: /\bTODO\b/, what: 'TODO' },
  { re: /\bTBD\b/, what: 'TBD' },
  { re: /\bFIXME\b/, what: 'FIXME' },
  { re: /lorem ipsum/i, what: 'lorem ipsum' },
  { re: /\{\{\s*[\w.]+\s*\}\}/, what: '{{…}} template variable' },
  { re: /<(?:your|insert|describe)[^>]*>/i, what: '<…> placeholder' },
  { re: /\b(?:describe|explain) (?:what )?(?:your|this) plugin\b/i, what: '"describe your plugin" template text' },
  { re: /\breplace this\b/i, what: '"replace this" template text' },
];

/** Placeholder markers found in text, with their 1-based line numbers. */
export function findPlaceholders(text: string): { what: string; line: number }[] {
  const found: { what: string; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  for (const p of PLACEHOLDERS) {
    const i = lines.findIndex((l) => p.re.test(l));
    if (i !== -1) found.push({ what: p.what, line: i + 1 });
  }
  return found.sort((a, b) => a.line - b.line);
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return (await readRegularFile(file, { shown: path.basename(file) })).toString('utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function nonEmpty(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
}

export interface BuiltListing {
  listing?: Listing;
  problems: ListingProblem[];
  paths: ListingPaths;
  /** Where the archive's sha256 came from: build's fresh .sha256 file, or hashing the archive now. */
  digestFrom?: 'sidecar' | 'hashed';
}

/** One part of the listing, and what is wrong with it. */
interface Part<T> {
  value?: T;
  problems: ListingProblem[];
}

/**
 * Build the listing for the project's current version and check it is
 * complete. `listing` is set only when there are no problems. Each part is
 * checked on its own (so every problem is reported in one run), in the order
 * the problems are listed.
 */
export async function buildListing(
  projectDir: string,
  manifest: Manifest,
  opts: {
    distDir?: string;
    archive?: string;
    /** The archive's sha256 and size from a caller that reads the archive anyway (prepare's verify run): it is not hashed twice. */
    digest?: (archive: string) => Promise<{ sha256: string; size: number; from?: 'sidecar' | 'hashed' }>;
  } = {},
): Promise<BuiltListing> {
  const { name, version } = manifest.plugin;
  const paths = opts.archive !== undefined ? archivePaths(opts.archive) : listingPaths(projectDir, name, version, opts.distDir);
  const rel = (p: string) => projectRelative(projectDir, p) || '.';
  const description = descriptionPart(manifest);
  const category = categoryPart(manifest);
  const readme = await readmePart(path.join(projectDir, 'docs', 'README.md'));
  const changelog = await changelogPart(path.join(projectDir, 'CHANGELOG.md'), version);
  const archive = await archivePart(paths, rel, opts.digest);
  const problems = [description, category, readme, changelog, archive].flatMap((p) => p.problems);
  const digestFrom = archive.value?.digestFrom ?? 'hashed';
  if (problems.length > 0 || !archive.value || !description.value) return { problems, paths, digestFrom };

  const required = [...(manifest.permissions?.required ?? [])];
  const optional = [...(manifest.permissions?.optional ?? [])];
  const listing: Listing = {
    name,
    version,
    description: description.value,
    long_description: readme.value ?? '',
    changelog: changelog.value ?? '',
    category: manifest.metadata.category,
    tags: [...(manifest.metadata.tags ?? [])],
    license: nonEmpty(manifest.metadata.license),
    homepage: nonEmpty(manifest.metadata.homepage),
    author: nonEmpty(manifest.plugin.author),
    permissions: { required, optional },
    permissions_summary: [
      ...required.map((p) => ({ name: p, required: true, description: PERMISSIONS[p] ?? 'unknown permission' })),
      ...optional.map((p) => ({ name: p, required: false, description: PERMISSIONS[p] ?? 'unknown permission' })),
    ],
    archive: { file: path.basename(paths.archive), sha256: archive.value.sha256, size: archive.value.size },
  };
  return { listing, problems, paths, digestFrom };
}

function descriptionPart(manifest: Manifest): Part<string> {
  const description = nonEmpty(manifest.plugin.description);
  if (!description) {
    return {
      problems: [
        {
          code: 'EMPTY_DESCRIPTION',
          message: 'plugin.description in config/plugin.yaml is empty',
          hint: 'write a one-line description of what the plugin does',
        },
      ],
    };
  }
  return {
    value: description,
    problems: findPlaceholders(description).map((p) => ({
      code: 'PLACEHOLDER',
      message: `plugin.description in config/plugin.yaml still holds ${p.what}`,
      hint: 'replace the template text with a real description',
    })),
  };
}

function categoryPart(manifest: Manifest): Part<string> {
  if (nonEmpty(manifest.metadata?.category)) return { problems: [] };
  return { problems: [{ code: 'NO_CATEGORY', message: 'metadata.category in config/plugin.yaml is empty', hint: 'set a category (see `validate`)' }] };
}

/** docs/README.md: the long description. */
async function readmePart(file: string): Promise<Part<string>> {
  const readme = await readText(file);
  if (readme === undefined) {
    return {
      problems: [{ code: 'NO_README', message: 'docs/README.md is missing', hint: 'write docs/README.md: it becomes the long description on the marketplace' }],
    };
  }
  if (readme.trim() === '') {
    return {
      value: readme,
      problems: [{ code: 'EMPTY_README', message: 'docs/README.md is empty', hint: 'describe the plugin, its settings and its permissions' }],
    };
  }
  return {
    value: readme,
    problems: findPlaceholders(readme).map((p) => ({
      code: 'PLACEHOLDER',
      message: `docs/README.md:${p.line} still holds ${p.what}`,
      hint: 'replace the template text before publishing',
    })),
  };
}

/** The CHANGELOG.md section for this version. */
async function changelogPart(file: string, version: string): Promise<Part<string>> {
  const text = await readText(file);
  if (text === undefined) {
    return {
      problems: [
        { code: 'NO_CHANGELOG', message: 'CHANGELOG.md is missing', hint: `create CHANGELOG.md with a section "## [${version}]" describing this version` },
      ],
    };
  }
  const section = changelogSection(text, version);
  if (section === undefined) {
    return {
      problems: [
        {
          code: 'NO_CHANGELOG_ENTRY',
          message: `CHANGELOG.md has no entry for version ${version}`,
          hint: `add a section "## [${version}]" that says what changed`,
        },
      ],
    };
  }
  if (section === '') {
    return {
      problems: [{ code: 'EMPTY_CHANGELOG_ENTRY', message: `the CHANGELOG.md entry for ${version} is empty`, hint: 'say what changed in this version' }],
    };
  }
  return {
    value: section,
    problems: findPlaceholders(section).map((p) => ({
      code: 'PLACEHOLDER',
      message: `the CHANGELOG.md entry for ${version} still holds ${p.what}`,
      hint: 'replace the template text before publishing',
    })),
  };
}

/**
 * The archive is not there. After `build --split-platforms` the folder holds
 * the version's platform archives instead (`<stem>-<platform>.zip`): they
 * are named, and each is submitted with --archive.
 */
async function noArchive(archive: string, rel: (p: string) => string): Promise<ListingProblem> {
  const dir = path.dirname(archive);
  const stem = path.basename(archive, '.zip');
  const variants = ((await fs.readdir(dir).catch(() => [])) as string[])
    .filter((f) => f.startsWith(`${stem}-`) && f.endsWith('.zip') && !f.slice(stem.length + 1, -4).includes('/'))
    .sort();
  if (variants.length > 0) {
    const shown = variants.map((f) => rel(path.join(dir, f)));
    return {
      code: 'NO_ARCHIVE',
      message: `${rel(archive)} does not exist; ${rel(dir)} holds ${variants.length} platform archive${variants.length === 1 ? '' : 's'} of this version: ${shown.join(', ')}`,
      hint: `they form one version: submit each with --archive, e.g. --archive ${shown[0]}`,
    };
  }
  return { code: 'NO_ARCHIVE', message: `no archive yet: ${rel(archive)} does not exist`, hint: 'run `plexichat-plugin build` first' };
}

/** The archive's sha256 and size: from build's fresh .sha256 file, or by hashing it now. */
async function archivePart(
  paths: ListingPaths,
  rel: (p: string) => string,
  digest?: (archive: string) => Promise<{ sha256: string; size: number; from?: 'sidecar' | 'hashed' }>,
): Promise<Part<{ sha256: string; size: number; digestFrom: 'sidecar' | 'hashed' }>> {
  const problems: ListingProblem[] = [];
  let archive: { sha256: string; size: number; digestFrom: 'sidecar' | 'hashed' } | undefined;
  try {
    const st = await fs.stat(paths.archive);
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
    // `build` writes the archive, then its .sha256. A .sha256 strictly newer than the archive
    // was written after it and is trusted (hashing 100 MB again costs ~0.15 s); otherwise the
    // archive is hashed and compared with it. The marketplace recomputes the digest anyway.
    const recorded = (await readText(paths.sha256File))?.trim().split(/\s+/)[0]?.toLowerCase();
    const fresh = digest ? undefined : await freshSidecar(paths.archive, st);
    if (fresh) {
      archive = { ...fresh, digestFrom: 'sidecar' };
    } else {
      const d: { sha256: string; size: number; from?: 'sidecar' | 'hashed' } = await (digest ?? fileDigest)(paths.archive);
      archive = { sha256: d.sha256, size: d.size, digestFrom: d.from ?? 'hashed' };
      if (recorded && recorded !== archive.sha256) {
        problems.push({
          code: 'SHA256_MISMATCH',
          message: `${rel(paths.archive)} does not match ${rel(paths.sha256File)} (changed after build?)`,
          hint: 'run `plexichat-plugin build` again',
        });
      }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    problems.push(await noArchive(paths.archive, rel));
  }
  if (archive && archive.size === 0) {
    problems.push({ code: 'EMPTY_ARCHIVE', message: `${rel(paths.archive)} is empty`, hint: 'run `plexichat-plugin build` again' });
  }
  return { value: archive, problems };
}

/**
 * The digest build wrote beside an archive (`<archive>.sha256`), when it is
 * strictly newer than the archive (written after it) and well formed;
 * undefined otherwise. A caller that trusts it must still compare it with
 * the archive's bytes before anything depends on them (submit does, while
 * it sends them).
 */
export async function freshSidecar(archive: string, st?: { mtimeMs: number; size: number }): Promise<{ sha256: string; size: number } | undefined> {
  const file = `${archive}.sha256`;
  const at = st ?? (await fs.stat(archive).catch(() => undefined));
  const side = await fs.stat(file).catch(() => undefined);
  if (!at || !side || !(side.mtimeMs > at.mtimeMs) || at.size === 0) return undefined;
  const recorded = (await readText(file))?.trim().split(/\s+/)[0]?.toLowerCase();
  return recorded && /^[0-9a-f]{64}$/.test(recorded) ? { sha256: recorded, size: at.size } : undefined;
}

/** The listing as written to disk: stable key order, two-space indent, final newline. */
export function serialiseListing(listing: Listing): string {
  return `${JSON.stringify(listing, null, 2)}\n`;
}
