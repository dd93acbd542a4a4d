/**
 * `marketplace mirror --from URL --to DIR|s3://… [NAME[@VERSION] ...]`: copy
 * published plugins (all the source's catalogue lists when none is named;
 * every version of a plugin named without one) from a marketplace server or
 * a static registry into a static registry, for a team without a network
 * path to the marketplace. Every archive is fetched into a temp folder and
 * verified as `download` verifies it (marketplace/verified-download.ts:
 * counter-signature against --keyring or the source's keys, publisher
 * signature, name and version, archive checks) before anything is written;
 * one refusal writes nothing at all.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createReadStream } from 'node:fs';
import semver from 'semver';
import { userPath, type Ctx } from '../../io/context.js';
import { CliError, UsageError } from '../../errors.js';
import { openAtomic, type AtomicFile } from '../../io/atomic.js';
import { inline } from '../../io/terminal.js';
import { archiveFileName, parsePluginSpec } from '../../core/plugin-name.js';
import { readKeyringFile } from '../../signing/files.js';
import { keyRecord, type KeyRecord, type TrustedKey } from '../../signing/keyring.js';
import type { PluginInfo } from '../../marketplace/client.js';
import { fetchVerified, marketplaceKeysOf, nothingWritten, type PluginReader } from '../../marketplace/verified-download.js';
import type { IndexedVersion } from '../../registry/layout.js';
import { openMirrorSource } from '../../registry/open.js';
import type { IndexSource } from '../../registry/writer.js';
import { registryWriteError } from '../../registry/errors.js';
import { variantPlatforms } from '../../marketplace/variants.js';

export interface MirrorOptions {
  from?: string;
  to?: string;
  s3Endpoint?: string;
  keyring?: string;
  specs?: string[];
}

export interface MirrorResult {
  from: string;
  to: string;
  plugins: { name: string; versions: string[] }[];
  written: string[];
  unchanged: number;
}

interface Fetched {
  name: string;
  tmp: AtomicFile;
  entry: IndexedVersion;
}

function parseSpecs(specs: string[]): { name: string; version?: string }[] {
  return specs.map((s) => {
    const r = parsePluginSpec(s, (v) => semver.valid(v) !== null);
    if ('problem' in r)
      throw new UsageError(r.problem, { hint: 'e.g. marketplace mirror --from https://market.example.com --to ./registry greeter@1.2.0 other_tool' });
    return r;
  });
}

async function selection(reader: PluginReader & { pluginNames?: () => Promise<string[]> }, specs: { name: string; version?: string }[]) {
  if (specs.length > 0) return specs;
  if (!reader.pluginNames) {
    throw new UsageError('name the plugins to mirror: a marketplace server does not list all its plugins', {
      code: 'MIRROR_NEEDS_NAMES',
      hint: 'e.g. marketplace mirror --from <url> --to <dir> greeter other_tool, or mirror from a static registry',
    });
  }
  return (await reader.pluginNames()).map((name) => ({ name }));
}

/** Fetch and verify every selected version into temp files; the first refusal throws (the caller removes the temp files). */
async function fetchAll(reader: PluginReader, wanted: { name: string; version?: string }[], keys: TrustedKey[], pinned: boolean, dir: string, got: Fetched[]) {
  const infos = new Map<string, PluginInfo>();
  for (const w of wanted) {
    const info = infos.get(w.name) ?? (await reader.plugin(w.name));
    infos.set(w.name, info);
    const versions = w.version ? [w.version] : info.versions.map((v) => v.version);
    // Every archive of each version: its one archive, or each platform variant.
    const archives = versions.flatMap((version): { version: string; platform?: string }[] => {
      const platforms = variantPlatforms(info.versions.find((x) => x.version === version));
      return platforms.length ? platforms.map((platform) => ({ version, platform })) : [{ version, platform: undefined }];
    });
    for (const { version, platform } of archives) {
      const tmp = await openAtomic(path.join(dir, archiveFileName(w.name, version, platform)));
      got.push({ name: w.name, tmp, entry: undefined as unknown as IndexedVersion });
      const v = await fetchVerified({ reader, name: w.name, version, tmp, marketKeys: keys, pinned, platform }).catch((err: unknown) => {
        throw nothingWritten(err);
      });
      const listed = info.versions.find((x) => x.version === version);
      got[got.length - 1].entry = {
        version,
        ...(platform ? { platform } : {}),
        channel: typeof listed?.channel === 'string' ? listed.channel : null,
        published_at: v.counter.created_at,
        sha256: v.sha256,
        size: v.size,
        publisher: v.publisherDoc ?? null,
        publisherKey: v.sigs.publisherKey,
        countersignature: v.counter,
      };
    }
  }
  return infos;
}

function verifiedSource(got: Fetched[], infos: Map<string, PluginInfo>, keys: KeyRecord[]): IndexSource {
  return {
    marketplaceKeys: async () => keys,
    plugins: async () => [...infos.keys()],
    plugin: async (name) => ({ owner: infos.get(name)?.owner ?? null, versions: got.filter((g) => g.name === name).map((g) => g.entry) }),
    blob: async (sha) => createReadStream(got.find((g) => g.entry.sha256 === sha)!.tmp.tempPath),
  };
}

/** The keys the mirror was verified against, as records: the source's record of each (its created_at) with the trusted window. */
async function keyRecords(reader: PluginReader, keys: TrustedKey[]): Promise<KeyRecord[]> {
  const published = await reader.marketplaceKeys().catch(() => [] as KeyRecord[]);
  return keys.map((k) => {
    const own = keyRecord(k.publicKey, { expires_at: k.expiresAt, revoked_at: k.revokedAt, owner: k.owner });
    const theirs = published.find((p) => p.key_id === k.keyId && p.public_key === own.public_key);
    return { ...own, created_at: theirs?.created_at ?? null };
  });
}

export async function run(opts: MirrorOptions, ctx: Ctx): Promise<MirrorResult> {
  if (opts.from === undefined || opts.to === undefined) {
    throw new UsageError('marketplace mirror needs --from <url> and --to <dir|s3://bucket/prefix>', {
      hint: 'e.g. marketplace mirror --from https://market.example.com --to ./registry greeter',
    });
  }
  const specs = parseSpecs(opts.specs ?? []);
  const pinned = opts.keyring !== undefined ? await readKeyringFile(opts.keyring, userPath(ctx, opts.keyring)) : undefined;
  const { openSink } = await import('../../registry/sink.js');
  const sink = await openSink(opts.to, { flag: '--to', endpoint: opts.s3Endpoint, env: ctx.env, cwd: ctx.cwd });
  const { reader, registry } = await openMirrorSource(ctx, opts.from);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plexichat-mirror-'));
  const got: Fetched[] = [];
  try {
    const wanted = await selection(registry ?? reader, specs);
    const keys = await marketplaceKeysOf(reader, pinned);
    const infos = await fetchAll(reader, wanted, keys, pinned !== undefined, dir, got);
    const records = await keyRecords(reader, keys);
    const { writeRegistry } = await import('../../registry/writer.js');
    const report = await writeRegistry(verifiedSource(got, infos, records), sink, { only: [...infos.keys()] }).catch((err: unknown) => {
      throw err instanceof CliError ? err : registryWriteError(err, sink.label);
    });
    const plugins = [...infos.keys()].map((name) => ({ name, versions: got.filter((g) => g.name === name).map((g) => g.entry.version) }));
    return { from: reader.baseUrl, to: sink.label, plugins, written: report.written, unchanged: report.unchanged };
  } finally {
    for (const g of got) await g.tmp.abort();
    await fs.rm(dir, { recursive: true, force: true });
    await reader.close();
    await sink.close();
  }
}

export function render(r: MirrorResult, ctx: Ctx): void {
  for (const p of r.plugins) ctx.out.result(inline(`${ctx.out.c.green('✔')} ${p.name} ${p.versions.join(', ')} (verified)`));
  ctx.out.result(inline(`mirrored ${r.plugins.length} plugin(s) from ${r.from} into ${r.to}: ${r.written.length} file(s) written, ${r.unchanged} unchanged`));
}
