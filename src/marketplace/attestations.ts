/**
 * The `attestations` member the marketplace gives a submission or a
 * published version (server/attestations.ts): read leniently, said in lines
 * for `status` and `info`. The SLSA level is the one the marketplace states
 * (Build L1 for a statement signed on the developer's machine), never more.
 */
import { isObject } from '../core/schema/issues.js';

function sha(x: unknown): string | undefined {
  return isObject(x) && typeof x.sha256 === 'string' ? x.sha256 : undefined;
}

/** One line for the SBOM and one for the provenance, when the marketplace holds them; none otherwise. */
export function attestationLines(a: unknown): string[] {
  if (!isObject(a)) return [];
  const lines: string[] = [];
  const sbom = sha(a.sbom);
  if (sbom) lines.push(`SBOM        sha256 ${sbom.slice(0, 16)}…`);
  const prov = sha(a.provenance);
  if (prov && isObject(a.provenance)) {
    const key = typeof a.provenance.key_id === 'string' ? `, signed by key ${a.provenance.key_id}` : '';
    const level = typeof a.provenance.slsa_level === 'string' ? ` (${a.provenance.slsa_level}: signed on the developer's machine)` : '';
    lines.push(`provenance  sha256 ${prov.slice(0, 16)}…${key}${level}`);
  }
  if (lines.length > 0 && a.countersigned === true) lines.push('attestations counter-signed by the marketplace');
  return lines;
}
