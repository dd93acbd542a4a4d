/**
 * `init [dir]`: scaffold a plugin project from a template. Flags first; on an
 * interactive terminal the missing values are prompted for, otherwise a
 * missing --name or --category is a usage error naming the flag.
 */
import path from 'node:path';
import { userPath, type Ctx } from '../io/context.js';
import { CATEGORIES } from '../core/catalog.js';
import { INITIAL_VERSION, ScaffoldConflictError, inspectTarget, isCategory, listTemplates, scaffold, titleOf, type TemplateInfo } from '../core/scaffold.js';
import { suggestPluginName as suggestName, whyNotPluginName as checkName } from '../core/plugin-name.js';
import { suggest as suggestClosest } from '../core/suggest.js';
import { CancelledError, UsageError, WorkFailedError } from '../errors.js';
import { fsError } from '../io/fs-errors.js';
import { askSelect, askText } from '../io/prompt.js';

export interface InitOptions {
  dir?: string;
  name?: string;
  category?: string;
  template?: string;
  description?: string;
  author?: string;
  license?: string;
  yes?: boolean;
  force?: boolean;
}

export interface InitResult {
  /** Absolute path of the project. */
  dir: string;
  name: string;
  category: string;
  template: string;
  /** Files written, relative to dir. */
  files: string[];
  /** Files that existed and were replaced (--force). */
  replaced: string[];
  /** Where the replaced files were kept, relative to dir (only when some were replaced). */
  backup?: string;
  /** Inside a workspace: its file, the plugin's entry, and whether init added it (docs/workspace.md). */
  workspace?: { file: string; entry: string; added: boolean };
}

const DEFAULT_TEMPLATE = 'minimal';
const DEFAULT_LICENSE = 'MIT';

function nameError(name: string): UsageError {
  const why = checkName(name)!;
  const suggestion = suggestName(name);
  return new UsageError(`invalid plugin name "${name}": ${why}`, {
    code: 'INVALID_NAME',
    hint: suggestion
      ? `try --name ${suggestion} (snake_case, 3-64 characters: a lowercase letter, then letters, digits or _)`
      : 'use snake_case, 3-64 characters: a lowercase letter, then lowercase letters, digits or _',
  });
}

function categoryError(category: string): UsageError {
  const best = suggestClosest(category, CATEGORIES);
  return new UsageError(`unknown category "${category}"${best ? `; did you mean "${best}"?` : ''}`, {
    code: 'UNKNOWN_CATEGORY',
    hint: `choose one of: ${CATEGORIES.join(', ')}`,
  });
}

function templateError(template: string, templates: TemplateInfo[]): UsageError {
  const names = templates.map((t) => t.name);
  const best = suggestClosest(template, names);
  return new UsageError(`unknown template "${template}"${best ? `; did you mean "${best}"?` : ''}`, {
    code: 'UNKNOWN_TEMPLATE',
    hint: `available templates: ${names.join(', ')}`,
  });
}

/** One line of text, no control characters, reasonably short. */
function checkLine(flag: string, value: string, max: number): string {
  const v = value.trim();
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) {
    throw new UsageError(`${flag} must be a single line of text`, { hint: `remove line breaks and control characters from ${flag}` });
  }
  if (v.length > max) throw new UsageError(`${flag} is too long (${v.length} characters, at most ${max})`);
  return v;
}

function checkLicense(value: string): string {
  const v = value.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9.+:-]{0,63}$/.test(v)) {
    throw new UsageError(`invalid licence "${value}"`, {
      hint: 'use an SPDX identifier such as MIT, Apache-2.0 or GPL-3.0-or-later (LicenseRef-... for your own)',
    });
  }
  return v;
}

/** How to show a path to the user: relative to cwd, unless climbing up is longer. */
function display(cwd: string, target: string): string {
  const rel = path.relative(cwd, target) || '.';
  return rel.startsWith('..') && target.length < rel.length ? target : rel;
}

function validateName(v: string): true | string {
  const why = checkName(v);
  if (!why) return true;
  const s = suggestName(v);
  return `${why}${s ? ` (try ${s})` : ''}`;
}

/** Step 1: everything given on the command line is checked before anything else. */
function checkFlags(opts: InitOptions, templates: TemplateInfo[], ctx: Ctx): { description?: string; author?: string; license?: string } {
  if (opts.name !== undefined && checkName(opts.name)) throw nameError(opts.name);
  if (opts.category !== undefined && !isCategory(opts.category)) throw categoryError(opts.category);
  if (opts.template !== undefined && !templates.some((t) => t.name === opts.template)) {
    throw templateError(opts.template, templates);
  }
  const description = opts.description === undefined ? undefined : checkLine('--description', opts.description, 300);
  const author = opts.author === undefined ? undefined : checkLine('--author', opts.author, 200);
  const license = opts.license === undefined ? undefined : checkLicense(opts.license);
  if (!ctx.interactive) {
    if (opts.name === undefined) {
      throw new UsageError('missing plugin name: pass --name <name>', {
        code: 'MISSING_FLAG',
        hint: 'prompts are only shown on an interactive terminal; e.g. --name my_plugin --category utility',
      });
    }
    if (opts.category === undefined) {
      throw new UsageError('missing category: pass --category <category>', {
        code: 'MISSING_FLAG',
        hint: `choose one of: ${CATEGORIES.join(', ')}`,
      });
    }
  }
  return { description, author, license };
}

/**
 * A filesystem failure at the target, from looking at it to moving the
 * files in: io/fs-errors.ts's code and words (as every command's), said as
 * what init was doing.
 */
function targetError(err: unknown, shown: string): WorkFailedError | undefined {
  return fsError(err, `create the plugin in ${shown}`, { suffix: '; nothing was written' });
}

/** Step 2: the target must be new, empty (empty folders and .git are fine), or --force. */
async function checkTarget(target: string, shown: string, force: boolean | undefined): Promise<void> {
  const state = await inspectTarget(target).catch((err: unknown) => {
    throw targetError(err, shown) ?? err;
  });
  if (state.exists && !state.isDirectory) {
    throw new WorkFailedError(`${shown} exists and is not a directory`, {
      code: 'TARGET_NOT_DIRECTORY',
      hint: 'choose another directory for the plugin',
    });
  }
  if (state.conflicts.length > 0 && !force) {
    const list = state.conflicts.slice(0, 8).join(', ') + (state.conflicts.length > 8 ? `, ... (${state.conflicts.length} in all)` : '');
    throw new WorkFailedError(`directory ${shown} is not empty: ${list}`, {
      code: 'DIRECTORY_NOT_EMPTY',
      hint: 'use a new or empty directory, or pass --force to write the plugin files into it (files with the same names are replaced, others are kept)',
      details: { conflicts: state.conflicts },
    });
  }
}

interface Answers {
  name: string;
  category: string;
  template: string;
  description: string;
  author: string;
  license: string;
}

/** Step 3: ask for what the flags did not give (only on an interactive terminal). */
async function askMissing(opts: InitOptions, given: ReturnType<typeof checkFlags>, target: string, templates: TemplateInfo[], ctx: Ctx): Promise<Answers> {
  const guess = suggestName(path.basename(target)) ?? (checkName(path.basename(target)) ? undefined : path.basename(target));
  const name = opts.name ?? (await askText(ctx, { flag: '--name', message: 'Plugin name (snake_case):', default: guess, validate: validateName }));
  const category =
    opts.category ??
    (await askSelect(ctx, {
      flag: '--category',
      message: 'Category:',
      choices: CATEGORIES.map((c) => ({ value: c })),
    }));
  // A category with a template of its own name starts from that template (`--category analytics`: the analytics template).
  const byCategory = templates.some((t) => t.name === category) ? category : DEFAULT_TEMPLATE;
  const template =
    opts.template ??
    (ctx.interactive
      ? await askSelect(ctx, {
          flag: '--template',
          message: 'Template:',
          default: byCategory,
          choices: templates.map((t) => ({ value: t.name, description: t.description })),
        })
      : byCategory);
  const defaultDescription = `${titleOf(name)} plugin for PlexiChat`;
  const description =
    given.description ??
    (ctx.interactive
      ? checkLine('description', await askText(ctx, { flag: '--description', message: 'Description:', default: defaultDescription }), 300)
      : defaultDescription);
  const defaultAuthor = `The ${name} authors`;
  const author =
    given.author ??
    (ctx.interactive ? checkLine('author', await askText(ctx, { flag: '--author', message: 'Author:', default: defaultAuthor }), 200) : defaultAuthor);
  return {
    name,
    category,
    template,
    description: description || defaultDescription,
    author: author || defaultAuthor,
    license: given.license ?? DEFAULT_LICENSE,
  };
}

/** Step 4: render into a temp sibling, then move into place (all or nothing). */
async function write(a: Answers, tpl: TemplateInfo, target: string, shown: string, force: boolean | undefined, ctx: Ctx): Promise<InitResult> {
  try {
    const res = await scaffold({
      templateDir: tpl.dir,
      target,
      force,
      signal: ctx.signal,
      now: ctx.clock.now(),
      vars: {
        name: a.name,
        category: a.category,
        description: a.description,
        author: a.author,
        license: a.license,
        version: INITIAL_VERSION,
        date: new Date(ctx.clock.now()).toISOString().slice(0, 10),
        template: a.template,
      },
    });
    return {
      dir: target,
      name: a.name,
      category: a.category,
      template: a.template,
      files: res.files,
      replaced: res.replaced,
      ...(res.backup ? { backup: res.backup } : {}),
    };
  } catch (err) {
    if (ctx.signal.aborted) throw new CancelledError('Cancelled; nothing was written');
    if (err instanceof ScaffoldConflictError) {
      throw new WorkFailedError(`${err.message} in ${shown}; nothing was written`, {
        code: 'SCAFFOLD_CONFLICT',
        hint: 'move that entry out of the way, or choose another directory',
      });
    }
    throw targetError(err, shown) ?? err;
  }
}

export async function run(opts: InitOptions, ctx: Ctx): Promise<InitResult> {
  const templates = await listTemplates();
  const given = checkFlags(opts, templates, ctx);
  const target = userPath(ctx, opts.dir ?? '.');
  const shown = display(ctx.cwd, target);
  await checkTarget(target, shown, opts.force);
  // Inside a workspace, its file is checked before anything is written, and the plugin added to it after.
  const { workspaceFor, addToWorkspace } = await import('../workspace/add-plugin.js');
  const ws = await workspaceFor(target);
  const answers = await askMissing(opts, given, target, templates, ctx);
  const tpl = templates.find((t) => t.name === answers.template)!;
  const result = await write(answers, tpl, target, shown, opts.force, ctx);
  if (ws) result.workspace = await addToWorkspace(ws, target);
  return result;
}

export function render(result: InitResult, ctx: Ctx): void {
  const { out } = ctx;
  const shown = display(ctx.cwd, result.dir);
  out.success(`Created plugin ${out.c.bold(result.name)} in ${shown} (template: ${result.template})`);
  for (const f of result.files) {
    out.result(`  ${f}${result.replaced.includes(f) ? out.c.yellow('  (replaced)') : ''}`);
  }
  if (result.backup) out.result(`The replaced files are kept in ${path.join(shown, result.backup)}`);
  if (result.workspace) {
    const file = path.relative(ctx.cwd, result.workspace.file) || result.workspace.file;
    out.result(result.workspace.added ? `Added ${result.workspace.entry} to ${file}` : `${file} already covers ${result.workspace.entry}`);
  }
  out.result('');
  out.result('Next steps:');
  if (shown !== '.') out.result(`  cd ${shown.includes(' ') ? JSON.stringify(shown) : shown}`);
  out.result('  plexichat-plugin-cli validate   # check the manifest against the code');
  out.result('  plexichat-plugin-cli test       # run the tests with pytest and the bundled SDK');
  out.result('  plexichat-plugin-cli build      # package dist/<name>-<version>.zip');
}
