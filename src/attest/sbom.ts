/**
 * The SBOM written beside every archive: CycloneDX 1.6 JSON,
 * `<name>-<version>.cdx.json`. Pure: what goes in it, and whether an SBOM
 * describes a given archive. docs/signing.md, "The SBOM", is the reference.
 *
 * - metadata.component, the root: the plugin (name, version, description,
 *   author, licence as an SPDX expression) with the archive's sha256 as
 *   its hash (the SBOM is written after the archive, so it can name it).
 * - components: every member of the archive as a `file` component with its
 *   sha256 (the facts of the integrity listing), and every Python package
 *   the manifest declares (`dependencies.packages`) as a `library`
 *   component: the requirement as written, marked as provided by the
 *   platform when the plugin is loaded (nothing of it is packed).
 * - dependencies: the root depends on those libraries.
 *
 * The seam for a lock file (issue 23): a dependency with `provided:
 * 'archive'` and an exact version and hashes (a packed wheel) becomes a
 * component with that version and hash; declaredDependencies() is the
 * only producer today.
 */
import { requirementName } from '../core/manifest/rules.js';
import { isObject, parseSmallJson } from '../core/schema/issues.js';
import { INTEGRITY_PATH } from '../core/package/integrity.js';

export const SBOM_SPEC_VERSION = '1.6';
/** A .cdx.json larger than this is refused before parsing. */
export const MAX_SBOM_BYTES = 32 * 1024 * 1024;
/** The namespace of this CLI's CycloneDX properties (CycloneDX property taxonomy: a prefix of our own). */
const P = 'plexichat';

export interface SbomDependency {
  /** The normalized project name (PEP 503). */
  name: string;
  /** The requirement as the manifest writes it, e.g. `requests>=2.31`. */
  requirement: string;
  /** platform: installed by the platform at load time (declared only); archive: packed with the plugin (from a lock). */
  provided: 'platform' | 'archive';
  /** From a lock: the exact version. */
  version?: string;
  /** From a lock: the sha256 of the wheel. */
  sha256?: string;
}

export interface SbomInput {
  plugin: { name: string; version: string; description?: string; author?: string; license?: string; homepage?: string };
  /** The archive's file name (no folder) and sha256. */
  archive: { name: string; sha256: string };
  /** Every member of the archive but the integrity listing: path and sha256. */
  files: { path: string; sha256: string }[];
  /** Declared core and Python ranges (informational properties of the root). */
  requires?: { core?: string; python?: string };
  dependencies: SbomDependency[];
  tool: { name: string; version: string };
  /** ISO 8601 time of the build. */
  timestamp: string;
  /** `urn:uuid:…`, new for every SBOM (CycloneDX: unique even when the content is the same). */
  serialNumber: string;
}

/** The manifest's `dependencies.packages`, each marked as provided by the platform at load time (no lock yet). */
export function declaredDependencies(packages: readonly unknown[] | undefined): SbomDependency[] {
  return (packages ?? [])
    .filter((p): p is string => typeof p === 'string' && p.trim() !== '')
    .map((p) => ({ name: requirementName(p), requirement: p.trim(), provided: 'platform' as const }));
}

type Json = Record<string, unknown>;

const prop = (name: string, value: string) => ({ name: `${P}:${name}`, value });

/** bom-refs: unique within the document (a package listed twice gets `#2`). */
function libraryRefs(deps: SbomDependency[]): string[] {
  const seen = new Map<string, number>();
  return deps.map((d) => {
    const base = `pypi:${d.name}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  });
}

export function rootRef(plugin: { name: string; version: string }): string {
  return `plugin:${plugin.name}@${plugin.version}`;
}

export function makeSbom(input: SbomInput): Json {
  const { plugin } = input;
  const root: Json = { type: 'library', 'bom-ref': rootRef(plugin), name: plugin.name, version: plugin.version };
  if (plugin.description) root.description = plugin.description;
  if (plugin.author) root.authors = [{ name: plugin.author }];
  root.hashes = [{ alg: 'SHA-256', content: input.archive.sha256 }];
  if (plugin.license) root.licenses = [{ expression: plugin.license }];
  if (plugin.homepage) root.externalReferences = [{ type: 'website', url: plugin.homepage }];
  const rootProps = [prop('archive', input.archive.name)];
  if (input.requires?.core) rootProps.push(prop('requires:core', input.requires.core));
  if (input.requires?.python) rootProps.push(prop('requires:python', input.requires.python));
  root.properties = rootProps;

  const refs = libraryRefs(input.dependencies);
  const libraries = input.dependencies.map((d, i) => {
    const c: Json = { type: 'library', 'bom-ref': refs[i], name: d.name };
    if (d.version) c.version = d.version;
    c.scope = 'required';
    if (d.sha256) c.hashes = [{ alg: 'SHA-256', content: d.sha256 }];
    c.purl = `pkg:pypi/${d.name}${d.version ? `@${d.version}` : ''}`;
    // A packed wheel no requirement names (pulled in by another) has no requirement property.
    c.properties = [...(d.requirement ? [prop('requirement', d.requirement)] : []), prop('provided-by', d.provided)];
    return c;
  });
  const files = [...input.files]
    .filter((f) => f.path !== INTEGRITY_PATH)
    .map((f) => ({ type: 'file', 'bom-ref': `file:${f.path}`, name: f.path, hashes: [{ alg: 'SHA-256', content: f.sha256 }] }));

  return {
    $schema: `http://cyclonedx.org/schema/bom-${SBOM_SPEC_VERSION}.schema.json`,
    bomFormat: 'CycloneDX',
    specVersion: SBOM_SPEC_VERSION,
    serialNumber: input.serialNumber,
    version: 1,
    metadata: {
      timestamp: input.timestamp,
      lifecycles: [{ phase: 'build' }],
      tools: { components: [{ type: 'application', name: input.tool.name, version: input.tool.version }] },
      component: root,
    },
    components: [...files, ...libraries],
    dependencies: [{ ref: rootRef(plugin), dependsOn: refs }, ...refs.map((ref) => ({ ref }))],
  };
}

export function serializeSbom(doc: Json): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** What an SBOM says about the archive, read back (the facts verify compares). */
export interface SbomFacts {
  plugin: { name: string; version: string };
  archiveSha256: string;
  /** path -> sha256 of every `file` component. */
  files: Map<string, string>;
  /** The requirement of every library component provided by the platform, and of the packed wheels a requirement names, in order. */
  requirements: string[];
}

function sha256Of(hashes: unknown): string | undefined {
  if (!Array.isArray(hashes)) return undefined;
  for (const x of hashes as unknown[]) if (isObject(x) && x.alg === 'SHA-256' && typeof x.content === 'string') return x.content.toLowerCase();
  return undefined;
}

function propOf(c: Json, name: string): string | undefined {
  if (!Array.isArray(c.properties)) return undefined;
  for (const x of c.properties as unknown[]) if (isObject(x) && x.name === `${P}:${name}` && typeof x.value === 'string') return x.value;
  return undefined;
}

/** Parse an SBOM this CLI wrote; throws an Error with a one-line reason when it is not one. */
export function parseSbom(text: string): SbomFacts {
  const doc = parseSmallJson(text, MAX_SBOM_BYTES);
  if (!isObject(doc) || doc.bomFormat !== 'CycloneDX') throw new Error('it is not a CycloneDX document ("bomFormat" is not "CycloneDX")');
  if (typeof doc.specVersion !== 'string' || !/^1\.([6-9]|\d{2,})$/.test(doc.specVersion)) {
    throw new Error(`"specVersion" ${JSON.stringify(doc.specVersion)} is not 1.6 or newer`);
  }
  const root = isObject(doc.metadata) ? doc.metadata.component : undefined;
  if (!isObject(root) || typeof root.name !== 'string' || typeof root.version !== 'string') throw new Error('"metadata.component" (the plugin) is missing');
  const archiveSha256 = sha256Of(root.hashes);
  if (!archiveSha256) throw new Error('"metadata.component.hashes" has no SHA-256 (the archive\'s)');
  if (!Array.isArray(doc.components)) throw new Error('"components" is missing');
  const files = new Map<string, string>();
  const requirements: string[] = [];
  doc.components.forEach((c: unknown, i: number) => {
    if (!isObject(c) || typeof c.name !== 'string') throw new Error(`component ${i + 1} has no "name"`);
    if (c.type === 'file') {
      const sha = sha256Of(c.hashes);
      if (!sha) throw new Error(`file component ${JSON.stringify(c.name)} has no SHA-256`);
      files.set(c.name, sha);
    } else if (c.type === 'library' && propOf(c, 'provided-by') === 'platform') {
      requirements.push(propOf(c, 'requirement') ?? c.name);
    } else if (c.type === 'library' && propOf(c, 'provided-by') === 'archive') {
      // A packed wheel (build --wheels) a requirement of the manifest names.
      const r = propOf(c, 'requirement');
      if (r !== undefined && !requirements.includes(r)) requirements.push(r);
    }
  });
  return { plugin: { name: root.name, version: root.version }, archiveSha256, files, requirements };
}

/** What verify knows of the archive, to compare an SBOM with. */
export interface ArchiveView {
  sha256: string;
  /** Every member read: name -> sha256 (the integrity listing itself is ignored). */
  members: ReadonlyMap<string, { sha256: string }>;
  plugin?: { name: string; version: string };
  /** The manifest's dependencies.packages. */
  packages?: readonly unknown[];
}

/** The first way the SBOM does not describe the archive, as one line; undefined when it does. */
export function sbomDifference(sbom: SbomFacts, archive: ArchiveView): string | undefined {
  if (sbom.archiveSha256 !== archive.sha256) {
    return `it names an archive with sha256 ${sbom.archiveSha256.slice(0, 16)}…, this archive's is ${archive.sha256.slice(0, 16)}…`;
  }
  if (archive.plugin && (sbom.plugin.name !== archive.plugin.name || sbom.plugin.version !== archive.plugin.version)) {
    return `it is for ${sbom.plugin.name} ${sbom.plugin.version}, the archive holds ${archive.plugin.name} ${archive.plugin.version}`;
  }
  const members = [...archive.members].filter(([name]) => name !== INTEGRITY_PATH);
  for (const [name, m] of members) {
    const listed = sbom.files.get(name);
    if (listed === undefined) return `the archive's member ${name} is not among its file components`;
    if (listed !== m.sha256) return `the file component ${name} has sha256 ${listed.slice(0, 16)}…, the member's is ${m.sha256.slice(0, 16)}…`;
  }
  const names = new Set(members.map(([n]) => n));
  for (const name of sbom.files.keys()) if (!names.has(name)) return `its file component ${name} is not in the archive`;
  if (archive.packages) {
    const declared = declaredDependencies(archive.packages).map((d) => d.requirement);
    const listed = sbom.requirements;
    const missing = declared.find((r) => !listed.includes(r));
    if (missing !== undefined) return `the manifest's requirement ${missing} is not among its components`;
    const extra = listed.find((r) => !declared.includes(r));
    if (extra !== undefined) return `its component ${extra} is not a requirement of the manifest`;
  }
  return undefined;
}
