/** The public side: a plugin's published versions and their archives. */
import semver from 'semver';
import type { RouteHandlers, ServerCore } from '../core.js';
import { ApiError } from '../errors.js';
import type { SubmissionRow } from '../storage/meta.js';
import { attestationNames, type AttestationKind } from '../attestations.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { checkName, checkVersion } from './values.js';

export function pluginHandlers(core: ServerCore): RouteHandlers<'getPlugin' | 'download' | 'sbom' | 'provenance'> {
  const { meta, blobs } = core;
  return {
    async getPlugin(req) {
      const name = checkName((req.params as { name: string }).name);
      const plugin = await meta.plugin(name);
      if (!plugin) throw new ApiError(404, 'PLUGIN_NOT_FOUND', `no plugin named ${name}`);
      const rows = await meta.published(name);
      const attested = new Map(await Promise.all(rows.map(async (r) => [r.id, await core.attestations.summaryOf(r.id)] as const)));
      // One entry per version: its first archive's facts, and with platform variants each variant's.
      const byVersion = new Map<string, SubmissionRow[]>();
      for (const r of rows) byVersion.set(r.version, [...(byVersion.get(r.version) ?? []), r]);
      const versions = [...byVersion.values()]
        .sort((a, b) => semver.rcompare(a[0].version, b[0].version))
        .map(([r, ...more]) => ({
          version: r.version,
          channel: r.channel,
          sha256: r.sha256,
          size: r.size,
          published_at: r.published_at,
          manifest: r.manifest ? (JSON.parse(r.manifest) as unknown) : null,
          attestations: attested.get(r.id) ?? null,
          ...(r.platform
            ? { variants: [r, ...more].map((v) => ({ platform: v.platform, sha256: v.sha256, size: v.size, attestations: attested.get(v.id) ?? null })) }
            : {}),
        }));
      return { name: plugin.name, owner: plugin.owner, versions };
    },

    async download(req, reply) {
      const row = await publishedRow(core, req);
      const { plugin: name, version } = row;
      reply
        .type('application/zip')
        .header('Content-Length', String(row.size))
        .header('X-Content-SHA256', row.sha256)
        .header('Content-Disposition', `attachment; filename="${name}-${version}${row.platform ? `-${row.platform}` : ''}.zip"`);
      return reply.send(await blobs.open(row.sha256));
    },

    sbom: (req, reply) => serveAttestation(core, req, reply, 'sbom'),
    provenance: (req, reply) => serveAttestation(core, req, reply, 'provenance'),
  };
}

/**
 * The published archive a route's {name}, {version} and `?platform=` name
 * (404 otherwise): the version's one archive (whatever the platform asked
 * for), or the platform variant asked for; a version with variants needs
 * `platform` (PLATFORM_REQUIRED), and one without the platform asked for
 * is PLATFORM_NOT_FOUND; both list the platforms there are.
 */
export async function publishedRow(core: ServerCore, req: FastifyRequest): Promise<SubmissionRow> {
  const p = req.params as { name: string; version: string };
  const name = checkName(p.name);
  const version = checkVersion(p.version);
  const asked = (req.query as { platform?: unknown } | undefined)?.platform;
  const rows = (await core.meta.variantsOf(name, version)).filter((r) => r.state === 'published');
  if (rows.length === 0) throw new ApiError(404, 'VERSION_NOT_FOUND', `${name} ${version} is not published`);
  if (rows[0].platform === '') return rows[0];
  const platforms = rows.map((r) => r.platform).sort();
  if (typeof asked !== 'string' || asked === '') {
    throw new ApiError(400, 'PLATFORM_REQUIRED', `${name} ${version} has one archive per platform (${platforms.join(', ')}); ask for one with ?platform=`, {
      platforms,
    });
  }
  const row = rows.find((r) => r.platform === asked);
  if (!row) {
    throw new ApiError(404, 'PLATFORM_NOT_FOUND', `${name} ${version} has no archive for ${asked.slice(0, 80)} (it has ${platforms.join(', ')})`, {
      platforms,
    });
  }
  return row;
}

/** GET …/sbom and …/provenance: the stored file, as it was uploaded (its digest in X-Content-SHA256). */
async function serveAttestation(core: ServerCore, req: FastifyRequest, reply: FastifyReply, kind: AttestationKind) {
  const row = await publishedRow(core, req);
  const f = await core.attestations.fileOf(row, kind);
  const names = attestationNames(row.plugin, row.version);
  reply
    .type(kind === 'sbom' ? 'application/vnd.cyclonedx+json' : 'application/jsonl')
    .header('Content-Length', String(f.size))
    .header('X-Content-SHA256', f.sha256)
    .header('Content-Disposition', `attachment; filename="${names[kind]}"`);
  return reply.send(await core.blobs.openAt(f.key));
}
