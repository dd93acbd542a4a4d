/**
 * The SDK's built-in YAML reader (sdk/python/plexichat_plugin_sdk/_yaml.py,
 * used when pytest runs without the CLI) and the CLI's manifest parser (what
 * `validate` and `test` use) agree on a shared corpus of manifests
 * (test/unit/sdk-python/yaml-corpus/, plus the project's fixture manifests and
 * the runbook's):
 *
 * - valid/: both read it, to the same data;
 * - invalid/: both refuse it, naming the same line;
 * - beyond-subset/: valid YAML the SDK's reader does not handle: the CLI reads
 *   it, the SDK refuses it with a line number (never reads it differently).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/core/manifest/index.js';
import { findPython } from '../../src/python/discover.js';
import { sdkPythonPath } from '../../src/python/pytest.js';

const CORPUS = fileURLToPath(new URL('./sdk-python/yaml-corpus/', import.meta.url));
const EXTRA_VALID = [
  fileURLToPath(new URL('../../../shared/reference/runbook-plugin/config/plugin.yaml', import.meta.url)),
  fileURLToPath(new URL('../fixtures/plugins/runbook-analytics/config/plugin.yaml', import.meta.url)),
];

const READ = `
import json, sys
from plexichat_plugin_sdk.manifest import ManifestError, load_manifest_file
out = {}
for path in sys.argv[1:]:
    try:
        out[path] = {"data": load_manifest_file(path)}
    except ManifestError as e:
        out[path] = {"line": e.line, "message": str(e)}
print(json.dumps(out))
`;

type SdkResult = { data?: unknown; line?: number | null; message?: string };
let sdk: Record<string, SdkResult> = {};
const files: Record<'valid' | 'invalid' | 'beyond-subset', string[]> = { valid: [], invalid: [], 'beyond-subset': [] };

beforeAll(async () => {
  for (const kind of Object.keys(files) as (keyof typeof files)[]) {
    files[kind] = (await fs.readdir(path.join(CORPUS, kind))).sort().map((f) => path.join(CORPUS, kind, f));
  }
  files.valid.push(...EXTRA_VALID);
  const found = await findPython({ env: process.env });
  if (!found.ok) throw new Error('this test needs python3 on PATH');
  const all = Object.values(files).flat();
  const r = spawnSync(found.python.path, ['-c', READ, ...all], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: sdkPythonPath(), PYTHONDONTWRITEBYTECODE: '1' },
    timeout: 30_000,
  });
  expect(r.status, r.stderr).toBe(0);
  sdk = JSON.parse(r.stdout) as Record<string, SdkResult>;
});

async function cli(file: string) {
  return parseManifest(await fs.readFile(file), path.basename(file));
}

describe('the SDK YAML reader and the CLI parser agree on the shared corpus', () => {
  it('has cases of every kind, among them the six inputs the SDK used to accept', () => {
    expect(files.valid.length).toBeGreaterThanOrEqual(5);
    const names = files.invalid.map((f) => path.basename(f, '.yaml'));
    for (const n of ['nested-mapping-in-value', 'reserved-at', 'reserved-backquote', 'value-ending-in-colon', 'list-on-key-line', 'dash-on-key-line']) {
      expect(names).toContain(n);
    }
    expect(files['beyond-subset'].length).toBeGreaterThanOrEqual(5);
  });

  it('valid: both read the same data', async () => {
    for (const file of files.valid) {
      const c = await cli(file);
      expect(c.diagnostics.filter((d) => d.severity === 'error'), file).toEqual([]);
      expect(sdk[file].message, file).toBeUndefined();
      expect(sdk[file].data, file).toEqual(c.data);
    }
  });

  it('invalid: both refuse, at the same line', async () => {
    for (const file of files.invalid) {
      const c = await cli(file);
      expect(c.data, file).toBeUndefined();
      const line = c.diagnostics[0].line;
      expect(sdk[file].data, file).toBeUndefined();
      if (line !== undefined && path.basename(file) !== 'not-a-mapping.yaml') expect(sdk[file].line, file).toBe(line);
      expect(sdk[file].message, file).toContain(path.basename(file));
    }
  });

  it('beyond the subset: the CLI reads it, the SDK refuses it with a line and says to use test', async () => {
    for (const file of files['beyond-subset']) {
      expect((await cli(file)).data, file).toBeDefined();
      expect(sdk[file].data, file).toBeUndefined();
      expect(sdk[file].line, file).toBeGreaterThan(0);
      expect(sdk[file].message, file).toContain('plexichat-plugin-cli test');
    }
  });
});
