/**
 * What the bin loads to print help or the version (start-up speed: issue 9).
 * The CLI runs as a real process with a module hook that records every
 * module it loads; --help and --version load the program's table and
 * commander, never a command, the error reporting, the output layer or
 * node:v8 (the wasm tiering flag is for runs that make requests).
 */
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN } from '../helpers/run-cli.js';
import { loadedModules, loadHookArg } from '../helpers/load-hook.js';
import { tempDir } from '../helpers/temp-project.js';

/** The modules a run loads (dist/ paths and node: builtins), and its exit code. */
async function loaded(args: string[]): Promise<{ modules: string[]; exitCode: number; stdout: string }> {
  const r = await execa(process.execPath, ['--import', await loadHookArg(), BIN, ...args], {
    reject: false,
    env: { NO_COLOR: '1', CI: '1' },
  });
  const modules = loadedModules(String(r.stderr));
  return { modules, exitCode: r.exitCode ?? -1, stdout: String(r.stdout) };
}

const NOT_FOR_HELP = [
  /^dist\/commands\//,
  /^dist\/cli\/report\.js$/,
  /^dist\/cli\/resolve-cwd\.js$/,
  /^dist\/io\/(output|fs-errors|redact|terminal)\.js$/,
  /^dist\/context\.js$/,
  /^dist\/core\//,
  /fastest-levenshtein/,
  /^node:v8$/,
];

describe('start-up: what --help and --version load', () => {
  it.each([[['--help']], [['--version']], [['build', '--help']], [['marketplace', 'submit', '--help']], [['help', 'init']]])('%j loads no command, no error reporting, no node:v8', async (args) => {
    const r = await loaded(args);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
    expect(r.modules).toContain('dist/cli/program.js');
    expect(r.modules.filter((m) => NOT_FOR_HELP.some((re) => re.test(m)))).toEqual([]);
  });

  it('a command run loads what it needs: the wasm flag, the output, the context and its command module', async () => {
    const dir = await tempDir();
    const r = await loaded(['-C', dir, 'init', path.join(dir, 'p'), '--name', 'demo_plugin', '--category', 'utility', '--yes']);
    expect(r.exitCode).toBe(0);
    expect(r.modules).toEqual(expect.arrayContaining(['node:v8', 'dist/io/output.js', 'dist/context.js', 'dist/commands/init.js']));
    expect(r.modules).not.toContain('dist/cli/report.js');
    // An error loads the reporting, and says what it says without it.
    const bad = await loaded(['--no-such-flag']);
    expect(bad.exitCode).toBe(2);
    expect(bad.modules).toContain('dist/cli/report.js');
  });
});
