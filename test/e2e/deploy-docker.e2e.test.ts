/**
 * Optional: build the rendered Dockerfile with a real docker daemon. This
 * is the one test that may be skipped, and only when `docker info` fails
 * (no daemon on this machine); its title says so.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-project.js';
import { FIXTURES } from './deploy-helpers.js';

const info = await execa('docker', ['info'], { reject: false, timeout: 20_000 }).catch((e: Error) => ({ exitCode: -1, stderr: e.message }));
const why =
  info.exitCode === 0
    ? ''
    : ` (skipped: no docker daemon, \`docker info\` failed: ${String(info.stderr).split('\n').filter(Boolean).pop() ?? 'docker not found'})`;

describe('deploy render with docker', () => {
  it.skipIf(info.exitCode !== 0)(
    `docker build of the rendered Dockerfile gives a non-root image with the SDK host${why}`,
    async () => {
      const root = await tempDir();
      const project = path.join(root, 'plugin');
      await fs.cp(path.join(FIXTURES, 'plugin'), project, { recursive: true });
      expect((await runCli(['deploy', 'render'], { cwd: project })).exitCode).toBe(0);
      const tag = `pxp-deploy-test:${process.pid}`;
      const build = await execa('docker', ['build', '-t', tag, '.'], { cwd: project, reject: false, timeout: 600_000 });
      expect(build.exitCode, build.stderr).toBe(0);
      try {
        const user = await execa('docker', ['image', 'inspect', '-f', '{{.Config.User}}', tag]);
        expect(user.stdout.trim()).toBe('10001:10001');
        const ls = await execa('docker', [
          'run',
          '--rm',
          '--entrypoint',
          'python3',
          tag,
          '-c',
          'import os, plexichat_plugin_sdk.host; print(sorted(os.listdir(".")))',
        ]);
        expect(ls.stdout).toContain("'config', 'src'");
        expect(ls.stdout).not.toContain('Dockerfile');
      } finally {
        await execa('docker', ['image', 'rm', '-f', tag], { reject: false });
      }
    },
    900_000,
  );
});
