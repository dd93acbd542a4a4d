/**
 * The plugin project a marketplace command acts on when given no name or
 * id: the manifest in ctx.cwd (or -C <dir>).
 */
import type { Ctx } from '../io/context.js';
import { WorkFailedError } from '../errors.js';
import { loadManifest } from '../core/manifest/index.js';
import { location } from '../core/manifest/format.js';
import type { Manifest } from '../core/manifest/types.js';
import type { ProjectSources } from '../project/types.js';

/** The project's manifest, or MANIFEST_INVALID; through `project` when the caller has loaded one (parsed once). */
export async function currentManifest(ctx: Ctx, project?: ProjectSources): Promise<Manifest> {
  const { manifest, diagnostics } = project ? await project.manifest() : await loadManifest(ctx.cwd);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (!manifest || errors.length > 0) {
    const first = errors[0];
    throw new WorkFailedError(
      `config/plugin.yaml has ${errors.length || 'an'} error${errors.length === 1 ? '' : 's'}${
        first ? `; first: ${location(first)} ${first.code} ${first.message}` : ''
      }`,
      { code: 'MANIFEST_INVALID', hint: 'run `plexichat-plugin validate` and fix what it reports' },
    );
  }
  return manifest;
}

/**
 * The plugin and version a command without an id acts on (the current
 * project's); nothing when an id was given.
 */
export async function currentTarget(ctx: Ctx, id: string | undefined): Promise<{ plugin?: string; version?: string }> {
  if (id) return {};
  const m = await currentManifest(ctx);
  return { plugin: m.plugin.name, version: m.plugin.version };
}
