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
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const BIN = path.join(repo, 'bin', 'plexichat-plugin.js');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i === -1 ? dflt : args[i + 1];
};
const RUNS = Number(opt('--runs', '3'));
const SMALL_RUNS = Number(opt('--small-runs', '15'));
const ONLY = opt('--only', '');
const KEEP = args.includes('--keep');
const WITH_ARCHIVER = args.includes('--archiver') || ONLY === 'archiver';

if (!fs.existsSync(path.join(repo, 'dist', 'cli', 'main.js'))) {
  console.error('run `npm run build` first (dist/cli/main.js is missing)');
  process.exit(1);
}
const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

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
  const hex = () => Math.floor(rnd() * 0xffffffff).toString(16).padStart(8, '0');
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

function writeProject(dir, { sourceFiles, binaries, scale }) {
  const rnd = prng(20261126 * scale);
  fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config', 'plugin.yaml'), MANIFEST);
  fs.mkdirSync(path.join(dir, 'docs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'docs', 'README.md'), '# Bench plugin\n\nGenerated.\n');
  fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), '# Changelog\n\n## 1.0.0\n\n- generated\n');
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'src', '__init__.py'), '');
  fs.writeFileSync(
    path.join(dir, 'src', 'plugin.py'),
    'from plexichat_plugin_sdk import Plugin\n\n\nclass BenchPlugin(Plugin):\n    pass\n',
  );
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
  fs.writeFileSync(
    path.join(dir, 'src', 'plugin.py'),
    'from plexichat_plugin_sdk import Plugin\n\n\nclass SmallPlugin(Plugin):\n    """A small plugin."""\n',
  );
  fs.writeFileSync(path.join(dir, 'tests', '__init__.py'), '');
  fs.writeFileSync(path.join(dir, 'tests', 'test_plugin.py'), 'def test_loads():\n    assert True\n');
  fs.writeFileSync(path.join(dir, 'docs', 'README.md'), '# Small plugin\n');
  fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), '# Changelog\n\n## 1.0.0\n\n- first release\n');
  fs.writeFileSync(path.join(dir, '.pluginignore'), '# nothing extra\n*.log\n');
}

/** If `init` has landed, scaffold with it; otherwise write an equivalent small project. */
function scaffoldSmall(dir) {
  const r = spawnSync(
    process.execPath,
    [BIN, 'init', dir, '--name', 'small_plugin', '--category', 'utility', '--description', 'A small plugin', '--author', 'Bench', '--license', 'MIT', '--yes'],
    { env: { ...process.env, CI: '1', NO_COLOR: '1' }, encoding: 'utf8' },
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
  const full = TIME ? [TIME, ['-f', '%M', cmd, ...argv]] : [cmd, argv];
  const t0 = process.hrtime.bigint();
  // The code-scan cache is off (every build scans cold) unless a case turns it on.
  const r = spawnSync(full[0], full[1], { cwd, env: { ...process.env, CI: '1', NO_COLOR: '1', PLEXICHAT_CACHE_DIR: 'off', ...env }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  let rss;
  if (TIME) {
    const lines = r.stderr.trim().split('\n');
    rss = Number(lines[lines.length - 1]);
  }
  return { ms, rssKiB: rss };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function runLarge(label, scale, rows) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `pxp-bench-${label}-`));
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
      const c = measure(process.execPath, [path.join(here, 'build-core.mjs'), tree, coreOut, 'bench_plugin', '1.0.0'], repo);
      coreT.push(c.ms);
      coreR.push(c.rssKiB);
      if (WITH_ARCHIVER) {
        const a = measure(process.execPath, [path.join(here, 'build-archiver.mjs'), tree, path.join(out, 'archiver.zip')], repo);
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
    if (!KEEP) fs.rmSync(root, { recursive: true, force: true });
    else process.stderr.write(`[${label}] kept ${root}\n`);
  }
}

function runSmall(rows) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pxp-bench-small-'));
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
      coreT.push(measure(process.execPath, [path.join(here, 'build-core.mjs'), tree, coreOut, 'small_plugin', version], repo).ms);
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
    if (!KEEP) fs.rmSync(root, { recursive: true, force: true });
  }
}

const load0 = os.loadavg().map((x) => x.toFixed(2)).join(' ');
const rows = [];
if (!ONLY || ONLY === 'large' || ONLY === 'archiver') runLarge('large', 1, rows);
if (!ONLY || ONLY === 'large2x') runLarge('large2x', 2, rows);
if (!ONLY || ONLY === 'small') runSmall(rows);

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
    `load average ${load0} at start, ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} at end)`,
);
for (const [i, r] of table.entries()) {
  console.log(r.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
