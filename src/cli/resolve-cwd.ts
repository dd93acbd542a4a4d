/**
 * Which directory a command works in: the start directory (or -C), and for
 * commands that work on a plugin project, the nearest folder upward that
 * holds config/plugin.yaml (as git and npm find their roots).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { MANIFEST_PATH } from '../core/manifest/types.js';
import { commandPath } from './command-path.js';

/** Commands that read the plugin project in their working directory. */
const PROJECT_COMMANDS = new Set([
  'validate',
  'test',
  'build',
  'dev',
  'version',
  'check',
  'deploy',
  'deps',
  'marketplace prepare',
  'marketplace submit',
  'marketplace status',
  'marketplace publish',
]);

export function isProjectCommand(command: Command): boolean {
  const p = commandPath(command);
  return PROJECT_COMMANDS.has(p) || PROJECT_COMMANDS.has(p.split(' ')[0]);
}

/**
 * The start directory. When the process's own directory was deleted, an
 * absolute -C still works, and so does a command that is not about the
 * project there (`verify /abs/file.zip`: PWD stands in, and a relative path
 * then fails with its own message). A project command is a usage error.
 */
export function startDir(procCwd: () => string, flagCwd: string | undefined, env: NodeJS.ProcessEnv, projectCommand: boolean): string {
  try {
    return path.resolve(procCwd(), flagCwd ?? '.');
  } catch {
    if (flagCwd && path.isAbsolute(flagCwd)) return path.resolve(flagCwd);
    if (!projectCommand && !flagCwd && env.PWD && path.isAbsolute(env.PWD)) return env.PWD;
    throw new UsageError('the current directory no longer exists', { hint: 'cd into an existing directory, or pass -C <absolute dir>' });
  }
}

function hasManifest(dir: string): boolean {
  try {
    return statSync(path.join(dir, MANIFEST_PATH)).isFile();
  } catch {
    return false;
  }
}

/** The nearest directory at or above dir holding config/plugin.yaml, or undefined. */
export function findProjectRoot(dir: string): string | undefined {
  for (let d = dir; ;) {
    if (hasManifest(d)) return d;
    const up = path.dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}
