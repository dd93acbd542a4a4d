/**
 * Which archive of a published version to fetch: the version's one archive,
 * or, for a version built with --split-platforms, the variant asked for
 * (--platform) or else the one for this machine, by the rule build names
 * variants with and pip matches wheel tags by (core/package/wheels.ts
 * variantFor). A version without the platform is PLATFORM_NOT_FOUND, naming
 * the platforms it has.
 */
import { WorkFailedError } from '../errors.js';
import { hostMachine, variantFor } from '../core/package/wheels.js';
import type { PluginVersion } from './client.js';

/** The platforms of a version's variants (none: one archive for every platform). */
export function variantPlatforms(entry: PluginVersion | undefined): string[] {
  return (entry?.variants ?? []).map((v) => v.platform).sort();
}

export function pickVariant(entry: PluginVersion | undefined, asked: string | undefined, name: string, version: string): string | undefined {
  const platforms = variantPlatforms(entry);
  if (platforms.length === 0) return undefined;
  const host = hostMachine();
  const chosen = asked !== undefined ? platforms.find((p) => p === asked) : variantFor(platforms, host);
  if (chosen) return chosen;
  const wanted = asked ?? `this machine (${host.sysPlatform} ${host.machine})`;
  throw new WorkFailedError(`${name} ${version} has no archive for ${wanted}; it has ${platforms.join(', ')}`, {
    code: 'PLATFORM_NOT_FOUND',
    hint: `pass --platform with one of them (e.g. --platform ${platforms[0]}), or ask the publisher for a build for your platform`,
    details: { platforms },
  });
}
