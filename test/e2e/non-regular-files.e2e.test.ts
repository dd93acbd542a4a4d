/**
 * Project files that are not regular files (FIFOs here; devices and sockets
 * take the same path): refused before a byte is read, one line, exit 1, in
 * every command that reads them. Spawned with a timeout, so a regression
 * that hangs fails instead of blocking the suite.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasStackTrace, runCli } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

async function project(): Promise<string> {
  const dir = path.join(await tempDir(), 'p');
  expect((await runMain(['init', dir, '--name', 'demo_plugin', '--category', 'utility', '--yes'])).exitCode).toBe(0);
  return dir;
}

async function fifo(file: string): Promise<void> {
  await fs.rm(file, { force: true });
  await execa('mkfifo', [file]);
}

describe('non-regular project files', () => {
  it('config/plugin.yaml as a FIFO: validate, build, test, prepare each refuse it at once', async () => {
    const dir = await project();
    await fifo(path.join(dir, 'config', 'plugin.yaml'));
    for (const args of [['validate'], ['build'], ['test'], ['marketplace', 'prepare'], ['build', '--dry-run']]) {
      const r = await runCli(args, { cwd: dir, timeout: 20_000 });
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/config\/plugin\.yaml is a named pipe \(FIFO\), not a regular file/);
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
  });

  it('.pluginignore and docs/README.md as FIFOs are refused; a FIFO in src/ is skipped with a warning', async () => {
    const dir = await project();
    await fifo(path.join(dir, '.pluginignore'));
    const ig = await runCli(['build'], { cwd: dir, timeout: 20_000 });
    expect(ig.exitCode).toBe(1);
    expect(ig.stderr).toMatch(/\.pluginignore is a named pipe/);
    await fs.rm(path.join(dir, '.pluginignore'));

    await fifo(path.join(dir, 'src', 'pipe.py'));
    const v = await runCli(['validate'], { cwd: dir, timeout: 20_000 });
    expect(v.exitCode, v.stderr).toBe(0);
    const b = await runCli(['build'], { cwd: dir, timeout: 20_000 });
    expect(b.exitCode, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/skipped src\/pipe\.py: not a regular file/);
    await fs.rm(path.join(dir, 'src', 'pipe.py'));

    await fifo(path.join(dir, 'docs', 'README.md'));
    const p = await runCli(['marketplace', 'prepare'], { cwd: dir, timeout: 20_000 });
    expect(p.exitCode).toBe(1);
    expect(p.stderr).toMatch(/README\.md is a named pipe/);
  });

  it('a device as the manifest (/dev/zero through a symlink) is refused, not read forever', async () => {
    const dir = await project();
    await fs.rm(path.join(dir, 'config', 'plugin.yaml'));
    await fs.symlink('/dev/zero', path.join(dir, 'config', 'plugin.yaml'));
    const r = await runCli(['validate'], { cwd: dir, timeout: 20_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/is a device, not a regular file/);
  });
});
