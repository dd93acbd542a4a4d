/**
 * What `deps lock` and `deps sync` share: the manifest's dependencies, the
 * index flags passed on to pip, and the interpreter that runs pip.
 */
import { WorkFailedError } from '../errors.js';
import { userPath, userProgram, type Ctx } from '../io/context.js';
import { currentManifest } from '../marketplace/project.js';
import type { DepsInputs } from './lock.js';
import type { IndexOptions } from './pip.js';

export interface IndexFlags {
  indexUrl?: string;
  extraIndexUrl?: string[];
  findLinks?: string[];
  index?: boolean;
  python?: string;
}

export async function manifestInputs(ctx: Ctx): Promise<DepsInputs> {
  const m = await currentManifest(ctx);
  const deps = m.dependencies ?? {};
  return { requirements: deps.packages ?? [], ...(deps.python ? { python: deps.python } : {}) };
}

export function indexOptions(ctx: Ctx, f: IndexFlags): IndexOptions {
  // A --find-links folder the user typed resolves where they typed it; a URL stays a URL.
  const link = (l: string) => (/^[a-z][a-z0-9+.-]*:/i.test(l) ? l : userPath(ctx, l));
  return { indexUrl: f.indexUrl, extraIndexUrls: f.extraIndexUrl, findLinks: f.findLinks?.map(link), noIndex: f.index === false };
}

/** The interpreter whose pip resolves (and that makes a new .venv): --python / PLEXICHAT_PYTHON, else the first on PATH. */
export async function basePython(ctx: Ctx, explicit: string | undefined): Promise<string> {
  const { findPython } = await import('../python/discover.js');
  const found = await findPython({ env: ctx.env, explicit: userProgram(ctx, explicit), cwd: ctx.cwd });
  if (!found.ok) {
    throw new WorkFailedError(found.reason === 'not-runnable' ? `${found.path} does not run as Python` : 'no python3 found on PATH', {
      code: 'PYTHON_NOT_FOUND',
      hint: 'install Python 3 with pip, or pass --python <path>',
    });
  }
  return found.python.path;
}
