/**
 * `completion bash|zsh|fish`: the generated scripts load in the real shells
 * and complete commands, subcommands and flags from the program's own tree.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { requires } from '../helpers/requires.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

async function script(shell: string): Promise<string> {
  const r = await runMain(['completion', shell]);
  expect(r.exitCode, r.stderr).toBe(0);
  const file = path.join(await tempDir(), `c.${shell}`);
  await fs.writeFile(file, r.stdout);
  return file;
}

async function bashComplete(file: string, line: string): Promise<string[]> {
  const r = await execa('bash', [
    '-c',
    `source "${file}"; read -ra COMP_WORDS <<< "$1"; [ "\${1: -1}" = " " ] && COMP_WORDS+=(""); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _plexichat_plugin; printf '%s\\n' "\${COMPREPLY[@]}"`,
    '_',
    line,
  ]);
  return r.stdout.split('\n').filter(Boolean);
}

describe('completion', () => {
  it('bash: commands, subcommands, flags of the command typed, files after a flag that takes a value', async () => {
    const file = await script('bash');
    expect(await bashComplete(file, 'plexichat-plugin mark')).toEqual(['marketplace']);
    expect(await bashComplete(file, 'plexichat-plugin marketplace su')).toEqual(['submit']);
    expect(await bashComplete(file, 'plexichat-plugin build --o')).toEqual(['--out']);
    expect(await bashComplete(file, 'plexichat-plugin --json build --dr')).toEqual(['--dry-run']);
    expect(await bashComplete(file, 'plexichat-plugin-cli va')).toEqual(['validate']);
    // Global flags are offered on subcommands too.
    expect(await bashComplete(file, 'plexichat-plugin marketplace status --qu')).toEqual(['--quiet']);
    const top = await bashComplete(file, 'plexichat-plugin ');
    expect(top).toEqual(expect.arrayContaining(['init', 'validate', 'test', 'build', 'verify', 'marketplace', 'completion']));
  });

  it('fish: the script parses and `complete -C` offers the same words', async (ctx) => {
    requires(ctx, 'fish');
    const file = await script('fish');
    await execa('fish', ['-n', file]);
    const r = await execa('fish', [
      '-c',
      `source ${file}; complete -C "plexichat-plugin mark"; complete -C "plexichat-plugin marketplace su"; complete -C "plexichat-plugin build --o"`,
    ]);
    const words = r.stdout.split('\n').map((l) => l.split('\t')[0]);
    expect(words).toEqual(expect.arrayContaining(['marketplace', 'submit', '--out']));
  });

  it('zsh: the script parses and loads through bashcompinit, finding the command path', async (ctx) => {
    requires(ctx, 'zsh');
    const file = await script('zsh');
    await execa('zsh', ['-n', file]);
    const r = await execa('zsh', [
      '-c',
      `source ${file}; setopt ksharrays; COMP_WORDS=(plexichat-plugin marketplace su); COMP_CWORD=2; _plexichat_plugin; print -l -- "\${COMPREPLY[@]}"`,
    ]);
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['submit', 'status', 'publish']));
    expect(r.stdout.split('\n')).not.toContain('init');
  });

  it('an unknown shell is a usage error naming the shells; --json carries the script', async () => {
    const bad = await runMain(['completion', 'powershell']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/unknown shell 'powershell'/);
    expect(bad.stderr).toMatch(/bash, zsh, fish/);
    const json = await runMain(['--json', 'completion', 'bash']);
    expect(JSON.parse(json.stdout)).toMatchObject({ schemaVersion: 1, shell: 'bash', script: expect.stringContaining('complete -o default') });
  });
});
