import { WorkFailedError } from '../../errors.js';
import type { Ctx } from '../../cli/context.js';

// Placeholder until this command lands; see the open issues.
export async function run(_opts: unknown, _ctx: Ctx): Promise<never> {
  throw new WorkFailedError('marketplace whoami is not available yet');
}
