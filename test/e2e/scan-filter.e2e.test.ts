/**
 * The scanner's text filter (src/python/scan.py): a module whose only
 * contact with the SDK is importing names it never calls, decorates with,
 * re-assigns or reaches into is not parsed, yet a name resolved through it
 * (a re-export) is still followed, and every form that can register
 * something is still read. Runs the real scan.py with python3.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-project.js';

const SCAN = fileURLToPath(new URL('../../src/python/scan.py', import.meta.url));

interface ScanOut {
  uses: { kind: string; value: string; file: string }[];
  parsed: number;
  files: number;
}

async function scan(tree: Record<string, string>): Promise<ScanOut> {
  const dir = await tempDir({}, 'pxp-scanfilter-');
  const files: [string, string][] = [];
  for (const [rel, text] of Object.entries(tree)) {
    const abs = path.join(dir, rel);
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await fs.writeFile(abs, text);
    files.push([rel, abs]);
  }
  const r = await execa('python3', ['-I', SCAN, '3.8'], { input: JSON.stringify({ files }) });
  return JSON.parse(r.stdout) as ScanOut;
}

const PLUGIN = 'from plexichat_plugin_sdk import Plugin, hook\n\n\nclass P(Plugin):\n    @hook("message_sent")\n    def on(self, e):\n        return None\n';
/** A module that imports the SDK's names and uses the same words as its own variables (what bench/build.mjs generates). */
const PLAIN =
  'from plexichat_plugin_sdk import Plugin, hook\n\n\ndef hook_value_1(hook, endpoint_3):\n    hook = endpoint_3.get("hook_x", 1)\n    if hook > 2:\n        return {"hook": hook}\n    return hook.get(1)\n';

describe('the scanner parses only what can register something', () => {
  it('modules that only import the SDK are not parsed', async () => {
    const tree: Record<string, string> = { 'src/plugin.py': PLUGIN };
    for (let i = 0; i < 20; i++) tree[`src/lib/mod_${i}.py`] = PLAIN;
    const out = await scan(tree);
    expect(out.files).toBe(21);
    expect(out.parsed).toBe(1);
    expect(out.uses.map((u) => `${u.kind} ${u.value} ${u.file}`)).toEqual(['hook message_sent src/plugin.py']);
  });

  it.each([
    ['an alias', 'from plexichat_plugin_sdk import hook\nh = hook\nh("user_joined")(print)\n'],
    ['the call form', 'from plexichat_plugin_sdk import hook\nhook("user_joined")(print)\n'],
    ['a module alias', 'import plexichat_plugin_sdk as sdk\nsdk.hook("user_joined")(print)\n'],
    ['a parenthesised import and the call form', 'from plexichat_plugin_sdk import (\n    Plugin,\n    hook as h,\n)\nh("user_joined")(print)\n'],
    ['a decorator built once', 'from plexichat_plugin_sdk import hook\nj = hook("user_joined")\nj(print)\n'],
    ['getattr', 'import plexichat_plugin_sdk as sdk\ngetattr(sdk, "hook")("user_joined")(print)\n'],
  ])('%s is still read', async (_what, text) => {
    const out = await scan({ 'src/plugin.py': PLUGIN, 'src/feature.py': text, 'src/lib/plain.py': PLAIN });
    expect(out.uses.map((u) => `${u.kind} ${u.value}`)).toContain('hook user_joined');
    expect(out.parsed).toBe(2);
  });

  it('a re-export through a module that only imports the SDK is followed', async () => {
    const out = await scan({
      'src/plugin.py': PLUGIN,
      'src/deco.py': 'from plexichat_plugin_sdk import hook\n',
      'src/feature.py': 'from .deco import hook as on\non("user_joined")(print)\n',
      'src/other.py': 'from .deco import hook\n\n\n@hook("user_left")\ndef bye(e):\n    return None\n',
    });
    expect(out.uses.map((u) => `${u.kind} ${u.value} ${u.file}`).sort()).toEqual([
      'hook message_sent src/plugin.py',
      'hook user_joined src/feature.py',
      'hook user_left src/other.py',
    ]);
  });
});
