/** `marketplace info <name>`: a plugin's published versions (public; no token sent), from the server or a static registry (--registry). */
import type { Ctx } from '../../io/context.js';
import type { PluginInfo } from '../../marketplace/client.js';
import { withReader } from '../../registry/open.js';
import { inline } from '../../io/terminal.js';
import { attestationLines } from '../../marketplace/attestations.js';

export interface InfoOptions {
  name: string;
  /** A static registry (http(s):// or file://) instead of the marketplace server. */
  registry?: string;
}

export async function run(opts: InfoOptions, ctx: Ctx): Promise<PluginInfo> {
  return withReader(ctx, opts.registry, (reader) => reader.plugin(opts.name));
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
    // A version built with --split-platforms: one archive per platform (`marketplace download --platform`).
    for (const a of v.variants ?? []) ctx.out.result(`    ${inline(`platform ${a.platform}  sha256 ${a.sha256.slice(0, 12)}…  ${a.size} bytes`)}`);
  }
}
