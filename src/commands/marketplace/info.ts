/** `marketplace info <name>`: a plugin's published versions (public; no token sent). */
import type { Ctx } from '../../io/context.js';
import type { PluginInfo } from '../../marketplace/client.js';
import { withSession } from '../../marketplace/session.js';
import { inline } from '../../io/terminal.js';
import { attestationLines } from '../../marketplace/attestations.js';

export interface InfoOptions {
  name: string;
}

export async function run(opts: InfoOptions, ctx: Ctx): Promise<PluginInfo> {
  return withSession(ctx, { token: 'none' }, ({ client }) => client.plugin(opts.name));
}

export function render(p: PluginInfo, ctx: Ctx): void {
  ctx.out.result(inline(`${p.name}${p.owner ? ` (owner ${p.owner})` : ''}`));
  if (p.versions.length === 0) {
    ctx.out.result('  no published versions yet');
    return;
  }
  for (const v of p.versions) {
    const parts = [v.version, v.channel ?? '', v.published_at ?? '', v.sha256 ? `sha256 ${v.sha256.slice(0, 12)}…` : ''];
    ctx.out.result(`  ${inline(parts.filter(Boolean).join('  '))}`);
    for (const l of attestationLines(v.attestations)) ctx.out.result(`    ${inline(l)}`);
  }
}
