/**
 * `completion bash|zsh|fish`: a shell completion script generated from the
 * program's own command tree, so it never drifts from the commands and
 * flags that exist. Print it into the shell's completion folder, or source
 * it from the shell's rc file (see README).
 *
 * The scripts complete command names at every level and the flags of the
 * command typed so far (global flags included). After a flag that takes a
 * value they offer its real values where the CLI knows them (`--category`,
 * `--template`, `--env`, `--format`, `--profile`; the shells after
 * `completion`), folders after a flag that takes a folder, file names after
 * one that takes a file, and nothing after a free-text one (`--name`,
 * `--note`, `--port`). File names with spaces stay one word. After
 * `--plugin` and `--target` the values are the workspace's plugin names and
 * the known target names where the completion happens: the script asks the
 * CLI (`completion <shell> --values plugins|targets`) each time.
 */
import type { Command, Option } from 'commander';
import { CATEGORIES } from '../core/catalog.js';
import { listTemplates } from '../core/scaffold.js';
import { FORMATS, PROFILES } from '../check/types.js';
import { ENVIRONMENTS } from '../deploy/names.js';
import { UsageError } from '../errors.js';
import type { Ctx } from '../io/context.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];
const BINS = ['plexichat-plugin', 'plexichat-plugin-cli'];

/** What follows a flag that takes a value: these words, a folder, a file, or free text (nothing offered). */
export type ValueKind = { words: readonly string[]; files?: boolean } | { from: Dynamic } | 'dir' | 'file' | 'text';

/** Values known only where the completion happens, asked of the CLI then (`completion <shell> --values`). */
export const DYNAMIC = ['plugins', 'targets'] as const;
export type Dynamic = (typeof DYNAMIC)[number];

/** The flags whose values are dynamic, by long name (on every command that has them). */
const DYNAMIC_FLAGS: Record<string, Dynamic> = { '--plugin': 'plugins', '--target': 'targets' };

interface Node {
  /** Space-joined command path ('' for the program, 'marketplace submit'). */
  path: string;
  subcommands: { name: string; description: string }[];
  /** Words a positional argument takes (the shells after `completion`). */
  args: readonly string[];
  options: { long?: string; short?: string; description: string; takesValue: boolean; value: ValueKind }[];
}

/** The values the CLI accepts for a flag, by `command path|--flag`, and for a command's argument, by path. */
export interface KnownValues {
  flags: Record<string, readonly string[]>;
  args: Record<string, readonly string[]>;
}

export async function knownValues(): Promise<KnownValues> {
  const templates = (await listTemplates()).map((t) => t.name);
  return {
    flags: {
      'init|--category': CATEGORIES,
      'init|--template': templates,
      'check|--profile': PROFILES,
      'check|--format': FORMATS,
      'deploy render|--env': ENVIRONMENTS,
      'validate|--against': ['published'],
      'completion|--values': DYNAMIC,
    },
    args: { completion: SHELLS },
  };
}

// `<file>`, `<pubkey-file>`, `<path>`, `<archive|published>`; not `<profile>`.
const FILE_VALUE = /(^|[-|])(file|path|archive)($|[-|])/;

/** By the value's placeholder: `<dir>` a folder, `<file>`/`<path>`/`<archive>` a file, anything else free text. */
function valueKind(o: Option, path: string, known: KnownValues): ValueKind {
  const dynamic = o.long ? DYNAMIC_FLAGS[o.long] : undefined;
  if (dynamic) return { from: dynamic };
  const words = o.long ? known.flags[`${path}|${o.long}`] : undefined;
  const placeholder = /<([^>]+)>|\[([^\]]+)\]/.exec(o.flags);
  const p = (placeholder?.[1] ?? placeholder?.[2] ?? '').toLowerCase();
  // `--against <archive|published>`: the word, or an archive's file name.
  if (words) return { words, files: FILE_VALUE.test(p) };
  if (/(^|-)dir($|\|)/.test(p)) return 'dir';
  if (FILE_VALUE.test(p)) return 'file';
  return 'text';
}

function optionsOf(cmd: Command, inherited: Option[], path: string, known: KnownValues): Node['options'] {
  return [...cmd.options, ...inherited]
    .filter((o) => !o.hidden)
    .map((o) => ({
      long: o.long,
      short: o.short,
      description: o.description,
      takesValue: o.required || o.optional,
      value: valueKind(o, inherited.includes(o) ? '' : path, known),
    }))
    .concat([{ long: '--help', short: '-h', description: 'display help for command', takesValue: false, value: 'text' }]);
}

/** Every command of the tree with its subcommands and options, parents first. */
export function commandTree(program: Command, known: KnownValues = { flags: {}, args: {} }): Node[] {
  const out: Node[] = [];
  const globals = program.options as Option[];
  const visit = (cmd: Command, path: string) => {
    const subs = cmd.commands.filter((c) => c.name() !== 'help');
    out.push({
      path,
      subcommands: subs.map((c) => ({ name: c.name(), description: c.description() })),
      args: known.args[path] ?? [],
      options: optionsOf(cmd, cmd === program ? [] : globals, path, known),
    });
    for (const c of subs) visit(c, path ? `${path} ${c.name()}` : c.name());
  };
  visit(program, '');
  return out;
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** `case` arms: after these flags of this command, offer what they take. */
function bashValueCases(tree: Node[]): string {
  const arms: string[] = [];
  for (const n of tree) {
    for (const o of n.options.filter((x) => x.takesValue)) {
      const flags = [o.long, o.short].filter(Boolean).map((f) => sq(`${n.path}|${f}`));
      const v = o.value;
      const action =
        typeof v === 'object' && 'from' in v
          ? `_plexichat_plugin_words "$("\${COMP_WORDS[0]}" completion bash --values ${v.from} 2>/dev/null)"`
          : typeof v === 'object'
            ? `_plexichat_plugin_words ${sq(v.words.join(' '))}${v.files ? '; _plexichat_plugin_files -f add' : ''}`
            : v === 'dir'
              ? '_plexichat_plugin_files -d'
              : v === 'file'
                ? '_plexichat_plugin_files -f'
                : 'COMPREPLY=()';
      arms.push(`    ${flags.join('|')}) ${action}; return 0 ;;`);
    }
  }
  return arms.join('\n');
}

function bash(tree: Node[]): string {
  const paths = tree.filter((n) => n.path !== '').map((n) => sq(n.path));
  const cases = tree
    .map((n) => {
      const words = [...n.subcommands.map((s) => s.name), ...n.args];
      const flags = n.options.flatMap((o) => [o.long, o.short].filter(Boolean) as string[]);
      return `    ${sq(n.path)}) words=${sq(words.join(' '))} flags=${sq(flags.join(' '))} ;;`;
    })
    .join('\n');
  return `# bash completion for plexichat-plugin (generated by \`plexichat-plugin completion bash\`)
_plexichat_plugin_known() {
  case "$1" in
    ${paths.join('|')}) return 0 ;;
  esac
  return 1
}
# File or folder names, one per line, so a name with spaces stays one word (quoted by bash on insertion).
_plexichat_plugin_files() {
  local IFS=$'\n'
  if [ "$2" = add ]; then COMPREPLY+=($(compgen "$1" -- "$cur")); else COMPREPLY=($(compgen "$1" -- "$cur")); fi
  type compopt >/dev/null 2>&1 && compopt -o filenames 2>/dev/null
  return 0
}
_plexichat_plugin_words() {
  local IFS=$' \t\n'
  COMPREPLY=($(compgen -W "$1" -- "$cur"))
}
_plexichat_plugin() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" w i words="" flags="" flag
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in -*) continue ;; esac
    if _plexichat_plugin_known "\${path:+$path }$w"; then path="\${path:+$path }$w"; fi
  done
  case "$prev" in
    -*)
      # The flag's own command, or a global flag.
      for flag in "$path|$prev" "|$prev"; do
        case "$flag" in
${bashValueCases(tree)}
        esac
      done
      ;;
  esac
  case "$path" in
${cases}
  esac
  # Flags once a dash is typed; commands, argument values and files otherwise.
  if [ "\${cur:0:1}" = "-" ]; then _plexichat_plugin_words "$flags"; else _plexichat_plugin_words "$words"; fi
  if [ \${#COMPREPLY[@]} -eq 0 ] && [ "\${cur:0:1}" != "-" ]; then _plexichat_plugin_files -f; fi
  return 0
}
complete -o default -F _plexichat_plugin ${BINS.join(' ')}
`;
}

function zsh(tree: Node[]): string {
  return `#compdef ${BINS.join(' ')}
# zsh completion for plexichat-plugin (generated by \`plexichat-plugin completion zsh\`):
# the bash completion through zsh's bashcompinit, so both shells complete alike.
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bash(tree)}`;
}

/** What fish offers after a flag: its values (-x: no files), folders, files (-r -F), or nothing (-x). */
function fishValue(v: ValueKind, bin: string): string {
  if (typeof v === 'object' && 'from' in v) return ` -x -a ${sq(`(${bin} completion fish --values ${v.from} 2>/dev/null)`)}`;
  if (typeof v === 'object') return v.files ? ` -r -F -a ${sq(v.words.join(' '))}` : ` -x -a ${sq(v.words.join(' '))}`;
  if (v === 'dir') return ` -x -a ${sq('(__fish_complete_directories)')}`;
  if (v === 'file') return ' -r -F';
  return ' -x';
}

function fish(tree: Node[]): string {
  const lines = [
    '# fish completion for plexichat-plugin (generated by `plexichat-plugin completion fish`)',
    'function __plexichat_plugin_path',
    '    set -l known ' +
      tree
        .filter((n) => n.path !== '')
        .map((n) => sq(n.path))
        .join(' '),
    '    set -l path ""',
    '    for w in (commandline -opc)[2..-1]',
    '        string match -q -- "-*" $w; and continue',
    '        set -l next (string trim -- "$path $w")',
    '        contains -- $next $known; and set path $next',
    '    end',
    '    echo $path',
    'end',
  ];
  for (const bin of BINS) {
    lines.push(`complete -c ${bin} -f`);
    for (const n of tree) {
      const cond = `-n ${sq(`test (__plexichat_plugin_path) = ${sq(n.path)}`)}`;
      for (const s of n.subcommands) lines.push(`complete -c ${bin} ${cond} -a ${sq(s.name)} -d ${sq(s.description)}`);
      if (n.args.length) lines.push(`complete -c ${bin} ${cond} -a ${sq(n.args.join(' '))}`);
      for (const o of n.options) {
        const flags = [o.long ? `-l ${o.long.replace(/^--/, '')}` : '', o.short ? `-s ${o.short.replace(/^-/, '')}` : ''].filter(Boolean).join(' ');
        lines.push(`complete -c ${bin} ${cond} ${flags}${o.takesValue ? fishValue(o.value, bin) : ''} -d ${sq(o.description)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: Shell, program: Command, known?: KnownValues): string {
  const tree = commandTree(program, known);
  return shell === 'bash' ? bash(tree) : shell === 'zsh' ? zsh(tree) : fish(tree);
}

export interface CompletionOptions {
  shell: string;
  program: Command;
  /** --values plugins|targets: the names offered after --plugin or --target here, instead of the script. */
  values?: string;
}

export interface CompletionResult {
  shell: Shell;
  script: string;
  values?: string[];
}

/** The dynamic values here (none when there is no workspace, or its file or the config cannot be read: completion never errs). */
async function dynamicValues(kind: Dynamic, ctx: Ctx): Promise<string[]> {
  try {
    if (kind === 'targets') {
      const { targetNames } = await import('../marketplace/targets.js');
      return await targetNames({ env: ctx.env, start: ctx.start });
    }
    const [{ findWorkspaceRoot }, { loadWorkspace }] = await Promise.all([import('../workspace/file.js'), import('../workspace/members.js')]);
    const root = findWorkspaceRoot(ctx.start);
    return root ? (await loadWorkspace(root)).members.map((m) => m.name) : [];
  } catch {
    return [];
  }
}

export async function run(opts: CompletionOptions, ctx: Ctx): Promise<CompletionResult> {
  if (!(SHELLS as readonly string[]).includes(opts.shell)) {
    throw new UsageError(`unknown shell '${opts.shell}'`, { code: 'UNKNOWN_SHELL', hint: `choose one of: ${SHELLS.join(', ')}` });
  }
  if (opts.values !== undefined) {
    if (!(DYNAMIC as readonly string[]).includes(opts.values)) {
      throw new UsageError(`--values ${opts.values}: not a list the completion knows`, { hint: `choose one of: ${DYNAMIC.join(', ')}` });
    }
    const values = await dynamicValues(opts.values as Dynamic, ctx);
    return { shell: opts.shell as Shell, script: values.map((v) => `${v}\n`).join(''), values };
  }
  let root = opts.program;
  while (root.parent) root = root.parent;
  return { shell: opts.shell as Shell, script: completionScript(opts.shell as Shell, root, await knownValues()) };
}

export function render(result: CompletionResult, ctx: Ctx): void {
  // The script itself, byte for byte (not through the line sanitiser: it is ours and has no control characters).
  ctx.out.stdout.write(result.script);
}
