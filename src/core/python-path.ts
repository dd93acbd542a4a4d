/**
 * Where Python interpreters may be, without running any (no execa import,
 * so `validate` and `build` stay light). Order: --python, PLEXICHAT_PYTHON,
 * then python3 / python on PATH.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Every python3/python on PATH, in PATH order, without duplicates. */
export function pathCandidates(env: NodeJS.ProcessEnv): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const name of ['python3', 'python']) {
    for (const dir of dirs) {
      const p = path.join(dir, name);
      if (!seen.has(p) && isExecutable(p)) {
        seen.add(p);
        out.push(p);
      }
    }
  }
  return out;
}

/** A pinned interpreter (flag, then PLEXICHAT_PYTHON), resolved against cwd when relative. */
export function pinnedPython(
  env: NodeJS.ProcessEnv,
  explicit: string | undefined,
  cwd = '.',
): { path: string; source: 'flag' | 'env' } | undefined {
  const pinned = explicit ?? (env.PLEXICHAT_PYTHON || undefined);
  if (!pinned) return undefined;
  const p = path.isAbsolute(pinned) || !pinned.includes('/') ? pinned : path.resolve(cwd, pinned);
  return { path: p, source: explicit ? 'flag' : 'env' };
}
