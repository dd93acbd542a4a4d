/**
 * The CLI shell as a real process: what only the bin's start-up sees. Help,
 * version, usage errors, colours and verbosity run through `main` in
 * test/fast/cli.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { BIN, hasStackTrace } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-project.js';

describe('the bin', () => {
  it('a deleted working directory is a clean usage error', async () => {
    const dir = await tempDir();
    // the shell cds into dir, removes it, then starts the CLI there
    const r = await execa('sh', ['-c', `cd "${dir}" && rmdir "${dir}" && "${process.execPath}" "${BIN}" validate`], {
      reject: false,
      env: { NO_COLOR: '1', CI: '1' },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('the current directory no longer exists');
    expect(hasStackTrace(r.stderr)).toBe(false);
  });
});
