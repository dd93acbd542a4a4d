/**
 * The files of a shared library as archive entries: `<name>/<path>` at the
 * archive's root, where the plugin root's modules are (the runtime puts the
 * plugin root on the path, as test does), so `import <name>` works the same
 * in the archive as in the workspace. Caches (__pycache__, *.pyc), hidden
 * entries and links are left out; a file named like a secret (.env, a
 * private key) refuses the build, as in the plugin itself.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { WorkFailedError } from '../errors.js';
import { secretByName } from '../core/package/secrets.js';
import type { PackFile } from '../core/package/pack.js';
import type { Library } from './members.js';

const SKIP_DIR = new Set(['__pycache__', 'tests']);
const SKIP_FILE = /\.py[co]$/;

export async function libraryFiles(lib: Library): Promise<(PackFile & { rule: string })[]> {
  const out: (PackFile & { rule: string })[] = [];
  const rule = `workspace library ${lib.name} (${lib.rel})`;
  const walk = async (dir: string, rel: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.') && secretByName(e.name) === undefined) continue;
      const abs = path.join(dir, e.name);
      const entry = `${rel}/${e.name}`.normalize('NFC');
      if (e.isDirectory()) {
        if (!SKIP_DIR.has(e.name)) await walk(abs, entry);
        continue;
      }
      if (!e.isFile() || SKIP_FILE.test(e.name)) continue;
      const secret = secretByName(entry);
      if (secret) {
        throw new WorkFailedError(
          `${lib.rel}/${entry.slice(lib.name.length + 1)} looks like a secret (${secret.description}); a library is packed into every plugin that imports it`,
          {
            code: 'SECRET_FOUND',
            hint: 'move it out of the library folder',
          },
        );
      }
      const st = await fs.stat(abs);
      out.push({ path: entry, abs, size: st.size, mode: st.mode & 0o111 ? 0o755 : 0o644, rule });
    }
  };
  await walk(lib.dir, lib.name);
  return out;
}
