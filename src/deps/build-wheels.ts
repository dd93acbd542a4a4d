/**
 * What `build --wheels` packs beside the project's files, decided before
 * anything is packed: the lock must be there and still satisfy the manifest
 * (`deps lock --check`), every wheel is on this machine and matches its
 * sha256. Returns one variant per archive (per platform with
 * --split-platforms), each with its members, its file name and the SBOM's
 * libraries.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Ctx } from '../io/context.js';
import { userPath } from '../io/context.js';
import { archiveFileName } from '../core/plugin-name.js';
import { requirementName } from '../core/manifest/rules.js';
import type { SbomDependency } from '../attest/sbom.js';
import { basePython, manifestInputs } from './command-input.js';
import { lockProblems, readLock, staleLock } from './lock.js';
import { normalizeName } from './requirement.js';
import { fetchWheels, planWheels, variantFiles, type ExtraFile } from './wheels.js';
import type { PackedWheel } from '../core/package/wheels.js';

export interface WheelBuildVariant {
  platform: string;
  /** The archive's file name, for a platform variant. */
  fileName?: string;
  extra: ExtraFile[];
  wheels: PackedWheel[];
  dependencies: SbomDependency[];
}

export interface WheelBuildPlan {
  variants: WheelBuildVariant[];
  /** Remove the generated files once the archives are written. */
  cleanup(): Promise<void>;
}

export interface WheelBuildOptions {
  ctx: Ctx;
  split: boolean;
  findLinks?: string[];
  indexUrl?: string;
}

function dependenciesOf(wheels: PackedWheel[], requirements: string[]): SbomDependency[] {
  return wheels.map((w) => {
    const name = normalizeName(w.name);
    const requirement = requirements.find((r) => requirementName(r) === name) ?? '';
    return { name, requirement, provided: 'archive' as const, version: w.version, sha256: w.sha256 };
  });
}

export async function planWheelBuild(o: WheelBuildOptions): Promise<WheelBuildPlan> {
  const { ctx } = o;
  const [inputs, lock] = await Promise.all([manifestInputs(ctx), readLock(ctx.cwd)]);
  const problems = lockProblems(lock, inputs);
  if (problems.length) throw staleLock(problems);
  const { currentManifest } = await import('../marketplace/project.js');
  const m = await currentManifest(ctx);
  const variants = planWheels(lock, o.split);
  const link = (l: string) => (/^[a-z][a-z0-9+.-]*:/i.test(l) ? l : userPath(ctx, l));
  const files = await fetchWheels(variants, {
    dir: ctx.cwd,
    env: ctx.env,
    index: { indexUrl: o.indexUrl, findLinks: o.findLinks?.map(link) },
    python: () => basePython(ctx, undefined),
  });
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'plexichat-wheels-'));
  const cleanup = () => rm(scratch, { recursive: true, force: true });
  try {
    const out: WheelBuildVariant[] = [];
    for (const v of variants) {
      const { extra, index } = await variantFiles(v, files, scratch);
      const fileName = v.split ? archiveFileName(m.plugin.name, String(m.plugin.version), v.platform) : undefined;
      out.push({ platform: v.platform, fileName, extra, wheels: index.wheels, dependencies: dependenciesOf(index.wheels, inputs.requirements) });
    }
    return { variants: out, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
