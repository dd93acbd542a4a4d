/**
 * build's signature step when the .sig cannot be written: a folder in the
 * place of <archive>.sig. A signed build fails with one line and a hint and
 * takes the archive with it (never an unsigned success, never an internal
 * error); an unsigned build leaves the folder alone, as not its own.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { writeSources } from './marketplace-plugin.js';

const SIG = 'dist/sig_plugin-1.0.0.zip.sig';

/** A plugin project with a folder where build writes its signature, and a key to sign with. */
async function blocked(): Promise<{ dir: string; key: string; env: Record<string, string | undefined> }> {
  const dir = await tempDir({}, 'pxp-sigout-');
  await writeSources(dir, { name: 'sig_plugin' });
  await fs.mkdir(path.join(dir, SIG, 'inside'), { recursive: true });
  const home = await tempDir({}, 'pxp-sigout-home-');
  const env = { XDG_CONFIG_HOME: home, PLEXICHAT_SIGNING_KEY: undefined };
  const key = path.join(home, 'signing-key.pem');
  const k = await runMain(['keys', 'generate', '--out', key], { cwd: home, env });
  expect(k.exitCode, k.stderr).toBe(0);
  return { dir, key, env };
}

describe('build --sign: a folder where the .sig goes', () => {
  it('fails with the one line and hint, removes the archive and its .sha256, leaves the folder', async () => {
    const { dir, key, env } = await blocked();
    for (const json of [false, true]) {
      const r = await runMain([...(json ? ['--json'] : []), 'build', '--sign', '--key', key], { cwd: dir, env });
      expect(r.exitCode, r.stderr).toBe(1);
      expect(hasStackTrace(r.stderr), r.stderr).toBe(false);
      expect(r.stderr).not.toContain('internal error');
      const message = 'cannot write the signature sig_plugin-1.0.0.zip.sig: it is a folder, not a file (EISDIR); the archive was removed';
      if (json) expect(JSON.parse(r.stdout).error.message).toBe(message);
      else {
        expect(r.stderr.split('\n').filter((l) => l.startsWith('error: '))).toEqual([`error: ${message}`]);
        expect(r.stderr).toMatch(/hint: .*--out <dir>/);
      }
      expect(await fs.readdir(path.join(dir, 'dist'))).toEqual(['sig_plugin-1.0.0.zip.sig']);
      expect((await fs.stat(path.join(dir, SIG, 'inside'))).isDirectory()).toBe(true);
    }
  });

  it('an unsigned build succeeds and leaves the folder (it is not a stale signature)', async () => {
    const { dir, env } = await blocked();
    const r = await runMain(['build', '--no-sign'], { cwd: dir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(await fs.readdir(path.join(dir, 'dist'))).toEqual(
      ['sig_plugin-1.0.0.cdx.json', 'sig_plugin-1.0.0.zip', 'sig_plugin-1.0.0.zip.sha256', 'sig_plugin-1.0.0.zip.sig'].sort(),
    );
    expect((await fs.stat(path.join(dir, SIG, 'inside'))).isDirectory()).toBe(true);
  });
});
