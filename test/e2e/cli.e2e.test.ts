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
