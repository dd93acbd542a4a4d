/**
 * The development marketplace's side of the attestations (docs/signing.md,
 * docs/marketplace-api.md): the SBOM and the provenance envelope that come
 * with an upload (the `sbom` and `provenance` parts) are checked with the
 * rule `verify` applies (attest/verify.ts) against the developer's
 * registered keys, stored content-addressed in the blob store under
 * attestations/<aa>/<sha256>.<ext> (storage/blobs.ts) before the submission's row,
 * shown with the submission, counter-signed on publish (attest/countersign.ts)
 * and served beside the archive. Its own table (storage/meta.ts) and keys, so
 * the sweep of unreferenced archives never touches them.
 */
import { IN_TOTO_PAYLOAD_TYPE, type Envelope } from '../attest/dsse.js';
import { makePublicationStatement } from '../attest/countersign.js';
import { SLSA_LEVEL } from '../attest/provenance.js';
import type { ArchiveView } from '../attest/sbom.js';
import { checkAttestations } from '../attest/verify.js';
import type { KeyRecord } from '../signing/keyring.js';
import { sha256Hex } from '../signing/verify.js';
import type { AttestationRow, MetaStore, SubmissionRow } from './storage/meta.js';
import { attestationKey, type BlobStore } from './storage/blobs.js';
import { ApiError } from './errors.js';
import type { ServerSigning } from './signing.js';

/** The largest SBOM or envelope part an upload may carry. */
export const ATTESTATION_PART_MAX = 8 * 1024 * 1024;

export type AttestationKind = 'sbom' | 'provenance';

const EXT: Record<AttestationKind, string> = { sbom: '.cdx.json', provenance: '.intoto.jsonl' };

/** What an upload's check accepted: the bytes to store, and the facts to record. */
export interface AcceptedAttestations {
  sbom?: { bytes: Buffer; sha256: string };
  provenance?: { bytes: Buffer; sha256: string; keyId: string };
}

/** The file names a publication statement gives the three files. */
export function attestationNames(plugin: string, version: string): Record<'archive' | AttestationKind, string> {
  const base = `${plugin}-${version}`;
  return { archive: `${base}.zip`, sbom: `${base}${EXT.sbom}`, provenance: `${base}${EXT.provenance}` };
}

export interface AttestationSummary {
  sbom: { sha256: string; size: number | null } | null;
  provenance: { sha256: string; size: number | null; key_id: string | null; slsa_level: string } | null;
  countersigned: boolean;
}

function rowOf(submissionId: string, a: AcceptedAttestations): AttestationRow {
  return {
    submission_id: submissionId,
    sbom_sha256: a.sbom?.sha256 ?? null,
    sbom_size: a.sbom?.bytes.length ?? null,
    provenance_sha256: a.provenance?.sha256 ?? null,
    provenance_size: a.provenance?.bytes.length ?? null,
    provenance_key: a.provenance?.keyId ?? null,
    marketplace: null,
  };
}

function summary(r: AttestationRow): AttestationSummary {
  return {
    sbom: r.sbom_sha256 === null ? null : { sha256: r.sbom_sha256, size: r.sbom_size },
    provenance:
      r.provenance_sha256 === null ? null : { sha256: r.provenance_sha256, size: r.provenance_size, key_id: r.provenance_key, slsa_level: SLSA_LEVEL },
    countersigned: r.marketplace !== null,
  };
}

export class ServerAttestations {
  constructor(
    private readonly meta: MetaStore,
    private readonly blobs: BlobStore,
    private readonly signing: ServerSigning,
  ) {}

  /** The blob store key of a stored SBOM or envelope. */
  static keyOf(sha256: string, kind: AttestationKind): string {
    return attestationKey(sha256, EXT[kind]);
  }

  /**
   * The upload's SBOM and envelope against the archive and the owner's keys
   * as they are now. Throws ApiError 422 with verify's code for the first problem.
   */
  async check(u: { owner: string; name: string; version: string; archive: ArchiveView; sbom?: Buffer; provenance?: Buffer }): Promise<AcceptedAttestations> {
    if (!u.sbom && !u.provenance) return {};
    const names = attestationNames(u.name, u.version);
    const c = await checkAttestations({
      sbomFile: names.sbom,
      sbomShown: `the "sbom" part`,
      provenanceFile: names.provenance,
      provenanceShown: `the "provenance" part`,
      archiveName: names.archive,
      archive: u.archive,
      keys: u.provenance ? await this.signing.trustedOf(u.owner) : undefined,
      given: { sbom: u.sbom, provenance: u.provenance },
    });
    const failed = [c.provenance, c.sbom].find((s) => s.status === 'failed');
    if (failed) {
      const finding = c.findings.find((f) => f.severity === 'error' && f.code === failed.code);
      const hint = failed.code === 'UNKNOWN_KEY' ? 'register your key with `plexichat-plugin marketplace keys add <pubkey-file>`' : failed.hint;
      throw new ApiError(422, failed.code ?? 'PROVENANCE_INVALID', `${finding?.message ?? 'the attestations were refused'}${hint ? `; ${hint}` : ''}`);
    }
    const out: AcceptedAttestations = {};
    if (u.sbom) out.sbom = { bytes: u.sbom, sha256: sha256Hex(u.sbom) };
    if (u.provenance) out.provenance = { bytes: u.provenance, sha256: sha256Hex(u.provenance), keyId: c.provenance.key_id ?? '' };
    return out;
  }

  /** Write the accepted files under their digests (durably, before the submission's row exists). */
  async store(a: AcceptedAttestations): Promise<void> {
    for (const kind of ['sbom', 'provenance'] as const) {
      const got = a[kind];
      if (got) await this.blobs.writeAt(ServerAttestations.keyOf(got.sha256, kind), got.bytes);
    }
  }

  /** The row of what came with a submission (the submission's insert transaction stores it), or undefined. */
  record(a: AcceptedAttestations): Omit<AttestationRow, 'submission_id'> | undefined {
    if (!a.sbom && !a.provenance) return undefined;
    const { submission_id: _id, ...row } = rowOf('', a);
    return row;
  }

  private row(id: string): Promise<AttestationRow | undefined> {
    return this.meta.attestationRow(id);
  }

  /** The `attestations` member of a submission or a version: digests, the provenance's key and its SLSA level (Build L1, locally signed). */
  async summaryOf(id: string): Promise<AttestationSummary | null> {
    const r = await this.row(id);
    return r ? summary(r) : null;
  }

  /** The same for what an upload brought, before its row is stored. */
  summaryOfAccepted(a: AcceptedAttestations): AttestationSummary | null {
    if (!a.sbom && !a.provenance) return null;
    return summary(rowOf('', a));
  }

  /** The counter-signature of what is published with the archive; null when nothing came with it. */
  async counterSign(row: SubmissionRow, publishedAt: string): Promise<Envelope | null> {
    const r = await this.row(row.id);
    if (!r) return null;
    const names = attestationNames(row.plugin, row.version);
    const subjects = [{ name: names.archive, digest: { sha256: row.sha256 } }];
    if (r.sbom_sha256 !== null) subjects.push({ name: names.sbom, digest: { sha256: r.sbom_sha256 } });
    if (r.provenance_sha256 !== null) subjects.push({ name: names.provenance, digest: { sha256: r.provenance_sha256 } });
    const statement = makePublicationStatement({ plugin: { name: row.plugin, version: row.version }, subjects, publishedAt, keyId: this.signing.keyId });
    return this.signing.envelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement), 'utf8'));
  }

  /** The `attestations` member of GET …/signatures: digests, the provenance signer's key record, the counter-signature. */
  async servedOf(row: SubmissionRow) {
    const r = await this.row(row.id);
    if (!r) return null;
    const key: KeyRecord | null = r.provenance_key ? ((await this.signing.keyRecord(r.provenance_key)) ?? null) : null;
    return {
      sbom: r.sbom_sha256 === null ? null : { sha256: r.sbom_sha256, size: r.sbom_size },
      provenance:
        r.provenance_sha256 === null ? null : { sha256: r.provenance_sha256, size: r.provenance_size, key_id: r.provenance_key, slsa_level: SLSA_LEVEL, key },
      marketplace: r.marketplace === null ? null : (JSON.parse(r.marketplace) as unknown),
    };
  }

  /** The stored file of a published version's SBOM or envelope (404 when it came without one). */
  async fileOf(row: SubmissionRow, kind: AttestationKind): Promise<{ key: string; sha256: string; size: number }> {
    const r = await this.row(row.id);
    const sha = kind === 'sbom' ? r?.sbom_sha256 : r?.provenance_sha256;
    const size = kind === 'sbom' ? r?.sbom_size : r?.provenance_size;
    if (!sha || size === null || size === undefined) {
      throw new ApiError(
        404,
        'ATTESTATION_NOT_FOUND',
        `${row.plugin} ${row.version} was published without ${kind === 'sbom' ? 'an SBOM' : 'a provenance envelope'}`,
      );
    }
    return { key: ServerAttestations.keyOf(sha, kind), sha256: sha, size };
  }
}
