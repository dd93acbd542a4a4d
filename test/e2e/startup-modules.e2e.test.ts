/**
 * What the bin loads to print help or the version (start-up speed: issues 9
 * and 19). The CLI runs as a real process with a module hook that records
 * every module it loads. To a pipe, --help and --version come from the
 * snapshot the build made (src/cli/help-snapshot.ts): neither commander nor
 * the program's table loads, and the text is what commander prints. When
 * commander answers (a terminal, forced colour), they load the program's
 * table and commander, never a command, the error reporting, the output
 * layer or node:v8 (the wasm tiering flag is for runs that make requests).
 */
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN } from '../helpers/run-cli.js';
import { loadedModules, loadHookArg } from '../helpers/load-hook.js';
import { tempDir } from '../helpers/temp-project.js';

/** The modules a run loads (dist/ paths and node: builtins), and its exit code. */
async function loaded(args: string[], env: Record<string, string> = {}): Promise<{ modules: string[]; exitCode: number; stdout: string }> {
  const r = await execa(process.execPath, ['--import', await loadHookArg(), BIN, ...args], {
    reject: false,
    env: { NO_COLOR: '1', CI: '1', ...env },
    extendEnv: false,
  });
  const modules = loadedModules(String(r.stderr));
  return { modules, exitCode: r.exitCode ?? -1, stdout: String(r.stdout) };
}

const NOT_FOR_HELP = [
  /^dist\/commands\//,
  /^dist\/cli\/report\.js$/,
  /^dist\/cli\/resolve-cwd\.js$/,
  /^dist\/io\/(output|fs-errors|redact|terminal)\.js$/,
  /^dist\/(io\/)?context\.js$/,
  /^dist\/core\//,
  /fastest-levenshtein/,
  /^node:v8$/,
];

const HELP_RUNS = [
  [['--help']],
  [['-h']],
  [['help']],
  [['--version']],
  [['-V']],
  [['build', '--help']],
  [['marketplace', 'submit', '--help']],
  [['keys', 'generate', '-h']],
  [['help', 'init']],
];

describe('start-up: what --help and --version load', () => {
  it.each(HELP_RUNS)('%j through commander loads no command, no error reporting, no node:v8', async (args) => {
    // Forced colour settings send help through commander (the snapshot is plain pipe text).
    const r = await loaded(args, { FORCE_COLOR: '0' });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
    expect(r.modules).toContain('dist/cli/program.js');
    expect(r.modules.filter((m) => NOT_FOR_HELP.some((re) => re.test(m)))).toEqual([]);
  });

  it.each(HELP_RUNS)('%j to a pipe prints what commander prints, from the snapshot, loading neither commander nor the program', async (args) => {
    const [fast, slow] = await Promise.all([loaded(args), loaded(args, { FORCE_COLOR: '0' })]);
    expect(fast.exitCode).toBe(0);
    expect(fast.stdout).toBe(slow.stdout);
    expect(fast.modules.filter((m) => m.startsWith('dist/')).sort()).toEqual([
      'dist/cli/help-snapshot.js',
      'dist/cli/program-name.js',
      'dist/io/closed-pipe.js',
    ]);
    expect(fast.modules.filter((m) => /commander/.test(m))).toEqual([]);
  });

  it.each([[['help', 'marketplace', 'serve']], [['--json', '--help']], [['build', '--help', '--json']], [['nosuch', '--help']]])(
    '%j is answered by commander',
    async (args) => {
      const r = await loaded(args);
      expect(r.modules).toContain('dist/cli/program.js');
    },
  );

  it('a command run loads what it needs: the wasm flag, the output, the context and its command module', async () => {
    const dir = await tempDir();
    const r = await loaded(['-C', dir, 'init', path.join(dir, 'p'), '--name', 'demo_plugin', '--category', 'utility', '--yes']);
    expect(r.exitCode).toBe(0);
    expect(r.modules).toEqual(expect.arrayContaining(['node:v8', 'dist/io/output.js', 'dist/io/context.js', 'dist/commands/init.js']));
    expect(r.modules).not.toContain('dist/cli/report.js');
    // An error loads the reporting, and says what it says without it.
    const bad = await loaded(['--no-such-flag']);
    expect(bad.exitCode).toBe(2);
    expect(bad.modules).toContain('dist/cli/report.js');
  });
});
