/**
 * The npm package as a user installs it: `npm pack`, then `npm install -g`
 * of the tarball into a temp prefix, then the two program names from PATH in
 * a folder outside the checkout: init → validate → test → build, with the
 * bundled SDK and templates found and no development dependency installed.
 *
 * The install runs with --offline: the tarball's npm-shrinkwrap.json (written
 * by prepack, scripts/shrinkwrap.mjs) pins what package-lock.json pins, which
 * `npm ci` has put in the npm cache. Where the cache lacks them the test is
 * skipped saying so (and fails under CI).
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeShrinkwrap } from '../../scripts/shrinkwrap.mjs'; // the step prepack runs
import { skipOrFail } from '../helpers/requires.js';
import { tempDir } from '../helpers/temp-project.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('npm pack + npm install -g', () => {
  it('the tarball installs into a prefix and runs init → validate → test → build from PATH, anywhere', async (ctx) => {
    const work = await tempDir();
    // The build is done (pretest); prepack's other step, the shrinkwrap, is applied to an unpacked copy, so the
    // suite neither rebuilds dist/ under other tests nor writes into the checkout.
    const packed = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, env: { npm_config_loglevel: 'error' } });
    const first = path.join(work, (JSON.parse(packed.stdout) as { filename: string }[])[0].filename);
    await execa('tar', ['xzf', first, '-C', work]);
    const pkg = path.join(work, 'package');
    writeShrinkwrap(pkg);
    await fs.rm(first);
    const repacked = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: pkg,
      env: { npm_config_loglevel: 'error' },
    });
    const tarball = path.join(work, (JSON.parse(repacked.stdout) as { filename: string; files: { path: string }[] }[])[0].filename);
    const listed = (JSON.parse(repacked.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
    for (const f of [
      'npm-shrinkwrap.json',
      'bin/plexichat-plugin.js',
      'bin/plexichat-plugin-cli.js',
      'dist/cli/main.js',
      'sdk/python/plexichat_plugin_sdk/__init__.py',
      'templates/minimal/tox.ini',
      'templates/minimal/_gitignore',
    ]) {
      expect(listed, f).toContain(f);
    }
    expect(listed.filter((f) => /^(test|src|bench)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);

    const prefix = path.join(work, 'prefix');
    const install = await execa(
      'npm',
      ['install', '-g', '--offline', '--omit=optional', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', prefix, tarball],
      { cwd: work, reject: false, timeout: 900_000 },
    );
    if (install.exitCode !== 0 && /ENOTCACHED/.test(install.stderr)) {
      skipOrFail(ctx, "needs the CLI's dependencies in the npm cache (npm ci fills it)");
    }
    expect(install.exitCode, install.stderr).toBe(0);
    const installed = path.join(prefix, 'lib', 'node_modules', 'plexichat-plugin-cli');
    const deps = await fs.readdir(path.join(installed, 'node_modules'));
    for (const dev of ['typescript', 'vitest', 'execa', 'ajv', 'playwright-core', 'kubernetes-models']) expect(deps, dev).not.toContain(dev);

    // Only the prefix's bin, node and the system on PATH; a folder far from the checkout.
    const env = {
      PATH: [path.join(prefix, 'bin'), path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter),
      NO_COLOR: '1',
      CI: '1',
      PLEXICHAT_CACHE_DIR: 'off',
    };
    const run = (cmd: string, args: string[], cwd: string) => execa(cmd, args, { cwd, env, reject: false, timeout: 300_000 });
    const home = await tempDir();
    const version = await run('plexichat-plugin-cli', ['--version'], home);
    expect(version.exitCode, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')).version);
    const init = await run('plexichat-plugin', ['init', 'greeter', '--name', 'greeter', '--category', 'utility'], home);
    expect(init.exitCode, init.stderr).toBe(0);
    const dir = path.join(home, 'greeter');
    for (const [cmd, args] of [
      ['plexichat-plugin-cli', ['validate']],
      ['plexichat-plugin-cli', ['test']],
      ['plexichat-plugin', ['build']],
    ] as const) {
      const r = await run(cmd, [...args], dir);
      expect(r.exitCode, `${cmd} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
    }
    expect(await fs.readdir(path.join(dir, 'dist'))).toContain('greeter-0.1.0.zip');
  }, 1_200_000);
});
