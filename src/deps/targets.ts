/**
 * Where a lock must install: a Python version and a platform. A target with
 * a wheel platform tag (`manylinux_2_17_x86_64`, `macosx_11_0_arm64`,
 * `win_amd64`) is resolved by pip for that platform with wheels only; the
 * host target is this machine as its interpreter reports it. Each target
 * has one PEP 508 marker that names it, written in the lock beside the
 * packages that belong to it, and read back by `deps sync`.
 */
import { environmentOfTag } from '../core/package/wheels.js';
export { environmentOfTag };

export interface Target {
  /** `3.11`: major.minor. */
  python: string;
  /** A wheel platform tag, or undefined for the machine the lock ran on. */
  platform?: string;
  /** The marker environment the target stands for. */
  sysPlatform: string;
  machine: string;
}

const PYTHON = /^3\.\d{1,2}$/;

export function validPython(v: string): boolean {
  return PYTHON.test(v);
}

export function targetOfTag(python: string, tag: string): Target | undefined {
  const env = environmentOfTag(tag);
  return env && { python, platform: tag, ...env };
}

/** The one marker that names a target. */
export function markerOf(t: Target): string {
  return `python_version == '${t.python}' and sys_platform == '${t.sysPlatform}' and platform_machine == '${t.machine}'`;
}

/** `3.11 on manylinux_2_17_x86_64`, `3.11 on this machine (linux x86_64)`. */
export function describeTarget(t: Target): string {
  return `Python ${t.python} on ${t.platform ?? `this machine (${t.sysPlatform} ${t.machine})`}`;
}

export function sameTarget(a: Target, b: Target): boolean {
  return a.python === b.python && a.sysPlatform === b.sysPlatform && a.machine === b.machine && (a.platform ?? '') === (b.platform ?? '');
}

export interface MarkerEnvironment {
  python_version: string;
  sys_platform: string;
  platform_machine: string;
}

/**
 * Evaluate a marker the lock writer wrote: `A or B or …`, each a
 * conjunction of `name == 'value'` over the three names above and
 * `'group' in dependency_groups`. Anything else (a hand-edited marker) is
 * undefined: the caller refuses the lock rather than guess.
 */
export function evaluateMarker(marker: string, env: MarkerEnvironment, groups: readonly string[]): boolean | undefined {
  const alternatives = marker.split(/\s+or\s+/);
  let any = false;
  for (const alt of alternatives) {
    let all = true;
    for (const raw of alt.replace(/^\(|\)$/g, '').split(/\s+and\s+/)) {
      const clause = raw.trim().replace(/^\(|\)$/g, '');
      let m = /^(python_version|sys_platform|platform_machine)\s*==\s*'([^']*)'$/.exec(clause);
      if (m) {
        if (env[m[1] as keyof MarkerEnvironment] !== m[2]) all = false;
        continue;
      }
      m = /^'([a-z0-9-]+)'\s+in\s+dependency_groups$/.exec(clause);
      if (m) {
        if (!groups.includes(m[1])) all = false;
        continue;
      }
      return undefined;
    }
    if (all) any = true;
  }
  return any;
}
