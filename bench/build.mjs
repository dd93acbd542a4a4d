#!/usr/bin/env node
/**
 * Benchmark of `plexichat-plugin build` (run with `npm run bench:build`
 * after `npm run build`).
 *
 *   large   ~5,000 Python source files + 4 random 18 MB binaries (~150 MB,
 *           about half random bytes): `build` vs Info-ZIP `zip -r -q -X`
 *           on the same tree, median wall time of several runs, peak RSS.
 *   large2x the same with a tree twice as large (memory must not grow).
 *   small   a freshly scaffolded plugin: the whole `build` process vs
 *           bare `node -e 0`.
 *   archiver (optional, --archiver) the same large tree through archiver
 *           at level 6, for comparison with the hand-written writer.
 *
 * Trees are generated into a temp dir (never the repo) from a fixed seed
 * and removed at the end. Options: --runs N (default 3), --small-runs N
 * (default 15), --only large|large2x|small|archiver, --keep, --archiver.
 *
 * bench/gate.mjs (`npm run bench:check`) imports measureLargeBuild and
 * measureScaffoldBuild: the same trees, in interleaved pairs.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH, BIN, REPO, benchEnv, cliArgs, interleave, isMain, loadAverage, median, requireBuild, tempRoot, timeCli, timeSync } from './lib.mjs';

// --- deterministic generator -------------------------------------------------
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}
// Identifiers only (no Python keywords), so the generated modules parse.
const WORDS = (
  'data value result event user channel message payload session context handler config logger permission ' +
  'hook endpoint request response status count total metrics window period cache store queue item entry ' +
  'record batch limit offset cursor token scope member guild thread reply reaction'
).split(' ');

function pythonSource(rnd, size) {
  const w = () => WORDS[Math.floor(rnd() * WORDS.length)];
  const hex = () =>
    Math.floor(rnd() * 0xffffffff)
      .toString(16)
      .padStart(8, '0');
  let s = '"""Generated module."""\nfrom plexichat_plugin_sdk import Plugin, hook\n\n\n';
  let i = 0;
  while (s.length < size) {
    s +=
      `def ${w()}_${w()}_${i++}(${w()}, ${w()}_${Math.floor(rnd() * 1000)}):\n` +
      `    """${w()} ${w()} ${w()} ${w()}."""\n` +
      `    ${w()} = ${w()}.get("${w()}_${hex()}", ${Math.floor(rnd() * 100000)})\n` +
      `    if ${w()} > ${Math.floor(rnd() * 100)}:\n` +
      `        return {"${w()}": ${w()}, "${w()}": "${hex()}${hex()}"}\n` +
      `    return ${w()}\n\n\n`;
  }
  return s;
}

const MANIFEST = `plugin:
  name: bench_plugin
  version: "1.0.0"
  author: Bench
  description: A generated plugin for the build benchmark
metadata:
  category: utility
  license: MIT
dependencies:
  python: ">=3.9"
permissions:
  required: []
hooks: []
`;

export function writeProject(dir, { sourceFiles, binaries, scale }) {
  const rnd = prng(20261126 * scale);
  fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config', 'plugin.yaml'), MANIFEST);
  fs.mkdirSync(path.join(dir, 'docs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'docs', 'README.md'), '# Bench plugin\n\nGenerated.\n');
  fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), '# Changelog\n\n## 1.0.0\n\n- generated\n');
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'src', '__init__.py'), '');
  fs.writeFileSync(path.join(dir, 'src', 'plugin.py'), 'from plexichat_plugin_sdk import Plugin\n\n\nclass BenchPlugin(Plugin):\n    pass\n');
  let bytes = 0;
  for (let i = 0; i < sourceFiles; i++) {
    const pkg = path.join(dir, 'src', `pkg_${String(Math.floor(i / 100)).padStart(3, '0')}`);
    if (i % 100 === 0) fs.mkdirSync(pkg, { recursive: true });
    // 2 KB .. 28 KB, about 15 KB on average
    const size = 2000 + Math.floor(rnd() * 26000);
    const text = pythonSource(rnd, size);
    fs.writeFileSync(path.join(pkg, `mod_${String(i % 100).padStart(3, '0')}.py`), text);
    bytes += text.length;
  }
  fs.mkdirSync(path.join(dir, 'src', 'assets'), { recursive: true });
  const block = Buffer.alloc(1 << 20);
  for (let b = 0; b < binaries; b++) {
    const fd = fs.openSync(path.join(dir, 'src', 'assets', `blob_${b}.bin`), 'w');
    for (let m = 0; m < 18; m++) {
      for (let k = 0; k < block.length; k += 4) block.writeUInt32LE(Math.floor(rnd() * 0x100000000), k);
      fs.writeSync(fd, block);
    }
    fs.closeSync(fd);
    bytes += 18 << 20;
  }
  return bytes;
}

function writeSmallProject(dir) {
  fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config', 'plugin.yaml'), MANIFEST.replace('bench_plugin', 'small_plugin'));
  for (const d of ['src', 'tests', 'docs']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.writeFileSync(path.join(dir, 'src', '__init__.py'), '');
  fs.writeFileSync(path.join(dir, 'src', 'plugin.py'), 'from plexichat_plugin_sdk import Plugin\n\n\nclass SmallPlugin(Plugin):\n    """A small plugin."""\n');
  fs.writeFileSync(path.join(dir, 'tests', '__init__.py'), '');
  fs.writeFileSync(path.join(dir, 'tests', 'test_plugin.py'), 'def test_loads():\n    assert True\n');
  fs.writeFileSync(path.join(dir, 'docs', 'README.md'), '# Small plugin\n');
  fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), '# Changelog\n\n## 1.0.0\n\n- first release\n');
  fs.writeFileSync(path.join(dir, '.pluginignore'), '# nothing extra\n*.log\n');
}

/** If `init` has landed, scaffold with it; otherwise write an equivalent small project. */
function scaffoldSmall(dir) {
  const r = timeCli(
    ['init', dir, '--name', 'small_plugin', '--category', 'utility', '--description', 'A small plugin', '--author', 'Bench', '--license', 'MIT', '--yes'],
    { check: false },
  );
  if (r.status === 0 && fs.existsSync(path.join(dir, 'config', 'plugin.yaml'))) return 'init';
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  writeSmallProject(dir);
  return 'generated';
}

// --- measurement -------------------------------------------------------------
/** Run a command; wall time in ms and peak RSS in KiB (from GNU time when present). */
function measure(cmd, argv, cwd, env = {}) {
  // The code-scan cache is off (every build scans cold) unless a case turns it on.
  return timeSync(cmd, argv, { cwd, env: benchEnv({ PLEXICHAT_CACHE_DIR: 'off', ...env }), rss: true });
}

function runLarge(label, scale, rows, { RUNS, KEEP, WITH_ARCHIVER }) {
  const temp = tempRoot(`pxp-bench-${label}-`, { keep: KEEP });
  const root = temp.dir;
  const tree = path.join(root, 'plugin');
  const out = path.join(root, 'out');
  fs.mkdirSync(out);
  try {
    process.stderr.write(`[${label}] generating ${5000 * scale} source files + ${4 * scale} x 18 MB ... `);
    const bytes = writeProject(tree, { sourceFiles: 5000 * scale, binaries: 4 * scale, scale });
    process.stderr.write(`${(bytes / 1e6).toFixed(0)} MB\n`);
    // Warm the page cache once for both tools.
    execFileSync('tar', ['-cf', '/dev/null', '.'], { cwd: tree });
    const zipT = [];
    const zipR = [];
    const ourT = [];
    const ourR = [];
    const arcT = [];
    const arcR = [];
    const coreT = [];
    const coreR = [];
    const coreOut = path.join(root, 'core-out');
    fs.mkdirSync(coreOut);
    for (let i = 0; i < RUNS; i++) {
      fs.rmSync(path.join(out, 'ref.zip'), { force: true });
      const z = measure('zip', ['-r', '-q', '-X', path.join(out, 'ref.zip'), '.'], tree);
      zipT.push(z.ms);
      zipR.push(z.rssKiB);
      const b = measure(process.execPath, [BIN, 'build', '--out', out], tree);
      ourT.push(b.ms);
      ourR.push(b.rssKiB);
      const c = measure(process.execPath, [path.join(BENCH, 'build-core.mjs'), tree, coreOut, 'bench_plugin', '1.0.0'], REPO);
      coreT.push(c.ms);
      coreR.push(c.rssKiB);
      if (WITH_ARCHIVER) {
        const a = measure(process.execPath, [path.join(BENCH, 'build-archiver.mjs'), tree, path.join(out, 'archiver.zip')], REPO);
        arcT.push(a.ms);
        arcR.push(a.rssKiB);
      }
      process.stderr.write(
        `[${label}] run ${i + 1}/${RUNS}: zip ${(z.ms / 1000).toFixed(2)} s, build ${(b.ms / 1000).toFixed(2)} s, ` +
          `packing alone ${(c.ms / 1000).toFixed(2)} s` +
          (WITH_ARCHIVER ? `, archiver ${(arcT[i] / 1000).toFixed(2)} s` : '') +
          '\n',
      );
    }
    const ours = fs.statSync(path.join(out, 'bench_plugin-1.0.0.zip')).size;
    const ref = fs.statSync(path.join(out, 'ref.zip')).size;
    const zm = median(zipT);
    rows.push([`${label}: zip -r -q -X`, zm, 1, Math.max(...zipR), ref]);
    rows.push([`${label}: plexichat-plugin build`, median(ourT), median(ourT) / zm, Math.max(...ourR), ours]);
    rows.push([`${label}: packing alone (no validate)`, median(coreT), median(coreT) / zm, Math.max(...coreR), ours]);
    if (WITH_ARCHIVER) {
      const a = fs.statSync(path.join(out, 'archiver.zip')).size;
      rows.push([`${label}: archiver level 6 (script)`, median(arcT), median(arcT) / zm, Math.max(...arcR), a]);
    }
  } finally {
    temp.remove();
  }
}

function runSmall(rows, { SMALL_RUNS, KEEP }) {
  const temp = tempRoot('pxp-bench-small-', { keep: KEEP });
  const root = temp.dir;
  const tree = path.join(root, 'small_plugin');
  try {
    const how = scaffoldSmall(tree);
    const nodeT = [];
    const ourT = [];
    const ourR = [];
    const warmT = [];
    const valT = [];
    const cached = { PLEXICHAT_CACHE_DIR: path.join(root, 'scan-cache') };
    const coreT = [];
    const coreOut = path.join(root, 'core-out');
    fs.mkdirSync(coreOut);
    const manifest = fs.readFileSync(path.join(tree, 'config', 'plugin.yaml'), 'utf8');
    const version = /version:\s*"?([^"\s]+)"?/.exec(manifest)[1];
    // One warm-up each (module cache, page cache).
    measure(process.execPath, ['-e', '0'], tree);
    measure(process.execPath, [BIN, 'build'], tree);
    for (let i = 0; i < SMALL_RUNS; i++) {
      nodeT.push(measure(process.execPath, ['-e', '0'], tree).ms);
      const b = measure(process.execPath, [BIN, 'build'], tree);
      ourT.push(b.ms);
      ourR.push(b.rssKiB);
      warmT.push(measure(process.execPath, [BIN, 'build'], tree, cached).ms);
      valT.push(measure(process.execPath, [BIN, 'validate'], tree).ms);
      coreT.push(measure(process.execPath, [path.join(BENCH, 'build-core.mjs'), tree, coreOut, 'small_plugin', version], REPO).ms);
    }
    const nm = median(nodeT);
    const zip = fs.readdirSync(path.join(tree, 'dist')).find((n) => n.endsWith('.zip'));
    const size = fs.statSync(path.join(tree, 'dist', zip)).size;
    rows.push([`small (${how}): node -e 0`, nm, 1, undefined, undefined]);
    rows.push([`small (${how}): plexichat-plugin build`, median(ourT), median(ourT) / nm, Math.max(...ourR), size]);
    rows.push([`small (${how}): build, code scan cached`, median(warmT), median(warmT) / nm, undefined, size]);
    rows.push([`small (${how}): plexichat-plugin validate`, median(valT), median(valT) / nm, undefined, undefined]);
    rows.push([`small (${how}): packing alone (no validate)`, median(coreT), median(coreT) / nm, undefined, size]);
  } finally {
    temp.remove();
  }
}

/**
 * The gate's build figure: `pairs` interleaved pairs of Info-ZIP `zip -r -q -X`
 * and `build` (scan cache off) on the ~5,000-file / 150 MB tree, the page cache
 * warmed once (no warm-up runs: each run takes seconds). Per run: wall ms and
 * peak RSS in KiB (undefined when lib's RSS_PROBE is missing).
 */
export async function measureLargeBuild({ pairs = 3, log = () => {} } = {}) {
  const temp = tempRoot('pxp-bench-gate-build-');
  try {
    const tree = path.join(temp.dir, 'plugin');
    const out = path.join(temp.dir, 'out');
    fs.mkdirSync(out);
    log('generating 5000 source files + 4 x 18 MB');
    const bytes = writeProject(tree, { sourceFiles: 5000, binaries: 4, scale: 1 });
    execFileSync('tar', ['-cf', '/dev/null', '.'], { cwd: tree });
    const ref = path.join(out, 'ref.zip');
    const runs = await interleave(
      pairs,
      (i) => {
        fs.rmSync(ref, { force: true });
        const r = measure('zip', ['-r', '-q', '-X', ref, '.'], tree);
        if (i >= 0) log(`pair ${i + 1}/${pairs}: zip ${(r.ms / 1000).toFixed(2)} s`);
        return r;
      },
      (i) => {
        const r = measure(process.execPath, [BIN, 'build', '--out', out], tree);
        if (i >= 0) log(`pair ${i + 1}/${pairs}: build ${(r.ms / 1000).toFixed(2)} s`);
        return r;
      },
      { warmup: false },
    );
    return { bytes, zip: runs.base, build: runs.ours, zipBytes: fs.statSync(ref).size, buildBytes: fs.statSync(path.join(out, 'bench_plugin-1.0.0.zip')).size };
  } finally {
    temp.remove();
  }
}

/**
 * The gate's fresh-scaffold figure: `init --yes` (the default template), then
 * `pairs` interleaved pairs of `node -e 0` and `build` in it (scan cache off, as
 * a first build), one warm-up each. Wall ms per run; no RSS wrapper (it would
 * weigh on runs this short).
 */
export async function measureScaffoldBuild({ pairs = 10 } = {}) {
  const temp = tempRoot('pxp-bench-gate-small-');
  try {
    const tree = path.join(temp.dir, 'small_plugin');
    timeCli([
      'init',
      tree,
      '--name',
      'small_plugin',
      '--category',
      'utility',
      '--description',
      'A small plugin',
      '--author',
      'Bench',
      '--license',
      'MIT',
      '--yes',
    ]);
    const env = benchEnv({ PLEXICHAT_CACHE_DIR: 'off' });
    const runs = await interleave(
      pairs,
      () => timeSync(process.execPath, ['-e', '0'], { cwd: tree, env }).ms,
      () => timeSync(process.execPath, [BIN, 'build'], { cwd: tree, env }).ms,
    );
    return { node: runs.base, build: runs.ours };
  } finally {
    temp.remove();
  }
}

function main() {
  const { opt, has } = cliArgs();
  const ONLY = opt('--only', '');
  const o = {
    RUNS: Number(opt('--runs', '3')),
    SMALL_RUNS: Number(opt('--small-runs', '15')),
    KEEP: has('--keep'),
    WITH_ARCHIVER: has('--archiver') || ONLY === 'archiver',
  };
  const { RUNS, SMALL_RUNS } = o;
  requireBuild();
  const load0 = loadAverage();
  const rows = [];
  if (!ONLY || ONLY === 'large' || ONLY === 'archiver') runLarge('large', 1, rows, o);
  if (!ONLY || ONLY === 'large2x') runLarge('large2x', 2, rows, o);
  if (!ONLY || ONLY === 'small') runSmall(rows, o);

  const fmt = (r) => [
    r[0],
    r[1] >= 1000 ? `${(r[1] / 1000).toFixed(2)} s` : `${r[1].toFixed(0)} ms`,
    `${r[2].toFixed(2)}x`,
    r[3] === undefined || Number.isNaN(r[3]) ? '-' : `${(r[3] / 1024).toFixed(0)} MiB`,
    r[4] === undefined ? '-' : r[4] < 1e6 ? `${(r[4] / 1e3).toFixed(1)} kB` : `${(r[4] / 1e6).toFixed(1)} MB`,
  ];
  const table = [['case', 'median wall', 'vs baseline', 'peak RSS', 'archive'], ...rows.map(fmt)];
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  console.log(
    `\nplexichat-plugin build benchmark (${RUNS} runs large, ${SMALL_RUNS} small; node ${process.version}; ${os.cpus().length} cores; ` +
      `load average ${load0} at start, ${loadAverage()} at end)`,
  );
  for (const [i, r] of table.entries()) {
    console.log(r.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

if (isMain(import.meta.url)) main();
