import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildListing, changelogSection, findPlaceholders } from '../../../src/core/listing.js';
import type { Manifest } from '../../../src/core/manifest/types.js';
import { tempDir } from '../../helpers/temp-project.js';

const CHANGELOG = `# Changelog

## [1.2.0] - 2026-11-26
### Added
- dashboards

## [1.1.0]
- older
`;

const manifest = (over: Partial<Manifest['plugin']> = {}): Manifest => ({
  plugin: { name: 'my_plugin', version: '1.2.0', author: 'Ada', description: 'Counts messages', ...over },
  metadata: { category: 'analytics', tags: ['stats'], license: 'MIT' },
  permissions: { required: ['analytics_read'], optional: ['admin_access'] },
});

describe('changelogSection', () => {
  it('finds "## [x.y.z] - date", "## x.y.z" and "## vx.y.z" sections up to the next heading', () => {
    expect(changelogSection(CHANGELOG, '1.2.0')).toBe('### Added\n- dashboards');
    expect(changelogSection(CHANGELOG, '1.1.0')).toBe('- older');
    expect(changelogSection('## v2.0.0\nbig\n## 1.0.0\nx', '2.0.0')).toBe('big');
    expect(changelogSection('## 2.0.0\r\nwin\r\n', '2.0.0')).toBe('win');
  });

  it('does not confuse 1.2.0 with 1.2.01 or 11.2.0, and tells missing from empty', () => {
    expect(changelogSection('## 1.2.01\nx\n## 11.2.0\ny', '1.2.0')).toBeUndefined();
    expect(changelogSection('## 1.2.0\n\n## 1.1.0\nx', '1.2.0')).toBe('');
  });
});

describe('findPlaceholders', () => {
  it('spots template text with its line', () => {
    expect(findPlaceholders('# X\n\nTODO: describe your plugin')).toEqual([
      { what: 'TODO', line: 3 },
      { what: '"describe your plugin" template text', line: 3 },
    ]);
    expect(findPlaceholders('A plugin that counts messages.')).toEqual([]);
  });
});

describe('buildListing', () => {
  it('builds the listing from manifest, README, CHANGELOG and the archive', async () => {
    const zip = Buffer.from('PK fake archive bytes');
    const dir = await tempDir({
      docs: { 'README.md': '# My plugin\n\nCounts messages per channel.\n' },
      'CHANGELOG.md': CHANGELOG,
      dist: { 'my_plugin-1.2.0.zip': zip },
    });
    const { listing, problems } = await buildListing(dir, manifest());
    expect(problems).toEqual([]);
    expect(listing).toMatchObject({
      name: 'my_plugin',
      version: '1.2.0',
      description: 'Counts messages',
      long_description: '# My plugin\n\nCounts messages per channel.\n',
      changelog: '### Added\n- dashboards',
      category: 'analytics',
      tags: ['stats'],
      license: 'MIT',
      homepage: null,
      author: 'Ada',
      permissions: { required: ['analytics_read'], optional: ['admin_access'] },
      archive: { file: 'my_plugin-1.2.0.zip', sha256: createHash('sha256').update(zip).digest('hex'), size: zip.length },
    });
    expect(listing!.permissions_summary.map((p) => [p.name, p.required])).toEqual([
      ['analytics_read', true],
      ['admin_access', false],
    ]);
  });

  it('lists everything that is missing at once', async () => {
    const dir = await tempDir({ docs: { 'README.md': 'TODO\n' }, 'CHANGELOG.md': '## [1.1.0]\n- old\n' });
    const { listing, problems } = await buildListing(dir, manifest({ description: ' ' }));
    expect(listing).toBeUndefined();
    expect(problems.map((p) => p.code)).toEqual(['EMPTY_DESCRIPTION', 'PLACEHOLDER', 'NO_CHANGELOG_ENTRY', 'NO_ARCHIVE']);
    expect(problems.find((p) => p.code === 'NO_ARCHIVE')!.hint).toMatch(/build/);
    expect(problems.find((p) => p.code === 'NO_CHANGELOG_ENTRY')!.message).toMatch(/1\.2\.0/);
  });

  it('an archive changed after its .sha256 was written is a problem', async () => {
    const dir = await tempDir({
      docs: { 'README.md': 'Counts.\n' },
      'CHANGELOG.md': CHANGELOG,
      dist: { 'my_plugin-1.2.0.zip': 'abc', 'my_plugin-1.2.0.zip.sha256': `${'0'.repeat(64)}  my_plugin-1.2.0.zip\n` },
    });
    // the archive is newer than its .sha256: it is hashed and compared
    const old = new Date('2026-01-01T00:00:00Z');
    await fs.utimes(path.join(dir, 'dist', 'my_plugin-1.2.0.zip.sha256'), old, old);
    const { problems, digestFrom } = await buildListing(dir, manifest());
    expect(digestFrom).toBe('hashed');
    expect(problems.map((p) => p.code)).toEqual(['SHA256_MISMATCH']);
  });

  it("takes the sha256 from build's .sha256 when it is newer than the archive", async () => {
    const sha = 'a'.repeat(64);
    const dir = await tempDir({
      docs: { 'README.md': 'Counts.\n' },
      'CHANGELOG.md': CHANGELOG,
      dist: { 'my_plugin-1.2.0.zip': 'abc', 'my_plugin-1.2.0.zip.sha256': `${sha}  my_plugin-1.2.0.zip\n` },
    });
    const old = new Date('2026-01-01T00:00:00Z');
    await fs.utimes(path.join(dir, 'dist', 'my_plugin-1.2.0.zip'), old, old);
    const { listing, digestFrom } = await buildListing(dir, manifest());
    expect(digestFrom).toBe('sidecar');
    expect(listing!.archive).toEqual({ file: 'my_plugin-1.2.0.zip', sha256: sha, size: 3 });
  });
});
