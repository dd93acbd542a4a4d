/**
 * Reading a static registry (layout.ts) over http(s):// or file://, with the
 * surface `download`, `info` and `mirror` read a marketplace server through
 * (marketplace/verified-download.ts PluginReader). For one plugin it reads
 * that plugin's index document and the files it names, never the catalogue;
 * the keys document only when no keyring is pinned. Nothing it reads is
 * trusted: the caller checks the signatures. A document that does not parse
 * is REGISTRY_INVALID, a file the index names and the registry lacks is
 * REGISTRY_INCOMPLETE (both exit 1, nothing written).
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CliError, errnoCode, NetworkError, WorkFailedError } from '../errors.js';
import { readRegularFile } from '../io/read-file.js';
import { DocumentError } from '../core/schema/issues.js';
import type { PluginInfo, VersionSignatures } from '../marketplace/client.js';
import type { PluginReader } from '../marketplace/verified-download.js';
import type { KeyRecord } from '../signing/keyring.js';
import { sha256Hex } from '../signing/verify.js';
import { expectedPluginProblem } from '../signing/verify.js';
import { isObject } from '../core/schema/issues.js';
import {
  KEYS_PATH,
  MAX_DOCUMENT_BYTES,
  parsePluginIndex,
  parseRoot,
  parseShard,
  pluginIndexPath,
  ROOT_PATH,
  type RegistryPlugin,
  type RegistryVersion,
} from './layout.js';
import { MAX_SIGNATURE_BYTES } from '../signing/document.js';

const DOC_TIMEOUT_MS = 60_000;
const BLOB_TIMEOUT_MS = 600_000;

export class StaticRegistry implements PluginReader {
  readonly baseUrl: string;
  private readonly base: URL;
  private readonly indexes = new Map<string, RegistryPlugin>();

  constructor(
    base: URL,
    private readonly signal?: AbortSignal,
  ) {
    this.base = new URL(base.href.endsWith('/') ? base.href : `${base.href}/`);
    this.baseUrl = this.base.href.replace(/\/$/, '');
  }

  private url(rel: string): URL {
    return new URL(rel, this.base);
  }

  private unreachable(rel: string, err: unknown): CliError {
    if (err instanceof CliError) return err;
    const why = String((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message ?? err).split('\n')[0];
    return new NetworkError(`cannot read ${this.url(rel).href} from the registry (${why})`, {
      code: (err as Error).name === 'TimeoutError' ? 'TIMEOUT' : 'UNREACHABLE',
      hint: 'check the --registry URL and your network, then try again',
    });
  }

  /** The response body of rel, or undefined when the registry has no such file. */
  private async open(rel: string, timeoutMs: number): Promise<{ body: Readable; size?: number } | undefined> {
    const url = this.url(rel);
    if (url.protocol === 'file:') {
      const file = fileURLToPath(url);
      const { openRegularFile } = await import('../io/read-file.js');
      try {
        const { handle, stat } = await openRegularFile(file, { shown: url.href });
        await handle.close();
        return { body: createReadStream(file), size: stat.size };
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
        throw err;
      }
    }
    const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(this.signal ? [this.signal] : [])]);
    let res: Response;
    try {
      res = await fetch(url, { signal, redirect: 'follow' });
    } catch (err) {
      throw this.unreachable(rel, err);
    }
    if (res.status === 404 || res.status === 410) return undefined;
    if (!res.ok || !res.body) {
      throw new NetworkError(`the registry answered HTTP ${res.status} for ${url.href}`, {
        code: res.status >= 500 ? 'SERVER_ERROR' : 'UNEXPECTED_RESPONSE',
        hint: res.status >= 500 ? 'try again later' : 'check the --registry URL',
        details: { status: res.status },
      });
    }
    return { body: Readable.fromWeb(res.body), size: Number(res.headers.get('content-length') ?? NaN) };
  }

  /** A whole small file (at most `cap` bytes), or undefined when it is not there. */
  private async bytes(rel: string, cap: number): Promise<Buffer | undefined> {
    const url = this.url(rel);
    if (url.protocol === 'file:') {
      return readRegularFile(fileURLToPath(url), { shown: url.href, maxBytes: cap }).catch((err: unknown) => {
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
        if (err instanceof CliError && err.code === 'FILE_TOO_LARGE') throw invalid(`${rel} is larger than ${cap} bytes`);
        throw err;
      });
    }
    const got = await this.open(rel, DOC_TIMEOUT_MS);
    if (!got) return undefined;
    const chunks: Buffer[] = [];
    let n = 0;
    try {
      for await (const c of got.body as AsyncIterable<Buffer>) {
        n += c.length;
        if (n > cap) {
          got.body.destroy();
          throw invalid(`${rel} is larger than ${cap} bytes`);
        }
        chunks.push(c);
      }
    } catch (err) {
      throw err instanceof CliError ? err : this.unreachable(rel, err);
    }
    return Buffer.concat(chunks);
  }

  /** The plugin's index document, read once. */
  async index(name: string): Promise<RegistryPlugin> {
    const known = this.indexes.get(name);
    if (known) return known;
    const rel = pluginIndexPath(name);
    const bytes = await this.bytes(rel, MAX_DOCUMENT_BYTES);
    if (!bytes) throw new WorkFailedError(`no plugin named ${name} in the registry ${this.baseUrl}`, { code: 'PLUGIN_NOT_FOUND', hint: 'check the name' });
    let doc: RegistryPlugin;
    try {
      doc = parsePluginIndex(bytes, rel);
    } catch (err) {
      throw invalid((err as Error).message);
    }
    const wrong = expectedPluginProblem({ name }, { name: doc.name }, "the registry's index");
    if (wrong) throw new WorkFailedError(`refusing the index of ${name}: ${wrong.message}`, { code: wrong.code, hint: wrong.hint, details: wrong.details });
    this.indexes.set(name, doc);
    return doc;
  }

  async plugin(name: string): Promise<PluginInfo> {
    const doc = await this.index(name);
    // One entry per version, as the server lists them: a version's platform variants (one index entry each) under `variants`.
    const byVersion = new Map<string, RegistryVersion[]>();
    for (const v of doc.versions) byVersion.set(v.version, [...(byVersion.get(v.version) ?? []), v]);
    return {
      name: doc.name,
      ...(typeof doc.owner === 'string' ? { owner: doc.owner } : {}),
      versions: [...byVersion.values()].map(([v, ...more]) => ({
        version: v.version,
        ...(v.channel !== null ? { channel: v.channel } : {}),
        sha256: v.sha256,
        size: v.size,
        ...(v.published_at !== null ? { published_at: v.published_at } : {}),
        ...(v.platform ? { variants: [v, ...more].map((x) => ({ platform: x.platform ?? '', sha256: x.sha256, size: x.size })) } : {}),
      })),
    };
  }

  /** A version's entry: its one archive, or the platform variant asked for (the caller has picked one of those the index lists). */
  private async entry(name: string, version: string, platform?: string) {
    const entries = (await this.index(name)).versions.filter((e) => e.version === version);
    const v = entries.find((e) => (e.platform ?? '') === (platform ?? '')) ?? (entries[0]?.platform ? undefined : entries[0]);
    if (!v) {
      const there = entries.map((e) => e.platform).filter(Boolean);
      throw new WorkFailedError(
        entries.length && platform !== undefined
          ? `${name} ${version} has no archive for ${platform} in the registry ${this.baseUrl} (it has ${there.join(', ')})`
          : `${name} ${version} is not in the registry ${this.baseUrl}`,
        {
          code: entries.length ? 'PLATFORM_NOT_FOUND' : 'VERSION_NOT_FOUND',
          hint: `\`marketplace info ${name}\` lists its versions${entries.length ? ' and platforms' : ''}`,
        },
      );
    }
    return v;
  }

  async signatures(name: string, version: string, platform?: string): Promise<VersionSignatures> {
    const v = await this.entry(name, version, platform);
    let publisher: unknown = null;
    if (v.publisher_signature) {
      const sig = v.publisher_signature;
      const bytes = await this.bytes(sig.path, MAX_SIGNATURE_BYTES);
      if (!bytes) throw incomplete(`the publisher signature of ${name} ${version} (${sig.path}) is not in the registry`);
      if (sha256Hex(bytes) !== sig.sha256) {
        throw new WorkFailedError(`refusing ${name} ${version}: the publisher signature file is not the one the index names (sha256 differs)`, {
          code: 'SIGNATURE_INVALID',
          hint: 'the registry served bytes that are not the ones that were indexed: do not install them; report it to the registry',
        });
      }
      try {
        publisher = JSON.parse(bytes.toString('utf8'));
      } catch {
        publisher = bytes.toString('utf8');
      }
    }
    // Attestations (SBOM, provenance) are not in the registry layout yet: none are named.
    return { publisher, publisherKey: (v.publisher_key as KeyRecord | null) ?? null, marketplace: v.countersignature, attestations: null };
  }

  async marketplaceKeys(): Promise<KeyRecord[]> {
    const bytes = await this.bytes(KEYS_PATH, 1024 * 1024);
    if (!bytes) throw incomplete(`the registry has no ${KEYS_PATH} (the marketplace's keys)`, 'pass --keyring <file> with the marketplace keys you trust');
    let doc: unknown;
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw invalid(`${KEYS_PATH} is not valid JSON`);
    }
    if (!isObject(doc) || !Array.isArray(doc.keys)) throw invalid(`${KEYS_PATH} has no "keys" list`);
    return doc.keys as KeyRecord[];
  }

  async download(
    name: string,
    version: string,
    sink: (body: NodeJS.ReadableStream) => Promise<void>,
    _deadlineMs?: number,
    platform?: string,
  ): Promise<unknown> {
    const v = await this.entry(name, version, platform);
    const got = await this.open(v.archive, BLOB_TIMEOUT_MS);
    if (!got) throw incomplete(`the archive of ${name} ${version} (${v.archive}) is not in the registry`);
    try {
      await sink(got.body);
    } catch (err) {
      throw err instanceof CliError ? err : this.unreachable(v.archive, err);
    }
    return {};
  }

  async attestationFile(name: string, version: string, kind: 'sbom' | 'provenance'): Promise<Buffer> {
    throw incomplete(`the registry holds no ${kind} of ${name} ${version}`);
  }

  /** Every plugin the catalogue lists (mirror with no names): the root, then each shard. */
  async pluginNames(): Promise<string[]> {
    const rootBytes = await this.bytes(ROOT_PATH, MAX_DOCUMENT_BYTES);
    if (!rootBytes) throw incomplete(`the registry has no ${ROOT_PATH}`, 'check the URL: it is the folder that holds registry.json');
    const names: string[] = [];
    try {
      for (const s of parseRoot(rootBytes).shards) {
        const b = await this.bytes(s.path, MAX_DOCUMENT_BYTES);
        if (!b) throw incomplete(`the catalogue shard ${s.path} is not in the registry`);
        names.push(...parseShard(b, s.shard).plugins.map((p) => p.name));
      }
    } catch (err) {
      if (err instanceof DocumentError) throw invalid(err.message);
      throw err;
    }
    return names;
  }

  /** Whether the URL holds a static registry (its root document is there). */
  async isRegistry(): Promise<boolean> {
    try {
      const g = await this.open(ROOT_PATH, DOC_TIMEOUT_MS);
      g?.body.destroy();
      return g !== undefined;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {}
}

function invalid(message: string): WorkFailedError {
  return new WorkFailedError(`the registry is not valid: ${message}`, {
    code: 'REGISTRY_INVALID',
    hint: 'the registry was changed or damaged: do not install from it; report it to whoever runs it',
  });
}

function incomplete(message: string, hint = 'the registry is incomplete or was changed: re-run `marketplace index` or `mirror` into it'): WorkFailedError {
  return new WorkFailedError(message, { code: 'REGISTRY_INCOMPLETE', hint });
}
