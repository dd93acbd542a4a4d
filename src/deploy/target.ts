/**
 * `deploy render --target NAME`: a named target's deploy: block
 * (workspace/file.ts reads it, marketplace/targets.ts finds the target)
 * as deploy render's options. A flag given on the command line wins over
 * the target's setting of the same name.
 */
import type { Ctx } from '../io/context.js';
import type { TargetDeploy } from '../workspace/file.js';
import type { DeployRenderOptions } from './project.js';

export interface TargetedOptions extends DeployRenderOptions {
  target?: string;
}

/** The options with the target's settings under them (flags win); the options as given without --target. */
export function withTargetSettings(opts: TargetedOptions, d: TargetDeploy | undefined): DeployRenderOptions {
  const { target: _t, ...given } = opts;
  if (!d) return given;
  const out: DeployRenderOptions = { ...given };
  if (!given.env?.length && d.env) out.env = d.env;
  if (given.image === undefined && d.registry !== undefined) out.registry = d.registry;
  if (given.baseImage === undefined && d.baseImage !== undefined) out.baseImage = d.baseImage;
  if (given.helm === undefined && d.helm !== undefined) out.helm = d.helm;
  if (given.platformNamespace === undefined && d.platformNamespace !== undefined) out.platformNamespace = d.platformNamespace;
  if (given.platformPods === undefined && d.platformPods !== undefined) out.platformPods = d.platformPods;
  if (given.scraperNamespace === undefined && d.scraperNamespace !== undefined) out.scraperNamespace = d.scraperNamespace;
  if (given.scraperPods === undefined && d.scraperPods !== undefined) out.scraperPods = d.scraperPods;
  return out;
}

/** Resolve --target NAME (UNKNOWN_TARGET with the known names) and put its deploy settings under the flags. */
export async function targetedOptions(opts: TargetedOptions, ctx: Ctx): Promise<DeployRenderOptions> {
  if (opts.target === undefined) return withTargetSettings(opts, undefined);
  const { namedTarget } = await import('../marketplace/targets.js');
  const t = await namedTarget(opts.target, { env: ctx.env, start: ctx.start });
  return withTargetSettings(opts, t.deploy);
}
