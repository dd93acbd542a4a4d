import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, expect } from 'vitest';
import { runMain } from './run-main.js';
import { tempDir } from './temp-project.js';

/** No marketplace, no token: what a scaffold and the checks over it run with. */
export const offline = { PLEXICHAT_MARKETPLACE_URL: undefined, PLEXICHAT_TOKEN: undefined };

/**
 * A fresh scaffold (`init <name> --yes`), made once per test file in
 * beforeAll; the returned function copies it into a new temp dir (with
 * `files` written over it, paths relative to the project) for each test.
 */
export function useScaffold(name: string, prefix: string): (files?: Record<string, string>) => Promise<string> {
  let scaffold: string;
  beforeAll(async () => {
    const root = await tempDir({}, prefix);
    const r = await runMain(['init', name, '--name', name, '--category', 'utility', '--yes'], { cwd: root, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
    scaffold = path.join(root, name);
  });
  return async (files = {}) => {
    const dir = await tempDir({}, prefix);
    await fs.cp(scaffold, dir, { recursive: true });
    for (const [rel, text] of Object.entries(files)) await fs.writeFile(path.join(dir, rel), text);
    return dir;
  };
}
