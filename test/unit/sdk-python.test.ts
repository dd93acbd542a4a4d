/**
 * The Python SDK's own tests (test/unit/sdk-python/*.py), run with real
 * pytest. Without a Python that has pytest this fails loudly; .ci/run
 * installs python3-pytest.
 */
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { findPython } from '../../src/python/discover.js';

const DIR = fileURLToPath(new URL('./sdk-python/', import.meta.url));

describe('plexichat_plugin_sdk (Python)', () => {
  it('passes its pytest suite', async () => {
    const found = await findPython({ env: process.env, wantPytest: true });
    if (!found.ok || !found.python.pytest) {
      throw new Error('the SDK tests need Python 3 with pytest: sudo apt-get install -y python3-pytest');
    }
    const r = await execa(found.python.path, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', DIR], {
      cwd: DIR,
      reject: false,
      env: { PYTHONDONTWRITEBYTECODE: '1', PLEXICHAT_PLUGIN_MANIFEST_JSON: undefined },
      timeout: 60_000,
    });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/\d+ passed/);
  });
});
