import { describe, expect, it } from 'vitest';
import { hasStackTrace, runCli } from '../helpers/run-cli.js';

describe('the CLI shell', () => {
  it('--help lists the commands and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.exitCode).toBe(0);
    for (const c of ['init', 'validate', 'test', 'build', 'verify', 'marketplace']) expect(r.stdout).toContain(c);
  });

  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('an unknown command is a usage error (exit 2) with a suggestion', async () => {
    const r = await runCli(['valdate']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'valdate'/);
    expect(r.stderr).toMatch(/validate/);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('an unknown flag is a usage error (exit 2)', async () => {
    const r = await runCli(['validate', '--bogus']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown option '--bogus'");
    expect(r.stderr.match(/unknown option/g)).toHaveLength(1);
  });

  it('a bad flag value is a usage error (exit 2)', async () => {
    const r = await runCli(['marketplace', 'serve', '--port', 'abc']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--port/);
  });

  it('a missing flag value is a usage error (exit 2)', async () => {
    const r = await runCli(['init', '--name']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/argument missing/);
  });

  it('--json usage errors print one JSON document on stdout', async () => {
    const r = await runCli(['--json', 'frobnicate']);
    expect(r.exitCode).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.code).toBe('USAGE');
  });
});

describe('colours and verbosity', () => {
  it('FORCE_COLOR=1 colours output; NO_COLOR and --no-color do not', async () => {
    const { tempDir } = await import('../helpers/temp-project.js');
    const dir = await tempDir();
    const forced = await runCli(['validate'], { cwd: dir, env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(forced.stderr).toContain('\u001b[31m');
    const plain = await runCli(['validate'], { cwd: dir, env: { NO_COLOR: '1' } });
    expect(plain.stderr).not.toContain('\u001b[');
    const flag = await runCli(['--no-color', 'validate'], { cwd: dir, env: { NO_COLOR: undefined } });
    expect(flag.stderr).not.toContain('\u001b[');
  });

  it('--verbose adds the stack trace to a user error; without it there is none', async () => {
    const { tempDir } = await import('../helpers/temp-project.js');
    const dir = await tempDir();
    const quiet = await runCli(['validate'], { cwd: dir });
    expect(hasStackTrace(quiet.stderr)).toBe(false);
    const verbose = await runCli(['--verbose', 'validate'], { cwd: dir });
    expect(verbose.exitCode).toBe(1);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it('a deleted working directory is a clean usage error', async () => {
    const { tempDir } = await import('../helpers/temp-project.js');
    const { execa } = await import('execa');
    const { BIN } = await import('../helpers/run-cli.js');
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
