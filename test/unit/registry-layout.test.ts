/**
 * The static registry's layout (src/registry/layout.ts): the paths, one byte
 * form per document, and the parsers' rules beyond the schemas (a blob's path
 * is its digest's; a shard holds only its own names).
 */
import { describe, expect, it } from 'vitest';
import {
  blobPath,
  documentBytes,
  parsePluginIndex,
  parseRoot,
  parseShard,
  pluginDocument,
  pluginIndexPath,
  rootDocument,
  shardDocument,
  shardOf,
  shardPath,
  type RegistryVersion,
} from '../../src/registry/layout.js';

const SHA = 'ab'.repeat(32);
const SIG = 'cd'.repeat(32);

function version(v: string, over: Partial<RegistryVersion> = {}): RegistryVersion {
  return {
    version: v,
    channel: 'stable',
    published_at: '2026-01-01T00:00:00.000Z',
    sha256: SHA,
    size: 10,
    archive: blobPath(SHA),
    publisher_signature: { path: blobPath(SIG), sha256: SIG, size: 100 },
    publisher_key: null,
    countersignature: {},
    ...over,
  };
}

describe('registry layout', () => {
  it('paths: shards by the first two characters, blobs by digest', () => {
    expect(shardOf('qa_plugin')).toBe('qa');
    expect(shardPath('qa')).toBe('catalogue/qa.json');
    expect(pluginIndexPath('qa_plugin')).toBe('plugins/qa_plugin/index.json');
    expect(blobPath(SHA)).toBe(`blobs/sha256/ab/${SHA}`);
  });

  it('one byte form: keys sorted at every depth, versions highest first', () => {
    const a = pluginDocument('qa_plugin', null, [version('1.0.0'), version('1.10.0'), version('1.2.0')]);
    expect(a.versions.map((v) => v.version)).toEqual(['1.10.0', '1.2.0', '1.0.0']);
    const b = { versions: a.versions, owner: null, name: 'qa_plugin', format: a.format };
    expect(documentBytes(a).equals(documentBytes(b))).toBe(true);
    expect(documentBytes(a).toString()).toMatch(/^\{\n {2}"format"/);
    expect(parsePluginIndex(documentBytes(a), 'x')).toEqual(a);
  });

  it('refuses an index whose paths are not the content addresses of their digests', () => {
    const ok = pluginDocument('qa_plugin', null, [version('1.0.0')]);
    for (const bad of [
      version('1.0.0', { archive: blobPath(SIG) }),
      version('1.0.0', { archive: '../../etc/passwd' }),
      version('1.0.0', { publisher_signature: { path: blobPath(SHA), sha256: SIG, size: 1 } }),
      version('1.0.0', { sha256: 'AB'.repeat(32) }),
    ]) {
      expect(() => parsePluginIndex(documentBytes({ ...ok, versions: [bad] }), 'plugins/qa_plugin/index.json')).toThrow(/plugins\/qa_plugin\/index\.json/);
    }
    expect(() => parsePluginIndex(Buffer.from('{"format":'), 'i')).toThrow(/not valid JSON/);
    expect(() => parsePluginIndex(documentBytes({ ...ok, format: 'other/1' }), 'i')).toThrow(/format/);
  });

  it('a shard holds only its own plugins; the root names shards at their paths', () => {
    const entry = { name: 'qa_plugin', latest: '1.0.0', versions: 1, index: pluginIndexPath('qa_plugin'), sha256: SHA };
    expect(parseShard(documentBytes(shardDocument('qa', [entry])), 'qa').plugins).toHaveLength(1);
    expect(() => parseShard(documentBytes(shardDocument('ot', [entry])), 'ot')).toThrow(/does not belong/);
    expect(() => parseShard(documentBytes(shardDocument('qa', [entry])), 'ot')).toThrow(/shard of "qa"/);
    const root = rootDocument([{ shard: 'qa', path: shardPath('qa'), sha256: SHA, plugins: 1 }]);
    expect(parseRoot(documentBytes(root))).toEqual(root);
    expect(() => parseRoot(documentBytes({ ...root, shards: [{ ...root.shards[0], path: 'catalogue/ot.json' }] }))).toThrow(/not at catalogue\/qa\.json/);
  });
});
