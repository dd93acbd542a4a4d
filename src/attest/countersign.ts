/**
 * The marketplace's counter-signature of a published version's
 * attestations: an in-toto Statement v1 whose subjects are the archive, the
 * SBOM and the provenance envelope as the marketplace stored them (sha256
 * each), signed into a DSSE envelope (dsse.ts) with the marketplace's key.
 * The server makes it on publish; `marketplace download` checks it. A
 * separate document from the archive's counter-signature (signing/document.ts),
 * whose format stays as it is. docs/signing.md, "The marketplace's
 * counter-signature of the attestations".
 */
import { isObject } from '../core/schema/issues.js';
import type { TrustedKey } from '../signing/keyring.js';
import { envelopeBody, envelopeSignatureMatches, IN_TOTO_PAYLOAD_TYPE, parseEnvelope, type Envelope } from './dsse.js';
import { STATEMENT_TYPE, type Subject } from './provenance.js';

/** What the statement says it is: the marketplace vouches that it published these bytes together. */
export const PUBLICATION_TYPE = 'urn:plexichat-plugin-cli:marketplace-publication:v1';

export interface PublicationInput {
  plugin: { name: string; version: string };
  /** The archive first, then the SBOM and the envelope that are present. */
  subjects: Subject[];
  publishedAt: string;
  keyId: string;
}

export function makePublicationStatement(p: PublicationInput): Record<string, unknown> {
  return {
    _type: STATEMENT_TYPE,
    subject: p.subjects,
    predicateType: PUBLICATION_TYPE,
    predicate: { plugin: p.plugin, published_at: p.publishedAt, marketplace_key_id: p.keyId },
  };
}

export interface PublicationCheck {
  code: string;
  message: string;
}

function subjectsOf(doc: Record<string, unknown>): Subject[] {
  if (!Array.isArray(doc.subject)) throw new Error('"subject" is missing');
  return doc.subject.map((s: unknown, i: number) => {
    if (!isObject(s) || typeof s.name !== 'string' || !isObject(s.digest) || typeof s.digest.sha256 !== 'string') {
      throw new Error(`subject ${i + 1} has no name or sha256`);
    }
    return { name: s.name, digest: { sha256: s.digest.sha256 } };
  });
}

/** Parse the statement of a counter-signature envelope; throws with a one-line reason. */
function publicationOf(env: Envelope): { plugin: { name: string; version: string }; subjects: Subject[] } {
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new Error(`its payloadType is ${JSON.stringify(env.payloadType)}`);
  const doc: unknown = JSON.parse(envelopeBody(env).toString('utf8'));
  if (!isObject(doc) || doc._type !== STATEMENT_TYPE || doc.predicateType !== PUBLICATION_TYPE) throw new Error('it is not a publication statement');
  const plugin = isObject(doc.predicate) ? doc.predicate.plugin : undefined;
  if (!isObject(plugin) || typeof plugin.name !== 'string' || typeof plugin.version !== 'string') throw new Error('"predicate.plugin" is missing');
  return { plugin: { name: plugin.name, version: plugin.version }, subjects: subjectsOf(doc) };
}

/**
 * The counter-signature checked: signed by one of the marketplace's keys,
 * for this plugin and version, naming exactly these digests. undefined when
 * it holds; otherwise the code (ATTESTATION_COUNTERSIGNATURE_INVALID) and why.
 */
export function checkPublication(
  raw: unknown,
  keys: TrustedKey[],
  expected: { plugin: { name: string; version: string }; digests: { archive: string; sbom?: string; provenance?: string } },
): PublicationCheck | undefined {
  const bad = (why: string): PublicationCheck => ({
    code: 'ATTESTATION_COUNTERSIGNATURE_INVALID',
    message: `the marketplace's counter-signature of the attestations ${why}`,
  });
  let env: Envelope;
  let statement: ReturnType<typeof publicationOf>;
  try {
    env = parseEnvelope(JSON.stringify(raw));
    statement = publicationOf(env);
  } catch (err) {
    return bad(`is malformed (${(err as Error).message})`);
  }
  if (!env.signatures.some((s) => keys.some((k) => (s.keyid === undefined || s.keyid === k.keyId) && envelopeSignatureMatches(env, s, k.publicKey)))) {
    return bad(`is not signed by the marketplace's key (${keys.map((k) => k.keyId).join(', ') || 'none known'})`);
  }
  const { plugin } = statement;
  if (plugin.name !== expected.plugin.name || plugin.version !== expected.plugin.version) {
    return bad(`is for ${plugin.name} ${plugin.version}, not ${expected.plugin.name} ${expected.plugin.version}`);
  }
  const signed = new Set(statement.subjects.map((s) => s.digest.sha256));
  const served = Object.entries(expected.digests).filter((e): e is [string, string] => e[1] !== undefined);
  const missing = served.find(([, sha]) => !signed.has(sha));
  if (missing) return bad(`does not name the ${missing[0]} that was served (sha256 ${missing[1].slice(0, 16)}…): it changed after publication`);
  if (statement.subjects.length !== served.length) return bad(`names ${statement.subjects.length} files, ${served.length} were served`);
  return undefined;
}
