/**
 * `deps sync`: make .venv hold exactly what pylock.toml locks for this
 * machine (runtime and dev group, hash-checked) and the bundled SDK; `test`,
 * `dev` and `check` then run in it. The work is src/deps/sync.ts.
 */
import path from 'node:path';
import type { Ctx } from '../../io/context.js';
import { basePython, indexOptions, manifestInputs, type IndexFlags } from '../../deps/command-input.js';
import { lockProblems, readLock, staleLock } from '../../deps/lock.js';
import { syncVenv, type SyncResult } from '../../deps/sync.js';

export type DepsSyncOptions = IndexFlags;

export async function run(opts: DepsSyncOptions, ctx: Ctx): Promise<SyncResult> {
  const [inputs, lock] = await Promise.all([manifestInputs(ctx), readLock(ctx.cwd)]);
  const problems = lockProblems(lock, inputs);
  if (problems.length) throw staleLock(problems);
  return syncVenv({ dir: ctx.cwd, env: ctx.env, lock, base: () => basePython(ctx, opts.python), index: indexOptions(ctx, opts) });
}

export function render(r: SyncResult, ctx: Ctx): void {
  const { out } = ctx;
  const venv = path.relative(ctx.start, r.venv) || r.venv;
  const changed = r.installed.length + r.removed.length + (r.sdk.installed ? 1 : 0);
  const made = r.created ? `made ${venv} (Python ${r.version}); ` : '';
  if (changed === 0)
    out.result(`${out.c.green('✔')} ${venv} is up to date with pylock.toml (${r.kept} packages and the SDK ${r.sdk.version}; nothing reinstalled)`);
  else {
    out.result(
      `${out.c.green('✔')} ${made}${venv} is in sync with pylock.toml: ${r.installed.length} installed, ${r.removed.length} removed, ${r.kept} kept${r.sdk.installed ? `, SDK ${r.sdk.version} installed` : ''}`,
    );
  }
  for (const p of r.installed) out.info(`  + ${p.name} ${p.version}`);
  for (const p of r.removed) out.info(`  - ${p.name} ${p.version}`);
  out.info(`test, dev and check now run in ${venv}/bin/python`);
}
