/**
 * A module hook for a real CLI process that records every module it loads:
 * `node --import <loadHookArg()>` makes the process write `LOADED <url>` to
 * stderr for each one; loadedModules reads them back (dist/ paths shortened).
 */
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from './temp-project.js';

/** The `--import` value that installs the hook (written to a temp dir of the current test: temp dirs go with their test). */
export async function loadHookArg(): Promise<string> {
  const dir = await tempDir();
  await fs.writeFile(
    path.join(dir, 'hooks.mjs'),
    "import { writeSync } from 'node:fs';\nexport async function load(url, context, next) {\n  writeSync(2, `LOADED ${url}\\n`);\n  return next(url, context);\n}\n",
  );
  const register = path.join(dir, 'register.mjs');
  await fs.writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)});\n`);
  return pathToFileURL(register).href;
}

/** What each file of dist/bundle/ holds (scripts/bundle.mjs writes it): a loaded chunk stands for its modules. */
let bundleModules: Record<string, string[]> | undefined;
function modulesOf(loaded: string): string[] {
  const chunk = /\/dist\/bundle\/([^/]+\.js)$/.exec(loaded);
  if (!chunk) return [loaded.replace(/^.*\/dist\//, 'dist/')];
  bundleModules ??= JSON.parse(readFileSync(new URL('../../dist/bundle/modules.json', import.meta.url), 'utf8')) as Record<string, string[]>;
  return bundleModules[chunk[1]] ?? [`dist/bundle/${chunk[1]}`];
}

/** The modules a hooked run reported loading: dist/ paths (the modules inside a loaded bundle chunk), node_modules/ paths and node: builtins. */
export function loadedModules(stderr: string): string[] {
  return [...stderr.matchAll(/^LOADED (.+)$/gm)].flatMap((m) => modulesOf(m[1]));
}
