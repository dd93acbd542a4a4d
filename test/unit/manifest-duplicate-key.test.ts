import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/core/manifest/index.js';

describe('a duplicate manifest key', () => {
  it('names the key, plain or quoted, at its line', () => {
    for (const [yaml, key, line] of [
      ['plugin:\n  name: abc\n  name: abd\n', 'name', 3],
      ['plugin:\n  name: abc\n  "name": abd\n', 'name', 3],
      ["metadata:\n  category: bots\n  'category': utility\n", 'category', 3],
      ['hooks: []\nendpoints: []\nhooks: [a]\n', 'hooks', 3],
    ] as const) {
      const d = parseManifest(yaml).diagnostics.find((x) => x.code === 'MANIFEST_DUPLICATE_KEY');
      expect(d, yaml).toBeDefined();
      expect(d!.message).toContain(`the key '${key}' appears twice`);
      expect(d!.line).toBe(line);
    }
  });
});
