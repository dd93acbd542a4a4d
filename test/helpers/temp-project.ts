import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';

export type Tree = { [name: string]: string | Buffer | Tree };

/** Write a tree of files (nested objects are folders) under dir. */
export async function writeTree(dir: string, tree: Tree): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const [name, value] of Object.entries(tree)) {
    const p = path.join(dir, name);
    if (typeof value === 'string' || Buffer.isBuffer(value)) {
      await fs.mkdir(path.dirname(p), { recursive: true });
      await fs.writeFile(p, value);
    } else {
      await writeTree(p, value);
    }
  }
}

/** A fresh temp dir (optionally filled with a tree), removed when the test ends. */
export async function tempDir(tree: Tree = {}, prefix = 'pxp-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await writeTree(dir, tree);
  try {
    onTestFinished(() => fs.rm(dir, { recursive: true, force: true }));
  } catch {
    // called outside a test (beforeAll): the caller cleans up
  }
  return dir;
}

/** Every file below dir, relative, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string) {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(dir, p).split(path.sep).join('/'));
    }
  }
  await walk(dir);
  return out.sort();
}
