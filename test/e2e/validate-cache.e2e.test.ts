import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { findPython } from '../../src/python/discover.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

const YAML = `plugin:
  name: "cached_plugin"
  version: "1.0.0"
  author: "Ada"
  description: "Cache test"
metadata:
  category: "utility"
hooks:
  - message_sent
`;
const PY = `from plexichat_plugin_sdk import Plugin, hook


class CachedPlugin(Plugin):
    @hook('message_sent')
    def on_message(self, data):
        return data
`;

/** A python3 wrapper that logs every start, so a test can count interpreter runs. */
async function countingPython(dir: string): Promise<{ python: string; runs: () => Promise<number> }> {
  const found = await findPython({ env: process.env });
  if (!found.ok) throw new Error('these tests need python3 on PATH');
  const log = path.join(dir, 'runs.log');
  const python = path.join(dir, 'python3');
  await fs.writeFile(python, `#!/bin/sh\necho run >> "${log}"\nexec "${found.python.path}" "$@"\n`, { mode: 0o755 });
  return { python, runs: async () => (await fs.readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean).length };
}

describe('the code-scan cache', () => {
  it('a second validate with no module changed starts no Python; a change is seen at once', async () => {
    const tools = await tempDir();
    const { python, runs } = await countingPython(tools);
    const dir = await tempDir({ config: { 'plugin.yaml': YAML }, src: { 'plugin.py': PY } });
    const env = { PLEXICHAT_PYTHON: python, PLEXICHAT_CACHE_DIR: path.join(tools, 'cache') };

    expect((await runMain(['validate'], { cwd: dir, env })).exitCode).toBe(0);
    expect((await runMain(['validate'], { cwd: dir, env })).exitCode).toBe(0);
    expect(await runs()).toBe(1);

    await fs.appendFile(path.join(dir, 'src/plugin.py'), "\n    @hook('user_login')\n    def on_login(self, data):\n        pass\n");
    const r = await runMain(['--json', 'validate'], { cwd: dir, env });
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout).errors[0]).toMatchObject({ code: 'UNDECLARED_HOOK', file: 'src/plugin.py' });
    expect(await runs()).toBe(2);

    await fs.writeFile(path.join(dir, 'src/extra.py'), '');
    await runMain(['validate'], { cwd: dir, env });
    expect(await runs()).toBe(3);
  });

  it('is keyed on content: an in-place edit that keeps the size and restores the modification time is seen', async () => {
    const tools = await tempDir();
    const { python, runs } = await countingPython(tools);
    const dir = await tempDir({ config: { 'plugin.yaml': YAML }, src: { 'plugin.py': PY, 'other.py': '# nothing\n' } });
    const env = { PLEXICHAT_PYTHON: python, PLEXICHAT_CACHE_DIR: path.join(tools, 'cache') };
    const file = path.join(dir, 'src/plugin.py');
    expect((await runMain(['validate'], { cwd: dir, env })).exitCode).toBe(0);

    // same length ('message_sent' and 'channel_join' are both 12 characters), same mtime and atime
    const before = await fs.stat(file, { bigint: true });
    await execa('touch', ['-r', file, path.join(tools, 'stamp')]); // keeps the nanoseconds
    const edited = PY.replace("@hook('message_sent')", "@hook('channel_join')");
    expect(edited.length).toBe(PY.length);
    const fd = await fs.open(file, 'r+');
    await fd.write(edited, 0, 'utf8');
    await fd.close();
    await execa('touch', ['-r', path.join(tools, 'stamp'), file]);
    const after = await fs.stat(file, { bigint: true });
    expect([after.size, after.mtimeNs, after.ino]).toEqual([before.size, before.mtimeNs, before.ino]);

    const r = await runMain(['--json', 'validate'], { cwd: dir, env });
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout).errors[0]).toMatchObject({ code: 'UNDECLARED_HOOK', file: 'src/plugin.py' });
    expect(await runs()).toBe(2);
    // and a file .pluginignore drops is not part of the key: editing it starts no Python
    await fs.writeFile(path.join(dir, '.pluginignore'), 'src/other.py\n');
    await runMain(['validate'], { cwd: dir, env });
    expect(await runs()).toBe(3);
    await fs.writeFile(path.join(dir, 'src/other.py'), '# changed\n');
    await runMain(['validate'], { cwd: dir, env });
    expect(await runs()).toBe(3);
  });

  it('PLEXICHAT_CACHE_DIR=off runs the scan every time', async () => {
    const tools = await tempDir();
    const { python, runs } = await countingPython(tools);
    const dir = await tempDir({ config: { 'plugin.yaml': YAML }, src: { 'plugin.py': PY } });
    const env = { PLEXICHAT_PYTHON: python, PLEXICHAT_CACHE_DIR: 'off' };
    await runMain(['validate'], { cwd: dir, env });
    await runMain(['validate'], { cwd: dir, env });
    expect(await runs()).toBe(2);
  });
});
