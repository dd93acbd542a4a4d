/** The public side: a plugin's published versions and their archives. */
import { createReadStream } from 'node:fs';
import semver from 'semver';
import type { RouteHandlers, ServerCore } from '../core.js';
import { ApiError } from '../errors.js';
import type { SubmissionRow } from '../db.js';
import { attestationNames, type AttestationKind } from '../attestations.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { checkName, checkVersion } from './values.js';

export function pluginHandlers(core: ServerCore): RouteHandlers<'getPlugin' | 'download' | 'sbom' | 'provenance'> {
  const { db, store } = core;
  return {
    async getPlugin(req) {
      const name = checkName((req.params as { name: string }).name);
      const plugin = db.plugin(name);
      if (!plugin) throw new ApiError(404, 'PLUGIN_NOT_FOUND', `no plugin named ${name}`);
      const versions = db
        .published(name)
        .sort((a, b) => semver.rcompare(a.version, b.version))
        .map((r) => ({
          version: r.version,
          channel: r.channel,
          sha256: r.sha256,
          size: r.size,
          published_at: r.published_at,
          manifest: r.manifest ? (JSON.parse(r.manifest) as unknown) : null,
          attestations: core.attestations.summaryOf(r.id),
        }));
      return { name: plugin.name, owner: plugin.owner, versions };
    },

    async download(req, reply) {
      const row = publishedRow(core, req);
      const { plugin: name, version } = row;
      reply
        .type('application/zip')
        .header('Content-Length', String(row.size))
        .header('X-Content-SHA256', row.sha256)
        .header('Content-Disposition', `attachment; filename="${name}-${version}.zip"`);
      return reply.send(createReadStream(store.pathOf(row.sha256)));
    },

    sbom: (req, reply) => serveAttestation(core, req, reply, 'sbom'),
    provenance: (req, reply) => serveAttestation(core, req, reply, 'provenance'),
  };
}

/** The published version a route's {name} and {version} name (404 otherwise). */
function publishedRow(core: ServerCore, req: FastifyRequest): SubmissionRow {
  const p = req.params as { name: string; version: string };
  const name = checkName(p.name);
  const version = checkVersion(p.version);
  const row = core.db.submissionOf(name, version);
  if (!row || row.state !== 'published') throw new ApiError(404, 'VERSION_NOT_FOUND', `${name} ${version} is not published`);
  return row;
}

/** GET …/sbom and …/provenance: the stored file, as it was uploaded (its digest in X-Content-SHA256). */
async function serveAttestation(core: ServerCore, req: FastifyRequest, reply: FastifyReply, kind: AttestationKind) {
  const row = publishedRow(core, req);
  const f = core.attestations.fileOf(row, kind);
  const names = attestationNames(row.plugin, row.version);
  reply
    .type(kind === 'sbom' ? 'application/vnd.cyclonedx+json' : 'application/jsonl')
    .header('Content-Length', String(f.size))
    .header('X-Content-SHA256', f.sha256)
    .header('Content-Disposition', `attachment; filename="${names[kind]}"`);
  return reply.send(createReadStream(f.file));
}
