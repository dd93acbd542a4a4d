/**
 * Whether a command runs over the plugins of a workspace (commands/workspace.ts)
 * instead of the plugin in its folder: one of validate, test, build, check,
 * deploy render, version
 * with --all, --plugin, --affected (or --base/--head, refused there with
 * their fix), or run where no plugin is found but a workspace file is (the
 * workspace root). In a plugin's folder without those flags it is the
 * plugin's own command, as outside a workspace.
 */
import type { Command } from 'commander';
import type { Ctx } from '../io/context.js';
import { commandPath } from './command-path.js';
import { findProjectRoot } from './resolve-cwd.js';

const COMMANDS = new Set(['validate', 'test', 'build', 'check', 'deploy render', 'version']);

export async function workspaceRun(command: Command, opts: Record<string, unknown>, ctx: Ctx): Promise<Record<string, unknown> | undefined> {
  const name = commandPath(command);
  if (!COMMANDS.has(name)) return undefined;
  const [{ wantsWorkspace }, { findWorkspaceRoot }] = await Promise.all([import('../workspace/select.js'), import('../workspace/file.js')]);
  const flagged = wantsWorkspace(opts);
  if (!flagged && (findProjectRoot(ctx.start) !== undefined || findWorkspaceRoot(ctx.start) === undefined)) return undefined;
  return { ...opts, command: name };
}
