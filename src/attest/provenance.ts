/**
 * Build provenance: an in-toto Statement v1 with an SLSA Provenance v1
 * predicate, signed into a DSSE envelope (dsse.ts) with the key that signs
 * the archive. Pure. docs/signing.md, "Build provenance", is the reference.
 *
 * What it can claim: SLSA Build L1. The statement exists, says how the
 * archive was built and is signed by the publisher's key, but it is made
 * on the publisher's own machine: nothing stops the key's holder from
 * writing any statement (L2 needs a hosted build platform that signs).
 */
import { isObject } from '../core/schema/issues.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PROVENANCE_TYPE = 'https://slsa.dev/provenance/v1';
/** What kind of build this is: `build` of this CLI, parameters as in externalParameters below. */
export const BUILD_TYPE = 'urn:plexichat-plugin-cli:build:v1';
/** The SLSA build level a locally signed statement reaches; said in docs and output, never more. */
export const SLSA_LEVEL = 'SLSA Build L1';

export function builderId(cliVersion: string): string {
  return `urn:plexichat-plugin-cli:local-build:${cliVersion}`;
}

export interface Subject {
  name: string;
  digest: { sha256: string };
}

export interface ProvenanceInput {
  /** The archive first, then the SBOM. */
  subjects: Subject[];
  /** The build's flags and inputs that are not files (docs/signing.md lists them). */
  externalParameters: Record<string, unknown>;
  /** The packed source files: path and sha256. */
  files: { path: string; sha256: string }[];
  /** The git commit of the project, when it is in a git work tree. */
  git?: { commit: string; dirty: boolean };
  cli: { name: string; version: string };
  node: string;
  startedOn: string;
  finishedOn: string;
}

export function makeStatement(input: ProvenanceInput): Record<string, unknown> {
  const resolved: Record<string, unknown>[] = [];
  if (input.git) resolved.push({ name: 'git', digest: { gitCommit: input.git.commit }, annotations: { dirty: input.git.dirty } });
  for (const f of input.files) resolved.push({ name: f.path, digest: { sha256: f.sha256 } });
  return {
    _type: STATEMENT_TYPE,
    subject: input.subjects,
    predicateType: PROVENANCE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: input.externalParameters,
        internalParameters: { node: input.node },
        resolvedDependencies: resolved,
      },
      runDetails: {
        builder: { id: builderId(input.cli.version), version: { [input.cli.name]: input.cli.version } },
        metadata: { startedOn: input.startedOn, finishedOn: input.finishedOn },
      },
    },
  };
}

/** What verify reads back from a statement. */
export interface StatementFacts {
  subjects: Subject[];
  /** When the build finished: the time the signing key's validity is judged at. */
  finishedOn: string;
  builderId: string;
  commit?: string;
}

/** Parse a statement (the envelope's payload); throws an Error with a one-line reason. */
export function parseStatement(body: Buffer): StatementFacts {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new Error(`its payload is not JSON (${(err as Error).message})`);
  }
  if (!isObject(doc) || doc._type !== STATEMENT_TYPE) throw new Error(`its payload is not an in-toto Statement v1 ("_type" is not ${STATEMENT_TYPE})`);
  if (doc.predicateType !== PROVENANCE_TYPE)
    throw new Error(`its predicate is not SLSA Provenance v1 ("predicateType" is ${JSON.stringify(doc.predicateType)})`);
  if (!Array.isArray(doc.subject) || doc.subject.length === 0) throw new Error('its statement has no "subject"');
  const subjects = doc.subject.map((s: unknown, i: number) => {
    if (!isObject(s) || typeof s.name !== 'string' || !isObject(s.digest) || typeof s.digest.sha256 !== 'string') {
      throw new Error(`subject ${i + 1} has no name or sha256 digest`);
    }
    return { name: s.name, digest: { sha256: s.digest.sha256.toLowerCase() } };
  });
  const p = isObject(doc.predicate) ? doc.predicate : {};
  const run = isObject(p.runDetails) ? p.runDetails : {};
  const meta = isObject(run.metadata) ? run.metadata : {};
  const finishedOn = meta.finishedOn;
  if (typeof finishedOn !== 'string' || Number.isNaN(Date.parse(finishedOn))) throw new Error('"runDetails.metadata.finishedOn" is missing or not a time');
  const builder = isObject(run.builder) && typeof run.builder.id === 'string' ? run.builder.id : '';
  const bd = isObject(p.buildDefinition) ? p.buildDefinition : {};
  const resolved: unknown[] = Array.isArray(bd.resolvedDependencies) ? bd.resolvedDependencies : [];
  let commit: string | undefined;
  for (const d of resolved) if (isObject(d) && isObject(d.digest) && typeof d.digest.gitCommit === 'string') commit ??= d.digest.gitCommit;
  return { subjects, finishedOn, builderId: builder, ...(commit ? { commit } : {}) };
}
