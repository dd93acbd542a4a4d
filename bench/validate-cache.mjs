#!/usr/bin/env node
/**
 * What keying the code-scan cache on content costs (run after `npm run build`):
 * `node bench/validate-cache.mjs [--files N] [--runs N]`.
 *
 * On a generated plugin with N Python modules under src/ (default 5,000 of
 * ~2 kB, all with a decorator, so every one is parsed), interleaved, medians:
 *   node -e 0                       the floor
 *   validate, no cache              file list + the Python scan
 *   validate, cache hit             file list + reading and hashing every module
 *   the key alone: content digest   sha256 of every module (what the key is now)
 *   the key alone: stat fingerprint path/size/mtime/inode (what it was; blind to
 *                                   an edit that keeps size and mtime)
 * The tree goes to a temp dir and is removed at the end.
 */
import fs from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO, benchEnv, cliArgs, loadAverage, median, nodeFloor, requireBuild, tempRoot, timeCli } from './lib.mjs';

const { num } = cliArgs();
const FILES = num('--files', 5000);
const RUNS = num('--runs', 7);
requireBuild(path.join('python', 'scan-cache.js'));
const { fingerprint } = await import(pathToFileURL(path.join(REPO, 'dist', 'python', 'scan-cache.js')).href);

const temp = tempRoot('pxp-bench-cache-');
const root = temp.dir;
const tree = path.join(root, 'bench_plugin');

function generate() {
  fs.mkdirSync(path.join(tree, 'config'), { recursive: true });
  fs.writeFileSync(
    path.join(tree, 'config', 'plugin.yaml'),
    'plugin:\n  name: "bench_plugin"\n  version: "1.0.0"\n  author: "Ada"\n  description: "Bench"\nmetadata:\n  category: "utility"\nhooks:\n  - message_sent\n',
  );
  const files = [];
  for (let i = 0; i < FILES; i++) {
    const dir = path.join(tree, 'src', `pkg${i % 50}`);
    fs.mkdirSync(dir, { recursive: true });
    let body = `from plexichat_plugin_sdk import Plugin, hook\n\n\nclass P${i}(Plugin):\n    @hook('message_sent')\n    def on_${i}(self, data):\n        return data\n`;
    while (body.length < 2000) body += `\n\ndef helper_${body.length}(value):\n    return {"value": value, "n": ${body.length}}\n`;
    const file = path.join(dir, `mod_${i}.py`);
    fs.writeFileSync(file, body);
    files.push({ rel: path.relative(tree, file).split(path.sep).join('/'), abs: file });
  }
  return files;
}

const validate = (env) => timeCli(['validate'], { cwd: tree, env: benchEnv(env) }).ms;

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function statKey(files) {
  for (const f of files) {
    const st = await stat(f.abs);
    void `${f.rel}\0${st.size}\0${st.mtimeMs}\0${st.ino}`;
  }
}

try {
  const files = generate();
  const cache = { PLEXICHAT_CACHE_DIR: path.join(root, 'cache') };
  const off = { PLEXICHAT_CACHE_DIR: 'off' };
  validate(cache); // fills the cache; warms the page cache
  const t = { node: [], cold: [], hit: [], digest: [], stat: [] };
  for (let i = 0; i < RUNS; i++) {
    t.node.push(nodeFloor({ cwd: tree }));
    t.cold.push(validate(off));
    t.hit.push(validate(cache));
    t.digest.push(await timed(() => fingerprint(files, [], 'script')));
    t.stat.push(await timed(() => statKey(files)));
  }
  const n = median(t.node);
  const rows = [
    ['node -e 0', median(t.node)],
    ['validate, no cache (scan)', median(t.cold)],
    ['validate, cache hit', median(t.hit)],
    ['the key alone: content digest', median(t.digest)],
    ['the key alone: stat fingerprint (before)', median(t.stat)],
  ];
  console.log(`${FILES} modules (${((FILES * 2000) / 1e6).toFixed(0)} MB of Python), medians of ${RUNS}, load ${loadAverage()}`);
  for (const [name, ms] of rows) console.log(`${name.padEnd(42)} ${ms.toFixed(0).padStart(6)} ms  ${(ms / n).toFixed(2)}x node`);
} finally {
  temp.remove();
}
