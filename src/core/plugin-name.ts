/**
 * The plugin-name rule and the names derived from it, in one place: `init`,
 * `validate`, `build`, the marketplace client and the development
 * marketplace all import this module, so a name one of them accepts is
 * accepted by all of them.
 *
 * A plugin name is snake_case: lower-case letters and digits in words joined
 * by single underscores, starting with a letter, 3-64 characters.
 */

export const NAME_MIN = 3;
export const NAME_MAX = 64;
export const NAME_PATTERN = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

export function isPluginName(name: string): boolean {
  return name.length >= NAME_MIN && name.length <= NAME_MAX && NAME_PATTERN.test(name);
}

/** Why a plugin name is invalid, or undefined when it is fine. */
export function whyNotPluginName(name: string): string | undefined {
  if (isPluginName(name)) return undefined;
  if (name.length < NAME_MIN) return `it must be at least ${NAME_MIN} characters long`;
  if (name.length > NAME_MAX) return `it must be at most ${NAME_MAX} characters long`;
  if (!/^[a-z]/.test(name)) return 'it must start with a lowercase letter';
  if (/_$/.test(name)) return 'it must not end with an underscore';
  if (/__/.test(name)) return 'use single underscores between words';
  return 'use only lowercase letters, digits and underscores (snake_case)';
}

/** A valid name close to what was typed (My-Plugin → my_plugin), if there is one. */
export function suggestPluginName(input: string): string | undefined {
  const s = input
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^[^a-z]+/, '')
    .slice(0, NAME_MAX)
    .replace(/_+$/, '');
  return isPluginName(s) && s !== input ? s : undefined;
}

/** `<name>-<version>`: the stem of every file `build` writes for a version. */
export function artefactStem(name: string, version: string): string {
  return `${name}-${version}`;
}

/** `<name>-<version>.zip`, or `<name>-<version>-<platform>.zip` for a platform variant: the archive's file name, locally and on the marketplace. */
export function archiveFileName(name: string, version: string, platform?: string): string {
  return `${artefactStem(name, version)}${platform ? `-${platform}` : ''}.zip`;
}

/**
 * `name[@version]` as `download` and `verify --expect` take it: the name and
 * the version, or why it is not one (the caller words the usage error).
 */
export function parsePluginSpec(spec: string, isVersion: (v: string) => boolean): { name: string; version?: string } | { problem: string } {
  const at = spec.lastIndexOf('@');
  const name = at > 0 ? spec.slice(0, at) : spec;
  const version = at > 0 ? spec.slice(at + 1) : undefined;
  if (!isPluginName(name)) return { problem: `${JSON.stringify(name.slice(0, 80))} is not a plugin name: ${whyNotPluginName(name)}` };
  if (version !== undefined && (!isVersion(version) || version.startsWith('v'))) {
    return { problem: `${JSON.stringify(version.slice(0, 40))} is not a semantic version` };
  }
  return version === undefined ? { name } : { name, version };
}
