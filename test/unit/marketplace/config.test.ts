import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../../src/errors.js';
import { configDir, normaliseMarketplaceUrl, resolveMarketplace, writeUserConfig } from '../../../src/marketplace/config.js';
import { tempDir } from '../../helpers/temp-project.js';

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('marketplace URL', () => {
  it('normalises: no trailing slash, an /api/v1 suffix is tolerated', () => {
    expect(normaliseMarketplaceUrl('http://127.0.0.1:4870/', { insecure: false, source: 'x' })).toBe('http://127.0.0.1:4870');
    expect(normaliseMarketplaceUrl('https://m.example.com/base/api/v1/', { insecure: false, source: 'x' })).toBe('https://m.example.com/base');
    expect(normaliseMarketplaceUrl('http://localhost:1', { insecure: false, source: 'x' })).toBe('http://localhost:1');
    expect(normaliseMarketplaceUrl('http://[::1]:1', { insecure: false, source: 'x' })).toBe('http://[::1]:1');
  });

  it('refuses plain http to another host unless PLEXICHAT_INSECURE opts in', () => {
    expect(usageMessage(() => normaliseMarketplaceUrl('http://m.example.com', { insecure: false, source: 'x' }))).toMatch(/plain http to m\.example\.com/);
    expect(normaliseMarketplaceUrl('http://m.example.com', { insecure: true, source: 'x' })).toBe('http://m.example.com');
  });

  it('refuses credentials in the URL and non-http schemes, without echoing the secret', () => {
    const m = usageMessage(() => normaliseMarketplaceUrl('https://bob:s3cret@m.example.com', { insecure: false, source: 'x' }));
    expect(m).not.toContain('s3cret');
    usageMessage(() => normaliseMarketplaceUrl('ftp://m.example.com', { insecure: false, source: 'x' }));
    usageMessage(() => normaliseMarketplaceUrl('not a url', { insecure: false, source: 'x' }));
  });

  it('precedence: flag, then PLEXICHAT_MARKETPLACE_URL, then config.json', async () => {
    const home = await tempDir();
    const env = { XDG_CONFIG_HOME: home, PLEXICHAT_MARKETPLACE_URL: 'http://127.0.0.1:2' };
    await writeUserConfig(env, { marketplace: 'http://127.0.0.1:3' });
    expect(await resolveMarketplace({ flag: 'http://127.0.0.1:1', env })).toEqual({ baseUrl: 'http://127.0.0.1:1', source: 'flag' });
    expect(await resolveMarketplace({ env })).toEqual({ baseUrl: 'http://127.0.0.1:2', source: 'env' });
    expect(await resolveMarketplace({ env: { XDG_CONFIG_HOME: home } })).toEqual({ baseUrl: 'http://127.0.0.1:3', source: 'config' });
    const st = await fs.stat(path.join(home, 'plexichat-plugin', 'config.json'));
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('none set → a usage error that says how to set it', async () => {
    const home = await tempDir();
    await expect(resolveMarketplace({ env: { XDG_CONFIG_HOME: home } })).rejects.toMatchObject({
      exitCode: 2,
      message: 'no marketplace URL is set',
      hint: expect.stringMatching(/--marketplace.*PLEXICHAT_MARKETPLACE_URL/),
    });
  });

  it('a corrupt config.json names the file', async () => {
    const home = await tempDir({ 'plexichat-plugin': { 'config.json': '{nope' } });
    await expect(resolveMarketplace({ env: { XDG_CONFIG_HOME: home } })).rejects.toMatchObject({
      exitCode: 2,
      message: `cannot parse ${path.join(home, 'plexichat-plugin', 'config.json')}`,
    });
  });

  it('writing the config replaces a corrupt config.json', async () => {
    const home = await tempDir({ 'plexichat-plugin': { 'config.json': '{nope' } });
    await writeUserConfig({ XDG_CONFIG_HOME: home }, { marketplace: 'http://127.0.0.1:9' });
    expect(await resolveMarketplace({ env: { XDG_CONFIG_HOME: home } })).toEqual({ baseUrl: 'http://127.0.0.1:9', source: 'config' });
  });

  it('config dir: XDG_CONFIG_HOME, then HOME/.config, else none', () => {
    expect(configDir({ XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe(path.join('/x', 'plexichat-plugin'));
    expect(configDir({ HOME: '/h' })).toBe(path.join('/h', '.config', 'plexichat-plugin'));
    expect(configDir({ XDG_CONFIG_HOME: 'relative' })).toBeUndefined();
    expect(configDir({})).toBeUndefined();
  });
});
