/**
 * The Python SDK's own tests (test/unit/sdk-python/*.py), run with real
 * pytest, on a Python with pytest and PyYAML (the tests build manifests from
 * YAML text); without one the test is skipped naming PyYAML, or fails under CI
 * (.ci/run installs python3-pytest and python3-yaml).
 */
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { pythonWith, requires } from '../helpers/requires.js';

const DIR = fileURLToPath(new URL('./sdk-python/', import.meta.url));

describe('plexichat_plugin_sdk (Python)', () => {
  it('passes its pytest suite', async (ctx) => {
    requires(ctx, 'pyyaml');
    const r = await execa(pythonWith('pytest', 'yaml')!, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', DIR], {
      cwd: DIR,
      reject: false,
      env: { PYTHONDONTWRITEBYTECODE: '1', PLEXICHAT_PLUGIN_MANIFEST_JSON: undefined },
      timeout: 60_000,
    });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/\d+ passed/);
  });
});
