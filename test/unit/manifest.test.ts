import { describe, expect, it } from 'vitest';
import { parseManifest, formatDiagnostic } from '../../src/core/manifest/index.js';

const base = `plugin:
  name: "x_plugin"
  version: "2.1.0"
  author: "A"
  description: "D"
metadata:
  category: "bots"
`;

describe('parseManifest (pure)', () => {
  it('returns the manifest when there are no errors', () => {
    const r = parseManifest(base);
    expect(r.diagnostics).toEqual([]);
    expect(r.manifest?.plugin).toEqual({ name: 'x_plugin', version: '2.1.0', author: 'A', description: 'D' });
  });

  it('accepts a Buffer and strips a BOM', () => {
    const r = parseManifest(Buffer.from(`\uFEFF${base}`));
    expect(r.manifest?.metadata.category).toBe('bots');
  });

  it('withholds the manifest when there are errors, but keeps warnings-only manifests', () => {
    expect(parseManifest(base.replace('"2.1.0"', '"2.1"')).manifest).toBeUndefined();
    const warned = parseManifest(`${base}extra: 1\n`);
    expect(warned.manifest).toBeDefined();
    expect(warned.diagnostics[0]).toMatchObject({ severity: 'warning', code: 'UNKNOWN_FIELD', line: 8, column: 1 });
  });

  it('suggests the closest known key for a misspelt block', () => {
    const r = parseManifest(`${base}permisions:\n  required: [message_read]\n`);
    expect(r.diagnostics[0].message).toContain("did you mean 'permissions'?");
  });

  it('points at list items', () => {
    const r = parseManifest(`${base}hooks:\n  - message_sent\n  - nope_hook\n`);
    expect(r.diagnostics[0]).toMatchObject({ code: 'UNKNOWN_HOOK', line: 10, column: 5 });
  });

  it('uses the file name it is given', () => {
    const r = parseManifest('- a\n', 'archive.zip!config/plugin.yaml');
    expect(formatDiagnostic(r.diagnostics[0])).toMatch(/^archive\.zip!config\/plugin\.yaml:1:1 error MANIFEST_NOT_MAPPING/);
  });

  it('accepts resource quantities and rejects bad ones', () => {
    const ok = parseManifest(`${base}resources:\n  limits:\n    cpu: 1.5\n    memory: 512Mi\n  requests:\n    cpu: "250m"\n    memory: "128Mi"\n`);
    expect(ok.diagnostics).toEqual([]);
    const bad = parseManifest(`${base}resources:\n  limits:\n    cpu: "fast"\n`);
    expect(bad.diagnostics[0].code).toBe('INVALID_QUANTITY');
  });

  it('accepts PEP 440 requirements with extras and markers', () => {
    const r = parseManifest(
      `${base}dependencies:\n  python: "~=3.9"\n  packages:\n    - "requests[socks]>=2.0,<3"\n    - "numpy>=1.21; python_version >= '3.8'"\n    - attrs\n`,
    );
    expect(r.diagnostics).toEqual([]);
  });
});
