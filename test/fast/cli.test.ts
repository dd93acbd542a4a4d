/**
 * The CLI shell through `main` in-process: help, version, usage errors,
 * colours and verbosity. The bin itself (a deleted working directory) is
 * in test/e2e/cli.e2e.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

describe('the CLI shell', () => {
  it('--help lists the commands and exits 0', async () => {
    const r = await runMain(['--help']);
    expect(r.exitCode).toBe(0);
    for (const c of ['init', 'validate', 'test', 'build', 'verify', 'marketplace']) expect(r.stdout).toContain(c);
  });

  it('--version prints the package version', async () => {
    const r = await runMain(['--version']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('an unknown command is a usage error (exit 2) with a suggestion', async () => {
    const r = await runMain(['valdate']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'valdate'/);
    expect(r.stderr).toMatch(/validate/);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('an unknown flag is a usage error (exit 2)', async () => {
    const r = await runMain(['validate', '--bogus']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown option '--bogus'");
    expect(r.stderr.match(/unknown option/g)).toHaveLength(1);
  });

  it('a bad flag value is a usage error (exit 2)', async () => {
    const r = await runMain(['marketplace', 'serve', '--port', 'abc']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--port/);
  });

  it('a missing flag value is a usage error (exit 2)', async () => {
    const r = await runMain(['init', '--name']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/argument missing/);
  });

  it('--json usage errors print one JSON document on stdout', async () => {
    const r = await runMain(['--json', 'frobnicate']);
    expect(r.exitCode).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.code).toBe('USAGE');
  });
});

describe('colours and verbosity', () => {
  it('FORCE_COLOR=1 colours output; NO_COLOR and --no-color do not', async () => {
    const dir = await tempDir();
    const forced = await runMain(['validate'], { cwd: dir, env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(forced.stderr).toContain('\u001b[31m');
    const plain = await runMain(['validate'], { cwd: dir, env: { NO_COLOR: '1' } });
    expect(plain.stderr).not.toContain('\u001b[');
    const flag = await runMain(['--no-color', 'validate'], { cwd: dir, env: { NO_COLOR: undefined } });
    expect(flag.stderr).not.toContain('\u001b[');
  });

  it('--verbose adds the stack trace to a user error; without it there is none', async () => {
    const dir = await tempDir();
    const quiet = await runMain(['validate'], { cwd: dir });
    expect(hasStackTrace(quiet.stderr)).toBe(false);
    const verbose = await runMain(['--verbose', 'validate'], { cwd: dir });
    expect(verbose.exitCode).toBe(1);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });
});
