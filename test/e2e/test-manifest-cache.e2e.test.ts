/**
 * `test` remembers a manifest it parsed, keyed on the file's bytes (and the
 * CLI's version), so a warm run does not load the YAML parser; any change to
 * the file, a broken cache entry or PLEXICHAT_CACHE_DIR=off parses again,
 * and a manifest that no longer parses is refused, never served from cache.
 * The CLI runs as a real process with a module hook recording what it loads.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN } from '../helpers/run-cli.js';
import { loadedModules, loadHookArg } from '../helpers/load-hook.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

const PARSER = 'dist/core/manifest/index.js';
/** A minimal plugin whose test asserts the greeting the SDK read from the manifest. */
async function project(): Promise<{ dir: string; cache: string }> {
  const root = await tempDir();
  const dir = path.join(root, 'cached_plugin');
  const r = await runMain(['init', dir, '--name', 'cached_plugin', '--category', 'utility', '--template', 'minimal']);
  expect(r.exitCode, r.stderr).toBe(0);
  await setGreeting(dir, 'Hello');
  return { dir, cache: path.join(root, 'cache') };
}

async function setGreeting(dir: string, greeting: string): Promise<void> {
  const file = path.join(dir, 'config/plugin.yaml');
  await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace(/greeting: .*/, `greeting: "${greeting}"`));
  await fs.writeFile(
    path.join(dir, 'tests/test_greeting.py'),
    `from plexichat_plugin_sdk import load_manifest\n\ndef test_greeting():\n    assert load_manifest()["settings"]["greeting"] == ${JSON.stringify(greeting)}\n`,
  );
}

async function test(dir: string, cache: string): Promise<{ exitCode: number; parsed: boolean; stderr: string; stdout: string }> {
  const r = await execa(process.execPath, ['--import', await loadHookArg(), BIN, '--json', 'test', '--', '-q', 'tests/test_greeting.py'], {
    cwd: dir,
    reject: false,
    env: { NO_COLOR: '1', CI: '1', PLEXICHAT_CACHE_DIR: cache },
  });
  const stderr = String(r.stderr);
  return { exitCode: r.exitCode ?? -1, parsed: loadedModules(stderr).includes(PARSER), stderr, stdout: String(r.stdout) };
}

const entries = async (cache: string) => (await fs.readdir(cache).catch(() => [])).filter((f) => f.startsWith('manifest-'));

describe('test: the parsed manifest is remembered by its bytes', () => {
  it('a warm run does not load the parser; an edit of the same size is seen at once', async () => {
    const { dir, cache } = await project();
    const cold = await test(dir, cache);
    expect(cold.exitCode, cold.stderr).toBe(0);
    expect(cold.parsed).toBe(true);
    expect(await entries(cache)).toHaveLength(1);

    const warm = await test(dir, cache);
    expect(warm.exitCode, warm.stderr).toBe(0);
    expect(warm.parsed).toBe(false);
    expect(JSON.parse(warm.stdout)).toMatchObject({ passed: 1, failed: 0 });

    await setGreeting(dir, 'Howdy'); // five letters, as before: same size
    const edited = await test(dir, cache);
    expect(edited.exitCode, edited.stderr).toBe(0);
    expect(edited.parsed).toBe(true);
    expect(JSON.parse(edited.stdout)).toMatchObject({ passed: 1, failed: 0 });
  });

  it('a manifest that stops parsing is refused, not served from the cache', async () => {
    const { dir, cache } = await project();
    expect((await test(dir, cache)).exitCode).toBe(0);
    const file = path.join(dir, 'config/plugin.yaml');
    await fs.writeFile(file, `${await fs.readFile(file, 'utf8')}\nbroken: "unclosed\n`);
    const r = await test(dir, cache);
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe('MANIFEST_SYNTAX');
  });

  it('a cache entry that is not JSON, or holds a list, is a miss', async () => {
    const { dir, cache } = await project();
    expect((await test(dir, cache)).exitCode).toBe(0);
    const [entry] = await entries(cache);
    for (const junk of ['not json', '{"key": "x", "value": 1}', '[]']) {
      await fs.writeFile(path.join(cache, entry), junk);
      const r = await test(dir, cache);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.parsed).toBe(true);
    }
  });

  it('PLEXICHAT_CACHE_DIR=off parses every time and writes nothing', async () => {
    const { dir, cache } = await project();
    for (let i = 0; i < 2; i++) {
      const r = await test(dir, 'off');
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.parsed).toBe(true);
    }
    expect(await entries(cache)).toEqual([]);
  });
});
