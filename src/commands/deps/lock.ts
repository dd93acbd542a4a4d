/**
 * `deps lock [--check]`: resolve config/plugin.yaml's dependencies.packages
 * with pip for each target into pylock.toml (PEP 751), or (--check, for
 * CI) fail when the lock no longer satisfies the manifest. The work is
 * src/deps/lock.ts.
 */
import path from 'node:path';
import type { Ctx } from '../../io/context.js';
import { basePython, indexOptions, manifestInputs, type IndexFlags } from '../../deps/command-input.js';
import { LOCK_FILE } from '../../deps/lock-file.js';
import { checkTargetFlags, chooseTargets, lockDependencies, lockProblems, probeHost, readLock, staleLock } from '../../deps/lock.js';
import { describeTarget } from '../../deps/targets.js';

export interface DepsLockOptions extends IndexFlags {
  check?: boolean;
  pythonVersion?: string[];
  platform?: string[];
}

export interface DepsLockResult {
  lock: string;
  checked: boolean;
  written: boolean;
  targets: string[];
  packages: { name: string; version: string; group: 'runtime' | 'dev' }[];
}

export async function run(opts: DepsLockOptions, ctx: Ctx): Promise<DepsLockResult> {
  const flags = { pythonVersions: opts.pythonVersion, platforms: opts.platform };
  checkTargetFlags(flags);
  const inputs = await manifestInputs(ctx);
  if (opts.check) {
    const lock = await readLock(ctx.cwd);
    const problems = lockProblems(lock, inputs);
    if (problems.length) throw staleLock(problems);
    const { targetsOf, DEV_GROUP } = await import('../../deps/lock-file.js');
    return {
      lock: path.join(ctx.cwd, LOCK_FILE),
      checked: true,
      written: false,
      targets: targetsOf(lock).map(describeTarget),
      packages: lock.packages.map((p) => ({
        name: p.name,
        version: p.version,
        group: p.marker?.includes(`'${DEV_GROUP}' in`) && !p.marker.includes(' or ') ? 'dev' : 'runtime',
      })),
    };
  }
  const pip = { python: await basePython(ctx, opts.python), env: ctx.env, cwd: ctx.cwd };
  const host = await probeHost(pip);
  const previous = await readLock(ctx.cwd).catch(() => undefined);
  const targets = chooseTargets(host, flags, previous);
  const r = await lockDependencies({ pip, host, dir: ctx.cwd, inputs, targets, index: indexOptions(ctx, opts) });
  return { lock: r.lock, checked: false, written: r.written, targets: r.targets.map(describeTarget), packages: r.packages };
}

export function render(r: DepsLockResult, ctx: Ctx): void {
  const { out } = ctx;
  const rel = path.relative(ctx.start, r.lock) || LOCK_FILE;
  const runtime = r.packages.filter((p) => p.group === 'runtime').length;
  const counts = `${runtime} runtime, ${r.packages.length - runtime} dev`;
  if (r.checked) out.result(`${out.c.green('✔')} ${rel} satisfies config/plugin.yaml (${counts}; ${r.targets.join('; ')})`);
  else out.result(`${out.c.green('✔')} ${r.written ? 'wrote' : 'unchanged:'} ${rel} (${counts} packages for ${r.targets.join('; ')})`);
  if (!r.checked) for (const p of r.packages) out.info(`  ${p.name} ${p.version}${p.group === 'dev' ? ' (dev)' : ''}`);
}
