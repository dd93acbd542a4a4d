/**
 * `init` inside a workspace: the new plugin's folder is added to the
 * workspace file's `plugins:` list, unless a glob there covers it already.
 * The file is edited through the yaml package's Document API, so its
 * comments, order and style stay as written; it is checked before the
 * scaffold is written (an invalid workspace file stops init with nothing
 * written) and rewritten atomically after.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { isSeq, parseDocument } from 'yaml';
import { writeFileAtomic } from '../io/atomic.js';
import { findWorkspaceRoot, readWorkspace, WORKSPACE_FILE, type WorkspaceSpec } from './file.js';
import { findMembers } from './members.js';

export interface WorkspaceEntry {
  /** The workspace file, absolute. */
  file: string;
  /** The plugin folder relative to the workspace root. */
  entry: string;
  /** False when a glob of plugins: already covered the folder. */
  added: boolean;
}

/** The workspace above the folder a plugin is created in, read and checked; undefined outside a workspace. */
export async function workspaceFor(pluginDir: string): Promise<WorkspaceSpec | undefined> {
  const root = findWorkspaceRoot(path.dirname(pluginDir));
  return root ? readWorkspace(root) : undefined;
}

/** Add the (scaffolded) plugin folder to the workspace's plugins: list when no entry covers it. */
export async function addToWorkspace(spec: WorkspaceSpec, pluginDir: string): Promise<WorkspaceEntry> {
  const entry = path.relative(spec.root, pluginDir).split(path.sep).join('/');
  const covered = (await findMembers(spec)).some((m) => m.dir === pluginDir);
  if (covered) return { file: spec.file, entry, added: false };
  const doc = parseDocument(await fs.readFile(spec.file, 'utf8'));
  const list = doc.get('plugins', true);
  if (isSeq(list)) list.add(doc.createNode(entry));
  else doc.set('plugins', [entry]);
  await writeFileAtomic(spec.file, doc.toString());
  return { file: spec.file, entry, added: true };
}

export { WORKSPACE_FILE };
