/**
 * A plugin folder inside a workspace: `test` and `dev` run there put the
 * workspace's shared libraries on PYTHONPATH, as `test --all` does, so a
 * plugin importing one runs the same from its folder and from the root.
 * Outside a workspace the environment is unchanged.
 */
import path from 'node:path';
import { findWorkspaceRoot } from './file.js';
import { libraryPaths, loadWorkspace } from './members.js';

export async function workspaceEnv(dir: string, env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const root = findWorkspaceRoot(dir);
  if (!root) return env;
  const ws = await loadWorkspace(root);
  const paths = libraryPaths(ws.libraries);
  if (paths.length === 0) return env;
  return { ...env, PYTHONPATH: [...paths, ...(env.PYTHONPATH ? env.PYTHONPATH.split(path.delimiter) : [])].join(path.delimiter) };
}
