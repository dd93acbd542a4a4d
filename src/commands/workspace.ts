/**
 * `validate`, `test`, `build`, `check`, `deploy render` and `version` over the plugins of a workspace
 * (plexichat-workspace.yaml, docs/workspace.md): run from the workspace
 * root, or with --all, --plugin NAME or --affected --base REF [--head REF].
 * The plugins run in parallel (at most --jobs, default the cores), each
 * through the same operations as in its own folder (src/workspace/); the
 * output is grouped per plugin, then one summary table; --json is one
 * document listing each plugin's result; the exit code is the worst.
 * `check` writes one SARIF log (a run per plugin) or one set of GitHub
 * annotations. The CLI's dispatcher (cli/main.ts) sends a command here.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { userPath, type Ctx } from '../io/context.js';
import { UsageError } from '../errors.js';
import { cliVersion } from '../io/cli-version.js';
import { jsonDocument } from '../io/json-document.js';
import { probeWrite, writeFileAtomic } from '../io/atomic.js';
import { writingTo } from '../io/fs-errors.js';
import { inline } from '../io/terminal.js';
import { findWorkspaceRoot, WORKSPACE_FILE } from '../workspace/file.js';
import { libraryPaths, loadWorkspace, type Member, type Workspace } from '../workspace/members.js';
import { runPlugins, worstExit, type Operation, type PluginRun, type RunOptions } from '../workspace/run.js';
import { selectMembers, type SelectFlags, type Selection } from '../workspace/select.js';
import { buildOp, checkOp, deployOp, testOp, validateOp, type DeployOpOptions } from '../workspace/operations.js';
import { mergedAnnotations, mergedSarif } from '../workspace/check-documents.js';
import type { CheckReport } from '../check/types.js';
import type { DeployRenderOptions } from '../deploy/project.js';

export const WORKSPACE_COMMANDS = ['validate', 'test', 'build', 'check', 'deploy render', 'version'] as const;
type WorkspaceCommand = (typeof WORKSPACE_COMMANDS)[number];

/** deploy render's flags, as deploy/project.ts defines them (out above: relative to each plugin's folder). */
type DeployFlags = Pick<
  DeployRenderOptions,
  'env' | 'baseImage' | 'helm' | 'check' | 'force' | 'platformNamespace' | 'platformPods' | 'scraperNamespace' | 'scraperPods'
>;

export interface WorkspaceOptions extends SelectFlags, DeployFlags {
  /** The command run over the plugins. */
  command: WorkspaceCommand;
  jobs?: number;
  strict?: boolean;
  python?: string;
  timeout?: number;
  coverage?: boolean;
  pytestArgs?: string[];
  out?: string;
  includeTests?: boolean;
  sign?: boolean;
  key?: string;
  profile?: string;
  format?: string;
  allowSkipped?: boolean;
  acceptPermission?: string[];
  output?: string;
  target?: string;
  /** version's argument and flags. */
  bump?: string;
  pre?: string;
  note?: string[];
  git?: boolean;
  /** Flags of the command that apply to one plugin only (refused here). */
  [flag: string]: unknown;
}

export interface WorkspaceResult {
  command: WorkspaceCommand;
  root: string;
  selection: Omit<Selection, 'members' | 'reasons'>;
  ok: boolean;
  exitCode: number;
  plugins: (PluginRun<unknown> & { reasons?: string[] })[];
}

/** Flags that make sense in one plugin's folder only. */
const SINGLE_ONLY: Record<string, string> = {
  against: '--against',
  security: '--security',
  failOn: '--fail-on',
  dryRun: '--dry-run',
  explain: '--explain',
  allowSecret: '--allow-secret',
  image: '--image',
};

/** What to do instead of a one-plugin flag, where it is not "run it in the plugin's folder". */
const INSTEAD: Record<string, string> = {
  image: "each plugin gets its own image: give a target's deploy.registry (--target NAME), or run it in the plugin's folder",
};

const rendering = new WeakMap<WorkspaceResult, { document?: string; format: string; output?: string; nothing?: string }>();

function refuseSingleFlags(opts: WorkspaceOptions): void {
  for (const [k, flag] of Object.entries(SINGLE_ONLY)) {
    if (k === 'dryRun' && opts.command === 'version') continue;
    if (opts[k] !== undefined && opts[k] !== false) {
      throw new UsageError(`${flag} applies to one plugin, not to a workspace run`, {
        hint: INSTEAD[k] ?? `run it in the plugin's folder, or with -C <plugin folder>`,
      });
    }
  }
  if (opts.pytestArgs?.length)
    throw new UsageError('pytest arguments apply to one plugin, not to a workspace run', { hint: "run test in the plugin's folder" });
}

function checkFormat(opts: WorkspaceOptions, ctx: Ctx): string {
  const format = opts.format ?? (ctx.flags.json ? 'json' : 'text');
  if (!['text', 'json', 'sarif', 'github'].includes(format)) {
    throw new UsageError(`--format must be one of text, json, sarif, github (got ${JSON.stringify(format)})`, { hint: 'e.g. --format sarif' });
  }
  if (ctx.flags.json && format !== 'json') throw new UsageError(`--json and --format ${format} ask for two different documents`, { hint: 'use one' });
  if (opts.output && format === 'text')
    throw new UsageError('--output needs --format json, sarif or github', { hint: 'e.g. --format sarif --output check.sarif' });
  if (opts.profile !== undefined && !['pr', 'release'].includes(opts.profile)) {
    throw new UsageError(`--profile must be one of pr, release (got ${JSON.stringify(opts.profile)})`, { hint: 'e.g. --profile pr' });
  }
  return format;
}

async function operationFor(command: Exclude<WorkspaceCommand, 'version'>, opts: WorkspaceOptions, ws: Workspace, ctx: Ctx): Promise<Operation<unknown>> {
  switch (command) {
    case 'deploy render':
      return deployOp(await deploySettings(opts, ctx));
    case 'validate':
      return validateOp({ strict: opts.strict });
    case 'test':
      return testOp({ python: opts.python, timeout: opts.timeout, coverage: opts.coverage });
    case 'build': {
      const { signingKeyForBuild } = await import('../signing/files.js');
      const key = await signingKeyForBuild({
        sign: opts.sign,
        keyFile: opts.key,
        keyPath: opts.key === undefined ? undefined : userPath(ctx, opts.key),
        env: ctx.env,
      });
      return buildOp({ out: opts.out, includeTests: opts.includeTests, key, libraries: ws.libraries });
    }
    case 'check':
      return checkOp({
        profile: (opts.profile ?? 'pr') as 'pr' | 'release',
        allowSkipped: opts.allowSkipped,
        acceptPermissions: opts.acceptPermission ?? [],
      });
  }
}

/** deploy render's flags, under a --target's deploy: settings (resolved once, at the workspace). */
async function deploySettings(opts: WorkspaceOptions, ctx: Ctx): Promise<DeployOpOptions> {
  const [{ targetedOptions }, { checkDeployFlags }] = await Promise.all([import('../deploy/target.js'), import('../deploy/project.js')]);
  const { env, out, baseImage, helm, check, force, platformNamespace, platformPods, scraperNamespace, scraperPods, target } = opts;
  const settings = await targetedOptions(
    { env, out, baseImage, helm, check, force, platformNamespace, platformPods, scraperNamespace, scraperPods, target },
    ctx,
  );
  checkDeployFlags(settings); // a bad flag is one usage error, not one per plugin
  return settings;
}

/** Run the command over the chosen plugins: version through its release flow (workspace/release.ts), the others through their operation. */
async function runAll(opts: WorkspaceOptions, ws: Workspace, members: Member[], ctx: Ctx, o: RunOptions): Promise<PluginRun<unknown>[]> {
  if (opts.command !== 'version') return runPlugins(members, ctx, await operationFor(opts.command, opts, ws, ctx), o);
  const { versionMembers } = await import('../workspace/release.js');
  const v = { bump: opts.bump!, pre: opts.pre, note: opts.note, git: opts.git, dryRun: Boolean(opts.dryRun) };
  return versionMembers(ws.spec.root, members, ctx, v, o);
}

function checkDocument(format: string, r: WorkspaceResult, ws: Workspace): string | undefined {
  const reports = r.plugins.filter((p) => p.result).map((p) => ({ name: p.name, path: p.path, report: p.result as CheckReport }));
  if (format === 'sarif') {
    const log = mergedSarif(reports, { toolVersion: cliVersion(), root: pathToFileURL(`${ws.spec.root}${path.sep}`).href });
    return `${JSON.stringify(log, null, 2)}\n`;
  }
  if (format === 'github')
    return mergedAnnotations(reports)
      .map((l) => `${l}\n`)
      .join('');
  if (format === 'json') return `${JSON.stringify(jsonDocument(r), null, 2)}\n`;
  return undefined;
}

async function openWorkspace(ctx: Ctx): Promise<Workspace> {
  const root = findWorkspaceRoot(ctx.start);
  if (!root) {
    throw new UsageError(`no ${WORKSPACE_FILE} here or in a folder above`, {
      code: 'NO_WORKSPACE',
      hint: `create ${WORKSPACE_FILE} at the repository root (plugins: [plugins/*]), or run the command in a plugin's folder without --all/--plugin/--affected`,
    });
  }
  return loadWorkspace(root);
}

export async function run(opts: WorkspaceOptions, ctx: Ctx): Promise<WorkspaceResult> {
  refuseSingleFlags(opts);
  const format = opts.command === 'check' ? checkFormat(opts, ctx) : 'text';
  const output =
    opts.output === undefined
      ? undefined
      : {
          file: userPath(ctx, opts.output),
          at: { action: `write ${opts.output}`, dir: opts.output, flag: '--output <file>', suffix: '; nothing was written' },
        };
  if (output) await writingTo(output.at, () => probeWrite(output.file));
  const ws = await openWorkspace(ctx);
  if (ws.members.length === 0) {
    throw new UsageError(`${WORKSPACE_FILE} names no plugin folder (a folder holding config/plugin.yaml)`, {
      code: 'NO_PLUGINS',
      hint: 'check the plugins: globs',
    });
  }
  const sel = await selectMembers(ws, opts, ctx.env);
  const runs = await runAll(opts, ws, sel.members, ctx, {
    jobs: opts.jobs,
    pythonPath: libraryPaths(ws.libraries),
    stdoutTaken: format !== 'text' && !opts.output,
  });
  const { members: _m, reasons, ...selection } = sel;
  const exitCode = worstExit(runs);
  const result: WorkspaceResult = {
    command: opts.command,
    root: ws.spec.root,
    selection,
    ok: exitCode === 0,
    exitCode,
    plugins: runs.map((r) => (reasons?.[r.name] ? { ...r, reasons: reasons[r.name] } : r)),
  };
  const document = ctx.flags.json ? undefined : checkDocument(format, result, ws);
  if (output && (document !== undefined || ctx.flags.json)) {
    const text = document ?? `${JSON.stringify(jsonDocument(result), null, 2)}\n`;
    await writingTo(output.at, () => writeFileAtomic(output.file, text, { makeFolder: true }));
  }
  const nothing = sel.members.length === 0 ? `no plugin affected since ${sel.base}${sel.head ? ` (to ${sel.head})` : ''}: nothing to run` : undefined;
  rendering.set(result, { document, format, output: opts.output, nothing });
  if (nothing && ctx.flags.json) ctx.out.info(nothing);
  return result;
}

const MARK = (r: PluginRun<unknown>) => (r.exitCode === 0 ? '✔' : '✖');

export function render(r: WorkspaceResult, ctx: Ctx): void {
  const { out } = ctx;
  const how = rendering.get(r) ?? { format: 'text' };
  if (how.nothing) return void out.result(how.nothing);
  if (how.document !== undefined && !how.output) out.stdout.write(how.document);
  const line = how.document !== undefined && !how.output ? (s: string) => out.info(s) : (s: string) => out.result(s);
  line('');
  const w = Math.max(...r.plugins.map((p) => p.name.length), 6);
  for (const p of r.plugins) {
    const paint = p.exitCode === 0 ? out.c.green : out.c.red;
    line(`${paint(MARK(p))} ${p.name.padEnd(w)}  ${(p.durationMs / 1000).toFixed(1).padStart(6)}s  ${inline(p.summary)}`);
  }
  const failed = r.plugins.filter((p) => p.exitCode !== 0).length;
  const wrote = how.output ? `wrote ${how.output} (${how.format}); ` : '';
  line(
    `${wrote}${r.command}: ${r.plugins.length - failed} of ${r.plugins.length} plugin${r.plugins.length === 1 ? '' : 's'} passed${failed ? `, ${failed} failed` : ''}`,
  );
}

export function exitCode(r: WorkspaceResult): number {
  return r.exitCode;
}
