#!/usr/bin/env node
/**
 * `check --all` over a workspace of three plugins (two importing a shared
 * library) against `check` run in each plugin's folder in turn: wall time
 * of each side, interleaved pairs (one warm-up each), the median ratio.
 * `check --all` runs the plugins in parallel in one process (bounded by the
 * cores); the baseline starts the CLI three times, one after the other.
 *
 *   npm run bench:workspace [-- --pairs N] [--keep]
 *
 * Never part of `npm test`: the figures are timings of a shared machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { interleave, isMain, loadAverage, median, pairedRatio, requireBuild, tempRoot, timeCli } from './lib.mjs';

const PLUGINS = ['alpha_one', 'beta_two', 'gamma_three'];

function git(dir, ...args) {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'b',
    GIT_AUTHOR_EMAIL: 'b@example.invalid',
    GIT_COMMITTER_NAME: 'b',
    GIT_COMMITTER_EMAIL: 'b@example.invalid',
  };
  const r = spawnSync('git', args, { cwd: dir, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

/** Three scaffolded plugins, a library two of them import, the workspace file, one commit. */
export function makeWorkspace(dir) {
  for (const name of PLUGINS) {
    timeCli(['init', `plugins/${name}`, '--name', name, '--category', 'utility', '--yes'], { cwd: dir });
    fs.writeFileSync(path.join(dir, 'plugins', name, 'docs', 'README.md'), `# ${name}\n\nCounts messages and reports them.\n`);
  }
  fs.mkdirSync(path.join(dir, 'libs', 'plexi_common'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'libs', 'plexi_common', '__init__.py'), 'def shout(text):\n    return text.upper()\n');
  for (const name of PLUGINS.slice(0, 2)) {
    const file = path.join(dir, 'plugins', name, 'src', 'plugin.py');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^import logging$/m, 'import logging\n\nfrom plexi_common import shout'));
  }
  fs.writeFileSync(path.join(dir, 'plexichat-workspace.yaml'), 'plugins: [plugins/*]\nlibraries: [libs/*]\n');
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'bench');
}

export async function measureWorkspaceCheck({ pairs = 2, keep = false } = {}) {
  const root = tempRoot('pxp-bench-ws-', { keep });
  try {
    makeWorkspace(root.dir);
    const env = { ...process.env, NO_COLOR: '1', CI: '1', PLEXICHAT_CACHE_DIR: 'off' };
    const inTurn = () => PLUGINS.reduce((ms, name) => ms + timeCli(['check'], { cwd: path.join(root.dir, 'plugins', name), env }).ms, 0);
    const all = () => timeCli(['check', '--all'], { cwd: root.dir, env }).ms;
    const { base, ours } = await interleave(pairs, inTurn, all);
    return { cores: os.availableParallelism(), load: loadAverage(), inTurnMs: median(base), allMs: median(ours), ratio: pairedRatio(base, ours), base, ours };
  } finally {
    root.remove();
  }
}

if (isMain(import.meta.url)) {
  requireBuild();
  const at = process.argv.indexOf('--pairs');
  const pairs = at > 0 ? Number(process.argv[at + 1]) : 2;
  const r = await measureWorkspaceCheck({ pairs, keep: process.argv.includes('--keep') });
  console.log(`load average ${r.load}, ${r.cores} cores, ${pairs} pairs`);
  console.log(`check in each folder in turn: ${(r.inTurnMs / 1000).toFixed(1)} s (median; ${r.base.map((x) => (x / 1000).toFixed(1)).join(', ')})`);
  console.log(`check --all:                  ${(r.allMs / 1000).toFixed(1)} s (median; ${r.ours.map((x) => (x / 1000).toFixed(1)).join(', ')})`);
  console.log(`ratio (--all / in turn, median of pairs): ${r.ratio.toFixed(2)}`);
}
