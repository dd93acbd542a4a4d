/** The public side: a plugin's published versions and their archives. */
import semver from 'semver';
import type { RouteHandlers, ServerCore } from '../core.js';
import { ApiError } from '../errors.js';
import { checkName, checkVersion } from './values.js';

export function pluginHandlers(core: ServerCore): RouteHandlers<'getPlugin' | 'download'> {
  const { meta, blobs } = core;
  return {
    async getPlugin(req) {
      const name = checkName((req.params as { name: string }).name);
      const plugin = await meta.plugin(name);
      if (!plugin) throw new ApiError(404, 'PLUGIN_NOT_FOUND', `no plugin named ${name}`);
      const versions = (await meta.published(name))
        .sort((a, b) => semver.rcompare(a.version, b.version))
        .map((r) => ({
          version: r.version,
          channel: r.channel,
          sha256: r.sha256,
          size: r.size,
          published_at: r.published_at,
          manifest: r.manifest ? (JSON.parse(r.manifest) as unknown) : null,
        }));
      return { name: plugin.name, owner: plugin.owner, versions };
    },

    async download(req, reply) {
      const p = req.params as { name: string; version: string };
      const name = checkName(p.name);
      const version = checkVersion(p.version);
      const row = await meta.submissionOf(name, version);
      if (!row || row.state !== 'published') {
        throw new ApiError(404, 'VERSION_NOT_FOUND', `${name} ${version} is not published`);
      }
      reply
        .type('application/zip')
        .header('Content-Length', String(row.size))
        .header('X-Content-SHA256', row.sha256)
        .header('Content-Disposition', `attachment; filename="${name}-${version}.zip"`);
      return reply.send(await blobs.open(row.sha256));
    },
  };
}
