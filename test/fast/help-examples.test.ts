/**
 * Every command's --help ends with an "Examples:" block (src/cli/examples.ts),
 * and every example parses against the program as it is: its command path
 * exists, its flags exist, its arguments and values are accepted. An example
 * that names a removed command or flag fails here, so the examples cannot rot.
 */
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandTree } from '../../src/cli/completion.js';
import { EXAMPLES } from '../../src/cli/examples.js';
import { createProgram, type Runner } from '../../src/cli/program.js';
import { commandPath } from '../../src/cli/command-path.js';
import { runMain } from '../helpers/run-main.js';

const BIN = 'plexichat-plugin';
const noRun: Runner = async () => {};
const paths = commandTree(createProgram('0.0.0', noRun)).map((n) => n.path);
const examples = Object.entries(EXAMPLES).flatMap(([path, list]) => list.map((e) => ({ path, ...e })));

/**
 * The words a shell hands to the CLI in an example: quotes removed, the CLI's
 * words only (not `VAR=x` before it, nor what follows a pipe or redirection).
 */
function cliWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]);
  const start = words.indexOf(BIN);
  if (start === -1) throw new Error(`example does not run ${BIN}: ${line}`);
  const rest = words.slice(start + 1);
  const stop = rest.findIndex((w) => /^(\||\|\||&&|;|\d?>>?|<|\d?>&\d)$/.test(w) || /^\d?[<>]/.test(w));
  return stop === -1 ? rest : rest.slice(0, stop);
}

/** Parses the words as the bin would; resolves to the command that would run. */
async function parse(words: string[]): Promise<string> {
  let ran: Command | undefined;
  const program = createProgram('0.0.0', async (_load, _opts, command) => {
    ran = command;
  });
  const quiet = (cmd: Command) => {
    cmd.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
    cmd.commands.forEach(quiet);
  };
  quiet(program);
  await program.parseAsync(words, { from: 'user' });
  if (!ran) throw new Error(`no command ran for: ${words.join(' ')}`);
  return commandPath(ran);
}

describe('examples in --help', () => {
  it('every command path has 2-4 examples, and the table names no command that does not exist', () => {
    for (const path of paths) {
      const n = EXAMPLES[path]?.length ?? 0;
      expect(n, `'${path}' needs 2-4 examples in src/cli/examples.ts`).toBeGreaterThanOrEqual(2);
      expect(n, `'${path}' has more than 4 examples`).toBeLessThanOrEqual(4);
    }
    expect(paths.length).toBeGreaterThan(25);
    expect(Object.keys(EXAMPLES).filter((p) => !paths.includes(p))).toEqual([]);
  });

  it.each(paths.map((p) => [p || '(the program)', p]))('%s --help ends with its examples', async (_name, path) => {
    const args = [...(path ? path.split(' ') : []), '--help'];
    const r = await runMain(args);
    expect(r.exitCode, r.stderr).toBe(0);
    const block = r.stdout.slice(r.stdout.indexOf('\nExamples:\n'));
    expect(block, `${args.join(' ')} prints no Examples: block`).toMatch(/^\nExamples:\n/);
    for (const e of EXAMPLES[path]) {
      expect(block).toContain(`  # ${e.description}\n  ${e.command}\n`);
    }
    // Under --json the help document carries the same examples as data.
    const j = await runMain(['--json', ...args]);
    expect(j.exitCode, j.stderr).toBe(0);
    const doc = JSON.parse(j.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, command: [BIN, path].filter(Boolean).join(' ') });
    expect(doc.examples).toEqual(EXAMPLES[path]);
    expect(doc.help).toContain('\nExamples:\n');
  });

  it.each(examples.map((e) => [e.command, e]))('%s parses', async (_name, e) => {
    expect(e.description.trim()).not.toBe('');
    expect(e.command.startsWith(`${BIN} `)).toBe(true);
    const words = cliWords(e.command);
    if (words[0] === 'help') {
      // `help <command...>` names a command that exists.
      expect(paths).toContain(words.slice(1).join(' '));
      return;
    }
    const ran = await parse(words);
    // A group's examples run its subcommands; a command's examples run that command.
    const group = e.path === '' || paths.some((p) => p.startsWith(`${e.path} `));
    if (group) expect(ran === e.path || ran.startsWith(e.path ? `${e.path} ` : '')).toBe(true);
    else expect(ran).toBe(e.path);
  });

  it('an example with a flag that does not exist would not parse', async () => {
    await expect(parse(['build', '--no-such-flag'])).rejects.toThrow(/unknown option/);
    await expect(parse(['marketplace', 'publish', '--channel', 'nightly'])).rejects.toThrow(/Allowed choices/);
    await expect(parse(['marketplace', 'submit', '--timeout', 'soon'])).rejects.toThrow(/seconds/);
    expect(cliWords(`FOO=1 ${BIN} login --token-stdin < token.txt`)).toEqual(['login', '--token-stdin']);
    expect(cliWords(`${BIN} completion zsh > "\${fpath[1]}/_x"`)).toEqual(['completion', 'zsh']);
  });
});
