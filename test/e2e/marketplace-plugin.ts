/**
 * Plugin projects for the marketplace e2e tests: a small source tree, and
 * its archive made by the real `plexichat-plugin build`. `craftArchive`
 * makes archives `build` never would (a manifest that disagrees with the
 * sources), with archiver and the integrity listing, for the server's
 * rejections.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import archiver from 'archiver';
import { serializeIntegrity } from '../../src/core/package/integrity.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir, writeTree } from '../helpers/temp-project.js';

export interface PluginSpec {
  name: string;
  version?: string;
  description?: string;
  readme?: string;
  /** CHANGELOG.md text; by default one section for the version. */
  changelog?: string;
  /** Extra bytes in the sources and archive (src/data.bin), to make archives differ or grow. */
  payload?: Buffer;
}

export function manifestYaml(name: string, version: string, description = 'Counts messages per channel'): string {
  return `plugin:
  name: ${name}
  version: "${version}"
  author: Test Author
  description: ${JSON.stringify(description)}
metadata:
  category: utility
  tags: [utility]
  license: MIT
permissions:
  required: [message_read]
  optional: []
hooks:
  - message_sent
`;
}

const PLUGIN_PY = `from plexichat_plugin_sdk import Plugin, hook


class TestPlugin(Plugin):
    @hook("message_sent")
    def on_message(self, event):
        return None
`;

/** Write the sources of a plugin project into dir. */
export async function writeSources(dir: string, spec: PluginSpec): Promise<void> {
  const version = spec.version ?? '1.0.0';
  await writeTree(dir, {
    config: { 'plugin.yaml': manifestYaml(spec.name, version, spec.description) },
    src: { '__init__.py': '', 'plugin.py': PLUGIN_PY },
    docs: { 'README.md': spec.readme ?? `# ${spec.name}\n\nCounts the messages sent in each channel.\n` },
    'CHANGELOG.md': spec.changelog ?? `# Changelog\n\n## [${version}] - 2026-11-26\n\n### Added\n- First version.\n`,
    ...(spec.payload ? { src: { '__init__.py': '', 'plugin.py': PLUGIN_PY, 'data.bin': spec.payload } } : {}),
  });
}

/** `plexichat-plugin build` in dir: dist/<name>-<version>.zip and its .sha256. */
export async function build(dir: string): Promise<void> {
  const r = await runMain(['build'], { cwd: dir });
  if (r.exitCode !== 0) throw new Error(`build failed in ${dir}:\n${r.stdout}\n${r.stderr}`);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Package the project's sources into dist/<name>-<version>.zip (+ .sha256) without `build`'s checks. */
export async function craftArchive(dir: string, spec: PluginSpec): Promise<{ file: string; sha256: string; size: number }> {
  const version = spec.version ?? '1.0.0';
  const members: { name: string; data: Buffer }[] = [];
  for (const rel of ['config/plugin.yaml', 'docs/README.md', 'src/__init__.py', 'src/plugin.py']) {
    members.push({ name: rel, data: await fs.readFile(path.join(dir, rel)) });
  }
  if (spec.payload) members.push({ name: 'src/data.bin', data: spec.payload });
  const integrity = serializeIntegrity(
    { name: spec.name, version },
    members.map((m) => ({ path: m.name, size: m.data.length, sha256: sha(m.data) })),
  );
  const dist = path.join(dir, 'dist');
  await fs.mkdir(dist, { recursive: true });
  const file = path.join(dist, `${spec.name}-${version}.zip`);
  const zip = archiver('zip', { zlib: { level: 6 } });
  const out = createWriteStream(file);
  const closed = new Promise<void>((resolve, reject) => {
    out.on('close', () => resolve());
    out.on('error', reject);
    zip.on('error', reject);
  });
  zip.pipe(out);
  const date = new Date('2026-01-01T00:00:00Z');
  for (const m of [...members, { name: 'plexichat-integrity.json', data: integrity }]) {
    zip.append(m.data, { name: m.name, date, mode: 0o644, store: m.name === 'src/data.bin' });
  }
  await zip.finalize();
  await closed;
  const bytes = await fs.readFile(file);
  const digest = sha(bytes);
  await fs.writeFile(`${file}.sha256`, `${digest}  ${path.basename(file)}\n`);
  return { file, sha256: digest, size: bytes.length };
}

/** A temp plugin project with sources and an archive from the real `build`. */
export async function pluginProject(spec: PluginSpec): Promise<string> {
  const dir = await tempDir({}, 'pxp-plugin-');
  await writeSources(dir, spec);
  await build(dir);
  return dir;
}
