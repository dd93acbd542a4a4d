/**
 * docs/runbook.md's script, run as written: the runbook's plugin (its code
 * blocks as files, from ../shared) from an empty folder through init,
 * validate, test, build, deploy render and marketplace prepare, with the
 * three changes the page explains.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bashBlock, cliPath } from '../helpers/doc-blocks.js';
import { requires, RUNBOOK_PLUGIN } from '../helpers/requires.js';
import { tempDir } from '../helpers/temp-project.js';

const DOC = fileURLToPath(new URL('../../docs/runbook.md', import.meta.url));

describe('docs/runbook.md', () => {
  it("the runbook's plugin, as the page's script runs it, builds and gets a prepared listing", async (ctx) => {
    requires(ctx, 'runbook', 'psutil+cryptography');
    const script = await bashBlock(DOC, "## The runbook's plugin through this CLI, as a script");
    const root = await tempDir();
    const home = await tempDir();
    const r = await execa('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: root,
      env: {
        PATH: await cliPath(),
        HOME: home,
        XDG_CONFIG_HOME: path.join(home, '.config'),
        NO_COLOR: '1',
        CI: '1',
        RUNBOOK: RUNBOOK_PLUGIN,
        PLEXICHAT_MARKETPLACE_URL: undefined,
      },
      reject: false,
      timeout: 600_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.exitCode, out).toBe(0);
    expect(out).toMatch(/16 passed, 5 deselected/);
    const dir = path.join(root, 'plugins/advanced_analytics');
    expect(await fs.readdir(path.join(dir, 'dist'))).toEqual(expect.arrayContaining(['advanced_analytics-1.0.0.zip', 'advanced_analytics-1.0.0.listing.json']));
    expect(await fs.readdir(path.join(dir, 'k8s'))).toContain('production-deployment.yaml');
  }, 660_000);
});
