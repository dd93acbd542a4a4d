/**
 * The third-party modules a plugin's code and tests import, read from the
 * text of its .py files (src/, tests/, a root conftest.py): every `import x`
 * and `from x import ...`, at any depth of the file, by top-level name. The
 * plugin's own modules and the bundled SDK are left out. Interpreter
 * discovery uses the list to prefer an interpreter that can import them.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

const SDK = 'plexichat_plugin_sdk';
const IMPORT = /^[ \t]*(?:from[ \t]+([A-Za-z_]\w*)[\w.]*[ \t]+import\b|import[ \t]+([^\n#;]+))/gm;
/** Enough for any plugin; a larger tree is read up to here. */
const MAX_FILES = 2000;
const MAX_BYTES = 1024 * 1024;
/** Files read at once: enough to hide latency, few enough for any fd limit. */
const PARALLEL = 8;

async function entries(dir: string): Promise<import('node:fs').Dirent[]> {
  return fs.readdir(dir, { withFileTypes: true }).catch(() => []);
}

/** Names importable from the project itself: modules and packages at the root, in src/ and in tests/. */
async function localNames(root: string): Promise<Set<string>> {
  const out = new Set<string>(['src', 'tests']);
  const listed = await Promise.all([root, path.join(root, 'src'), path.join(root, 'tests')].map(entries));
  for (const e of listed.flat()) {
    if (e.isDirectory()) out.add(e.name);
    else if (e.name.endsWith('.py')) out.add(e.name.slice(0, -3));
  }
  return out;
}

async function pythonFiles(root: string): Promise<string[]> {
  const files = [path.join(root, 'conftest.py')];
  const walk = async (dir: string) => {
    for (const e of await entries(dir)) {
      if (files.length >= MAX_FILES) return;
      const p = path.join(dir, e.name);
      if (e.isDirectory() && !e.name.startsWith('.') && e.name !== '__pycache__') await walk(p);
      else if (e.isFile() && e.name.endsWith('.py')) files.push(p);
    }
  };
  await walk(path.join(root, 'src'));
  await walk(path.join(root, 'tests'));
  return files;
}

export function importedNames(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    if (m[1]) out.push(m[1]);
    else
      for (const part of m[2].split(',')) {
        const name = /^\s*\(?\s*([A-Za-z_]\w*)/.exec(part)?.[1];
        if (name) out.push(name);
      }
  }
  return out;
}

/** Sorted top-level names of the modules the project imports from outside itself (the standard library included). */
export async function projectImports(root: string): Promise<string[]> {
  const [local, files] = await Promise.all([localNames(root), pythonFiles(root)]);
  const texts = new Array<string>(files.length);
  let next = 0;
  const reader = async () => {
    for (let i = next++; i < files.length; i = next++) {
      const st = await fs.stat(files[i]).catch(() => undefined);
      texts[i] = st?.isFile() && st.size <= MAX_BYTES ? await fs.readFile(files[i], 'utf8').catch(() => '') : '';
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, files.length) }, reader));
  const names = new Set<string>();
  for (const text of texts) {
    for (const n of importedNames(text)) if (!local.has(n) && n !== SDK && n !== '__future__') names.add(n);
  }
  return [...names].sort();
}
