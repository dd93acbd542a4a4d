/** The plugin project the build tests start from, and small file helpers. */
import fs from 'node:fs/promises';
import type { Tree } from '../helpers/temp-project.js';
import { manifestYaml } from '../helpers/zip-fixtures.js';

export const ZIP = 'dist/demo_plugin-1.0.0.zip';
export const PLUGIN_PY = 'from plexichat_plugin_sdk import Plugin\n\n\nclass DemoPlugin(Plugin):\n    pass\n';

export function project(extra: Tree = {}): Tree {
  return {
    config: { 'plugin.yaml': manifestYaml() },
    src: { '__init__.py': '', 'plugin.py': PLUGIN_PY },
    docs: { 'README.md': '# Demo\n' },
    tests: { '__init__.py': '', 'test_plugin.py': 'def test_ok():\n    assert True\n' },
    'CHANGELOG.md': '# Changelog\n\n## 1.0.0\n- first\n',
    ...extra,
  };
}

export async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}
