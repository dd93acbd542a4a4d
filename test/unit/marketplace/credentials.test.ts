import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { redact } from '../../../src/io/redact.js';
import { findToken, removeToken, requireToken, saveToken } from '../../../src/marketplace/credentials.js';
import { tempDir } from '../../helpers/temp-project.js';

const URL_A = 'http://127.0.0.1:1111';
const URL_B = 'http://127.0.0.1:2222';

describe('credentials file', () => {
  it('saves 0600 in a 0700 dir, scoped to the marketplace URL', async () => {
    const home = await tempDir();
    const env = { XDG_CONFIG_HOME: home };
    const file = await saveToken(env, URL_A, { token: 'pcx_tokenA123', user: 'dev-1' });
    expect(file).toBe(path.join(home, 'plexichat-plugin', 'credentials.json'));
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect(await findToken(env, URL_A)).toMatchObject({ token: 'pcx_tokenA123', source: 'file' });
    expect(await findToken(env, URL_B)).toBeUndefined();
    // no temp files left next to it
    expect(await fs.readdir(path.dirname(file))).toEqual(['credentials.json']);
  });

  it('PLEXICHAT_TOKEN wins over the file and is registered for redaction', async () => {
    const home = await tempDir();
    await saveToken({ XDG_CONFIG_HOME: home }, URL_A, { token: 'fromfile-xyz1' });
    const t = await findToken({ XDG_CONFIG_HOME: home, PLEXICHAT_TOKEN: 'envtoken-abc9' }, URL_A);
    expect(t).toEqual({ token: 'envtoken-abc9', source: 'env' });
    expect(redact('x envtoken-abc9 y')).toBe('x [redacted] y');
  });

  it('no token → exit 4 with the login hint', async () => {
    const home = await tempDir();
    await expect(requireToken({ XDG_CONFIG_HOME: home }, URL_A)).rejects.toMatchObject({
      exitCode: 4,
      hint: expect.stringMatching(/marketplace login.*PLEXICHAT_TOKEN/),
    });
  });

  it('a corrupt file → "cannot parse <path>", exit 4; logout removes it', async () => {
    const home = await tempDir({ 'plexichat-plugin': { 'credentials.json': '{"tokens": ' } });
    const env = { XDG_CONFIG_HOME: home };
    const file = path.join(home, 'plexichat-plugin', 'credentials.json');
    await expect(findToken(env, URL_A)).rejects.toMatchObject({ exitCode: 4, message: `cannot parse ${file}` });
    expect(await removeToken(env, URL_A)).toEqual({ removed: true, file });
    await expect(fs.stat(file)).rejects.toThrow();
  });

  it('a looser existing file is tightened to 0600', async () => {
    const home = await tempDir();
    const env = { XDG_CONFIG_HOME: home };
    const file = await saveToken(env, URL_A, { token: 'pcx_loose1234' });
    await fs.chmod(file, 0o644);
    await findToken(env, URL_A);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
  });

  it('removes one marketplace and keeps the others', async () => {
    const home = await tempDir();
    const env = { XDG_CONFIG_HOME: home };
    await saveToken(env, URL_A, { token: 'tok-aaaa' });
    await saveToken(env, URL_B, { token: 'tok-bbbb' });
    expect((await removeToken(env, URL_A)).removed).toBe(true);
    expect(await findToken(env, URL_A)).toBeUndefined();
    expect(await findToken(env, URL_B)).toMatchObject({ token: 'tok-bbbb' });
    expect((await removeToken(env, URL_A)).removed).toBe(false);
  });

  it('parallel saves never tear the file', async () => {
    const home = await tempDir();
    const env = { XDG_CONFIG_HOME: home };
    await Promise.all(Array.from({ length: 10 }, (_, i) => saveToken(env, URL_A, { token: `tok-${i}-zzzz` })));
    const t = await findToken(env, URL_A);
    expect(t?.token).toMatch(/^tok-\d-zzzz$/);
    expect(await fs.readdir(path.join(home, 'plexichat-plugin'))).toEqual(['credentials.json']);
  });
});
