/**
 * README.md's "A plugin's life" block, run as written: the runbook's command
 * lines from an empty folder to a published version, against the development
 * marketplace the block starts. The block is read from the README, so the
 * README cannot drift from what runs.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bashBlock, cliPath } from '../helpers/doc-blocks.js';
import { tempDir } from '../helpers/temp-project.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

describe("README: A plugin's life", () => {
  it('runs verbatim from an empty folder to a published version', async () => {
    const script = await bashBlock(README, "## A plugin's life");
    expect(script).toMatch(/marketplace serve/);
    expect(script).toMatch(/marketplace login/);
    expect(script).toMatch(/marketplace review/);
    const root = await tempDir();
    const home = await tempDir();
    const child = execa('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: root,
      env: {
        PATH: await cliPath(),
        HOME: home,
        XDG_CONFIG_HOME: path.join(home, '.config'),
        XDG_DATA_HOME: path.join(home, '.local/share'),
        NO_COLOR: '1',
        CI: '1',
        PLEXICHAT_TOKEN: undefined,
        PLEXICHAT_MARKETPLACE_URL: undefined,
      },
      reject: false,
      detached: true,
      timeout: 600_000,
    });
    let r;
    try {
      r = await child;
    } finally {
      // The block stops its server itself; if it failed before that, stop everything it started.
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/published/i);
    expect(await fs.readdir(path.join(root, 'plugins/advanced_analytics/dist'))).toContain('advanced_analytics-0.1.0.zip');
  }, 660_000);
});
