/**
 * Interpreters that misbehave in one known way, for the tests of what the
 * CLI says then. Each is a shell script in a fresh temp folder that runs the
 * real python3 for everything else.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { findPython } from '../../src/python/discover.js';
import { tempDir } from './temp-project.js';

/** A folder holding a python3 that runs Python but cannot import bandit (a pyenv interpreter without it), and no bandit. */
export async function withoutBandit(): Promise<string> {
  const found = await findPython({ env: process.env });
  if (!found.ok) throw new Error('this test needs python3 on PATH');
  const bin = await tempDir();
  await fs.writeFile(
    path.join(bin, 'python3'),
    `#!/bin/sh\nif [ "$1" = "-m" ] && [ "$2" = "bandit" ]; then echo "No module named bandit" >&2; exit 1; fi\nexec "${found.python.path}" "$@"\n`,
    { mode: 0o755 },
  );
  return bin;
}
