/** Running a documentation page's shell block as written. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { BIN } from './run-cli.js';
import { tempDir } from './temp-project.js';

/** The first ```bash block after a heading line of a Markdown file. */
export async function bashBlock(file: string, heading: string): Promise<string> {
  const text = await fs.readFile(file, 'utf8');
  const at = text.indexOf(`\n${heading}\n`);
  expect(at, `${heading} in ${file}`).toBeGreaterThan(-1);
  const block = /```bash\n([\s\S]*?)```/.exec(text.slice(at));
  expect(block, `a bash block under ${heading}`).not.toBeNull();
  return block![1];
}

/** A PATH with both program names (as npm install -g gives), node, and the rest of this PATH. */
export async function cliPath(): Promise<string> {
  const bin = await tempDir();
  for (const name of ['plexichat-plugin', 'plexichat-plugin-cli']) await fs.symlink(BIN, path.join(bin, name));
  return [bin, path.dirname(process.execPath), process.env.PATH].join(path.delimiter);
}
