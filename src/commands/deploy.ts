/**
 * `deploy render [--target NAME]`: the Dockerfile, Kubernetes manifests per
 * environment, optional Helm chart and monitoring objects of the plugin in
 * this folder. The work is deploy/project.ts (renderProject), the same
 * operation a workspace run calls for each plugin; --target puts a named
 * target's deploy: settings under the flags (deploy/target.ts).
 */
import { userPath, type Ctx } from '../io/context.js';
import { deployExit, renderProject, showDeploy, type DeployResult } from '../deploy/project.js';
import { targetedOptions, type TargetedOptions } from '../deploy/target.js';

export type { DeployResult } from '../deploy/project.js';

export async function run(opts: TargetedOptions, ctx: Ctx): Promise<DeployResult> {
  const settings = await targetedOptions(opts, ctx);
  return renderProject(ctx.cwd, { ...settings, ...(opts.out !== undefined ? { outPath: userPath(ctx, opts.out) } : {}) }, ctx);
}

export function render(r: DeployResult, ctx: Ctx): void {
  showDeploy(r, ctx);
}

export function exitCode(r: DeployResult): number {
  return deployExit(r);
}
