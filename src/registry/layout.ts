/**
 * The static registry's layout (docs/static-registry.md), one definition for
 * the writer (writer.ts: `marketplace index`, `serve --index-to`, `mirror`)
 * and the reader (reader.ts: `download`/`info --registry`):
 *
 *   registry.json                      the root: the catalogue's shards and where the keys are
 *   keys.json                          the marketplace's keys (a keyring, docs/signing.md)
 *   catalogue/<shard>.json             plugins whose names start with <shard> (two characters)
 *   plugins/<name>/index.json          one plugin's versions, signatures' places, counter-signatures
 *   blobs/sha256/<aa>/<sha256>         archives and publisher signatures, content-addressed (immutable)
 *
 * Documents are written as sorted, indented JSON, so the same data gives the
 * same bytes (an index run twice changes nothing). Their shapes are the
 * schemas in schemas/files/registry-*.schema.json; the parsers here add the
 * rules a schema cannot say (a blob's path is its digest's). Pure.
 */
import semver from 'semver';
import { DocumentError, isObject, schemaIssues, dotted } from '../core/schema/issues.js';
import type { KeyRecord } from '../signing/keyring.js';
import { serializeSignature, type SignatureDocument } from '../signing/document.js';
import { sha256Hex } from '../signing/verify.js';
import type { RegistryRoot } from './root-schema-types.generated.js';
import type { RegistryShard } from './shard-schema-types.generated.js';
import type { RegistryPlugin } from './plugin-schema-types.generated.js';
import { validate as validateRoot } from './root-schema-validator.generated.js';
import { validate as validateShard } from './shard-schema-validator.generated.js';
import { validate as validatePlugin } from './plugin-schema-validator.generated.js';

export type { RegistryRoot, RegistryShard, RegistryPlugin };
export type RegistryVersion = RegistryPlugin['versions'][number];
export type ShardEntry = RegistryShard['plugins'][number];
export type ShardRef = RegistryRoot['shards'][number];

export const ROOT_PATH = 'registry.json';
export const KEYS_PATH = 'keys.json';
export const FORMAT = { root: 'plexichat-registry/1', shard: 'plexichat-registry-shard/1', plugin: 'plexichat-registry-plugin/1' } as const;
/** A registry document larger than this is not one (the reader stops there). */
export const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;

export function shardOf(name: string): string {
  return name.slice(0, 2);
}
export function shardPath(shard: string): string {
  return `catalogue/${shard}.json`;
}
export function pluginIndexPath(name: string): string {
  return `plugins/${name}/index.json`;
}
export function blobPath(sha256: string): string {
  return `blobs/sha256/${sha256.slice(0, 2)}/${sha256}`;
}

/** Keys sorted at every depth: one byte form for one value. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sorted(v[k])]),
  );
}

export function documentBytes(doc: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(sorted(doc), null, 2)}\n`);
}

/** A published version as the writer gets it from its source. */
export interface IndexedVersion {
  version: string;
  /** A platform variant of the version (one entry per platform); absent for a version's one archive. */
  platform?: string;
  channel: string | null;
  published_at: string | null;
  sha256: string;
  size: number;
  publisher: SignatureDocument | null;
  publisherKey: KeyRecord | null;
  countersignature: SignatureDocument;
}

/** The bytes of a publisher signature file (what `download` writes as the .sig). */
export function signatureBytes(doc: SignatureDocument): Buffer {
  return Buffer.from(serializeSignature(doc));
}

export function versionEntry(v: IndexedVersion): RegistryVersion {
  const sig = v.publisher ? signatureBytes(v.publisher) : undefined;
  const sigSha = sig && sha256Hex(sig);
  return {
    version: v.version,
    ...(v.platform ? { platform: v.platform } : {}),
    channel: v.channel,
    published_at: v.published_at,
    sha256: v.sha256,
    size: v.size,
    archive: blobPath(v.sha256),
    publisher_signature: sig && sigSha ? { path: blobPath(sigSha), sha256: sigSha, size: sig.length } : null,
    publisher_key: v.publisherKey,
    countersignature: v.countersignature,
  };
}

/** Highest version first. */
export function byVersion(a: { version: string }, b: { version: string }): number {
  const va = semver.valid(a.version);
  const vb = semver.valid(b.version);
  if (va && vb) return semver.rcompare(va, vb);
  return a.version < b.version ? 1 : a.version > b.version ? -1 : 0;
}

export function pluginDocument(name: string, owner: string | null, versions: RegistryVersion[]): RegistryPlugin {
  return { format: FORMAT.plugin, name, owner, versions: [...versions].sort(byVersion) };
}

export function shardDocument(shard: string, plugins: ShardEntry[]): RegistryShard {
  return { format: FORMAT.shard, shard, plugins: [...plugins].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
}

export function shardEntry(doc: RegistryPlugin, bytes: Buffer): ShardEntry {
  return { name: doc.name, latest: doc.versions[0].version, versions: doc.versions.length, index: pluginIndexPath(doc.name), sha256: sha256Hex(bytes) };
}

export function rootDocument(shards: ShardRef[]): RegistryRoot {
  return { format: FORMAT.root, keys: KEYS_PATH, shards: [...shards].sort((a, b) => (a.shard < b.shard ? -1 : 1)) };
}

// ---- parsing (the reader, and the writer merging into what is there) ------

function parseJson(bytes: Buffer, where: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new DocumentError(`${where} is not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
}

function checked<T>(validate: unknown, bytes: Buffer, where: string): T {
  const doc = parseJson(bytes, where);
  const issue = schemaIssues(validate, doc)[0];
  if (issue) {
    const at = dotted(issue.keyword === 'required' ? [...issue.path, String(issue.params.missingProperty)] : issue.path);
    throw new DocumentError(`${where}: ${at ? `${at} ` : ''}${issue.message}`, issue.path);
  }
  return doc as T;
}

export function parseRoot(bytes: Buffer): RegistryRoot {
  const doc = checked<RegistryRoot>(validateRoot, bytes, ROOT_PATH);
  for (const s of doc.shards) {
    if (s.path !== shardPath(s.shard)) throw new DocumentError(`${ROOT_PATH}: shard ${s.shard} is not at ${shardPath(s.shard)}`);
  }
  return doc;
}

export function parseShard(bytes: Buffer, shard: string): RegistryShard {
  const where = shardPath(shard);
  const doc = checked<RegistryShard>(validateShard, bytes, where);
  if (doc.shard !== shard) throw new DocumentError(`${where} is the shard of ${JSON.stringify(doc.shard)}`);
  for (const p of doc.plugins) {
    if (shardOf(p.name) !== shard || p.index !== pluginIndexPath(p.name)) throw new DocumentError(`${where}: ${p.name} does not belong in it`);
  }
  return doc;
}

/** A plugin index; its name is compared with the one asked for by the caller (WRONG_PLUGIN). */
export function parsePluginIndex(bytes: Buffer, where: string): RegistryPlugin {
  const doc = checked<RegistryPlugin>(validatePlugin, bytes, where);
  for (const v of doc.versions) {
    if (v.archive !== blobPath(v.sha256)) throw new DocumentError(`${where}: ${v.version}'s archive is not at ${blobPath(v.sha256)}`);
    const sig = v.publisher_signature;
    if (sig && sig.path !== blobPath(sig.sha256)) throw new DocumentError(`${where}: ${v.version}'s publisher signature is not at ${blobPath(sig.sha256)}`);
  }
  return doc;
}
