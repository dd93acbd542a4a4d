/**
 * Named marketplaces (--target): two development marketplaces on loopback,
 * named in plexichat-workspace.yaml and in the user's config.json; each
 * command goes to the one named, with that one's token, never another's.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../helpers/dev-server.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { isolatedEnv } from './marketplace-helpers.js';

let staging!: DevServer;
let dev!: DevServer;

beforeAll(async () => {
  [staging, dev] = await Promise.all([startDevServer(), startDevServer()]);
});
afterAll(async () => {
  await Promise.all([staging?.stop(), dev?.stop()]);
});

async function workspace(targets: string): Promise<string> {
  return tempDir({ 'plexichat-workspace.yaml': `plugins: [plugins/*]\ntargets:\n${targets}` }, 'pxp-wst-');
}

const whoami = async (cwd: string, env: Record<string, string | undefined>, ...args: string[]) =>
  runMain(['--json', 'marketplace', 'whoami', ...args], { cwd, env });

describe('--target', () => {
  it('sends to the marketplace named, with the token its variable holds', async () => {
    const dir = await workspace(`  staging:\n    url: ${staging.url}\n    token-env: STAGING_TOKEN\n  dev:\n    url: ${dev.url}\n    token-env: DEV_TOKEN\n`);
    const env = await isolatedEnv({ STAGING_TOKEN: staging.developer, DEV_TOKEN: dev.developer2 });
    const before = { staging: staging.requests.length, dev: dev.requests.length };
    const r = await whoami(dir, env, '--target', 'staging');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ marketplace: staging.url, role: 'developer', tokenSource: 'STAGING_TOKEN' });
    expect(staging.requests.length).toBeGreaterThan(before.staging);
    expect(dev.requests.length).toBe(before.dev);
    const d = await whoami(path.join(dir), env, '--target', 'dev');
    expect(JSON.parse(d.stdout)).toMatchObject({ marketplace: dev.url, tokenSource: 'DEV_TOKEN' });
    expect(r.stdout + r.stderr + d.stdout + d.stderr).not.toContain(staging.developer);
  });

  it('a target in the user config wins over the workspace file, and works outside a workspace', async () => {
    const dir = await workspace(`  staging:\n    url: ${dev.url}\n    token-env: DEV_TOKEN\n`);
    const env = await isolatedEnv({ STAGING_TOKEN: staging.developer, DEV_TOKEN: dev.developer });
    const cfg = path.join(env.XDG_CONFIG_HOME!, 'plexichat-plugin');
    await fs.mkdir(cfg, { recursive: true });
    await fs.writeFile(path.join(cfg, 'config.json'), JSON.stringify({ targets: { staging: { url: staging.url, 'token-env': 'STAGING_TOKEN' } } }));
    expect(JSON.parse((await whoami(dir, env, '--target', 'staging')).stdout)).toMatchObject({ marketplace: staging.url });
    const outside = await tempDir({}, 'pxp-wst-');
    expect(JSON.parse((await whoami(outside, env, '--target', 'staging')).stdout)).toMatchObject({ marketplace: staging.url });
  });

  it('without token-env: the stored login of its URL (marketplace login --target), never PLEXICHAT_TOKEN', async () => {
    const dir = await workspace(`  staging:\n    url: ${staging.url}\n`);
    const env = await isolatedEnv({ PLEXICHAT_TOKEN: dev.developer });
    const none = await whoami(dir, env, '--target', 'staging');
    expect(none.exitCode).toBe(4);
    expect(JSON.parse(none.stdout).error.message).toMatch(/no token for target staging: not logged in to/);
    const login = await runMain(['marketplace', 'login', '--target', 'staging', '--token-stdin'], { cwd: dir, env, input: `${staging.developer}\n` });
    expect(login.exitCode, login.stderr).toBe(0);
    const r = await whoami(dir, env, '--target', 'staging');
    expect(JSON.parse(r.stdout)).toMatchObject({ marketplace: staging.url, tokenSource: 'credentials file' });
  });

  const refusals: [string, string, string[], Record<string, string>, number, RegExp][] = [
    [
      'an unknown name',
      '  staging:\n    url: http://127.0.0.1:9\n',
      ['--target', 'stagin'],
      {},
      2,
      /--target stagin: no such marketplace target \(did you mean 'staging'\?\)/,
    ],
    [
      '--target and --marketplace',
      '  staging:\n    url: http://127.0.0.1:9\n',
      ['--target', 'staging', '--marketplace', 'http://127.0.0.1:9'],
      {},
      2,
      /--marketplace and --target name two marketplaces/,
    ],
    [
      'its variable unset',
      '  staging:\n    url: http://127.0.0.1:9\n    token-env: STAGING_TOKEN\n',
      ['--target', 'staging'],
      {},
      4,
      /no token for target staging: STAGING_TOKEN is not set/,
    ],
    [
      'plain http to another host',
      '  prod:\n    url: http://marketplace.example\n    token-env: T\n',
      ['--target', 'prod'],
      { T: 'x' },
      2,
      /refusing to send a token over plain http/,
    ],
    [
      'a token in the workspace file',
      '  prod:\n    url: https://m.example\n    token: abc\n',
      ['--target', 'prod'],
      {},
      2,
      /a token in plexichat-workspace\.yaml is refused/,
    ],
  ];
  for (const [what, targets, args, extra, code, message] of refusals) {
    it(`refuses ${what} (exit ${code})`, async () => {
      const dir = await workspace(targets);
      const r = await whoami(dir, await isolatedEnv(extra), ...args);
      expect(r.exitCode, r.stdout).toBe(code);
      expect(JSON.parse(r.stdout).error.message).toMatch(message);
    });
  }

  it('a token in the user config is refused', async () => {
    const env = await isolatedEnv();
    const cfg = path.join(env.XDG_CONFIG_HOME!, 'plexichat-plugin');
    await fs.mkdir(cfg, { recursive: true });
    await fs.writeFile(path.join(cfg, 'config.json'), JSON.stringify({ targets: { prod: { url: staging.url, token: 'abc' } } }));
    const r = await whoami(await tempDir({}, 'pxp-wst-'), env, '--target', 'prod');
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toMatch(/targets\.prod: put the token in the credentials file/);
  });
});
