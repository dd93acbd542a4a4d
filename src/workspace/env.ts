/**
 * A plugin folder inside a workspace: `test` and `dev` run there put the
 * workspace's shared libraries on PYTHONPATH, as `test --all` does, so a
 * plugin importing one runs the same from its folder and from the root.
 * Outside a workspace the environment is unchanged.
 */
import path from 'node:path';
import { findWorkspaceRoot } from './file.js';
import { libraryPaths, loadWorkspace } from './members.js';
import { importedLibraries } from './affected.js';
import { libraryFiles } from './library-files.js';

export async function workspaceEnv(dir: string, env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const root = findWorkspaceRoot(dir);
  if (!root) return env;
  const ws = await loadWorkspace(root);
  const paths = libraryPaths(ws.libraries);
  if (paths.length === 0) return env;
  return { ...env, PYTHONPATH: [...paths, ...(env.PYTHONPATH ? env.PYTHONPATH.split(path.delimiter) : [])].join(path.delimiter) };
}

/**
 * `build` in a plugin folder inside a workspace: the files of the shared
 * libraries the plugin imports, packed as `build --all` packs them (the
 * same archive either way); none outside a workspace.
 */
export async function workspaceLibraryFiles(dir: string): Promise<Awaited<ReturnType<typeof libraryFiles>>> {
  const root = findWorkspaceRoot(dir);
  if (!root) return [];
  const ws = await loadWorkspace(root);
  const used = await importedLibraries({ name: '', dir, rel: path.relative(root, dir) }, ws.libraries);
  return (await Promise.all(used.map(libraryFiles))).flat();
}
