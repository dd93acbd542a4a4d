/**
 * `version <patch|minor|major|X.Y.Z> [--pre ID] [--note TEXT]... [--git] [--dry-run]`
 * in a plugin's folder: the work is release/version-plugin.ts, the same
 * operation a workspace run calls for each plugin (docs/release.md).
 */
import type { Ctx } from '../io/context.js';
import { showVersion, versionPlugin, type VersionOptions, type VersionResult } from '../release/version-plugin.js';

export type { VersionOptions, VersionResult } from '../release/version-plugin.js';

export function run(opts: VersionOptions, ctx: Ctx): Promise<VersionResult> {
  return versionPlugin(opts, ctx);
}

export function render(r: VersionResult, ctx: Ctx): void {
  showVersion(r, ctx);
}
