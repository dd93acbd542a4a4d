// After tsc: every command's --help, as `main` prints it to a pipe, kept in
// dist/cli/help-snapshot.json for the bins' fast path (src/cli/help-snapshot.ts).
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { main } from '../dist/cli/main.js';
import { createProgram } from '../dist/cli/program.js';
import { cliVersion } from '../dist/io/cli-version.js';
import { SNAPSHOT_URL, sourceStamps } from '../dist/cli/help-snapshot.js';

// What a pipe gets: commander reads the real process's streams and env for the width and colour.
for (const s of [process.stdout, process.stderr]) Object.defineProperty(s, 'isTTY', { value: false, configurable: true });
delete process.env.FORCE_COLOR;
delete process.env.CLICOLOR_FORCE;

/** One in-process run of the CLI: its exit code, stdout and stderr. */
export async function runHelp(args) {
  let stdout = '';
  let stderr = '';
  const sink = (add) => new Writable({ write: (c, _e, cb) => (add(String(c)), cb()) });
  const proc = {
    env: { ...process.env },
    cwd: () => process.cwd(),
    stdin: process.stdin,
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    on: () => undefined,
    off: () => undefined,
  };
  const code = await main(['node', 'plexichat-plugin', ...args], proc);
  return { code, stdout, stderr };
}

const paths = [];
const walk = (cmd, prefix) => {
  for (const c of cmd.commands) {
    const p = [...prefix, c.name()];
    paths.push(p.join(' '));
    walk(c, p);
  }
};
walk(
  createProgram(cliVersion(), async () => undefined),
  [],
);

const help = {};
for (const p of ['', ...paths]) {
  const r = await runHelp([...(p ? p.split(' ') : []), '--help']);
  if (r.code !== 0 || r.stderr !== '' || r.stdout === '') throw new Error(`--help of '${p}' exited ${r.code}: ${r.stderr}`);
  help[p] = r.stdout;
}
fs.writeFileSync(SNAPSHOT_URL, `${JSON.stringify({ version: cliVersion(), sources: sourceStamps(), help })}\n`);
