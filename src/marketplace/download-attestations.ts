/**
 * `marketplace download`'s check of a version's attestations: the SBOM and
 * the provenance envelope the marketplace serves beside the archive are
 * fetched and checked with verify's rule (attest/verify.ts: the envelope
 * signed by the publisher's key, its subject the downloaded archive, the
 * SBOM the one it signed and describing the archive), then the
 * marketplace's counter-signature of the three digests (attest/countersign.ts).
 * Nothing is written here: the caller writes the bytes once all of it holds.
 */
import { checkPublication } from '../attest/countersign.js';
import { MAX_ENVELOPE_BYTES } from '../attest/dsse.js';
import { MAX_SBOM_BYTES, type ArchiveView } from '../attest/sbom.js';
import { checkAttestations } from '../attest/verify.js';
import { isObject } from '../core/schema/issues.js';
import { parseKeyRecord, type TrustedKey } from '../signing/keyring.js';
import { sha256Hex } from '../signing/verify.js';
import type { MarketplaceClient, VersionSignatures } from './client.js';

export interface DownloadedAttestations {
  sbom?: Buffer;
  provenance?: Buffer;
  /** The provenance's signer and the level it reaches. */
  keyId?: string;
  slsaLevel?: string;
}

export interface AttestationProblem {
  code: string;
  message: string;
  hint: string;
}

const REPORT = 'the marketplace served attestations that are not the ones that were signed: do not install the plugin; report it to the marketplace';

function served(x: unknown): { sha256: string; key?: unknown } | undefined {
  return isObject(x) && typeof x.sha256 === 'string' ? { sha256: x.sha256, key: x.key } : undefined;
}

/** Fetch and check; the bytes, or the first problem. */
export async function downloadAttestations(o: {
  client: Pick<MarketplaceClient, 'attestationFile'>;
  name: string;
  version: string;
  sigs: VersionSignatures;
  marketKeys: TrustedKey[];
  archiveName: string;
  archive: ArchiveView;
  platform?: string;
}): Promise<DownloadedAttestations | AttestationProblem> {
  const a = o.sigs.attestations;
  const sbomServed = isObject(a) ? served(a.sbom) : undefined;
  const provServed = isObject(a) ? served(a.provenance) : undefined;
  if (!isObject(a) || (!sbomServed && !provServed)) return {};
  const [sbom, provenance] = await Promise.all([
    sbomServed ? o.client.attestationFile(o.name, o.version, 'sbom', MAX_SBOM_BYTES, o.platform) : undefined,
    provServed ? o.client.attestationFile(o.name, o.version, 'provenance', MAX_ENVELOPE_BYTES, o.platform) : undefined,
  ]);
  let keys: TrustedKey[] = [];
  try {
    keys = provServed?.key ? [parseKeyRecord(provServed.key)] : [];
  } catch {
    keys = [];
  }
  const base = `${o.name}-${o.version}`;
  const c = await checkAttestations({
    sbomFile: `${base}.cdx.json`,
    sbomShown: `the SBOM ${base}.cdx.json`,
    provenanceFile: `${base}.intoto.jsonl`,
    provenanceShown: `${base}.intoto.jsonl`,
    archiveName: o.archiveName,
    archive: o.archive,
    keys: provenance ? keys : undefined,
    given: { sbom, provenance },
  });
  const failed = [c.provenance, c.sbom].find((s) => s.status === 'failed');
  if (failed) {
    const f = c.findings.find((x) => x.severity === 'error' && x.code === failed.code);
    return { code: failed.code ?? 'PROVENANCE_INVALID', message: f?.message ?? 'the attestations do not verify', hint: REPORT };
  }
  if (a.marketplace === null || a.marketplace === undefined) {
    return {
      code: 'SIGNATURE_MISSING',
      message: 'the marketplace has no counter-signature of the attestations it serves',
      hint: 'report this to the marketplace',
    };
  }
  const problem = checkPublication(a.marketplace, o.marketKeys, {
    plugin: { name: o.name, version: o.version },
    digests: { archive: o.archive.sha256, sbom: sbom && sha256Hex(sbom), provenance: provenance && sha256Hex(provenance) },
  });
  if (problem) return { ...problem, hint: REPORT };
  return { sbom, provenance, keyId: c.provenance.key_id, slsaLevel: c.provenance.slsa_level };
}
