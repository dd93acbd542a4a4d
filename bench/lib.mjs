/**
 * What every benchmark sets up the same way: where the repo and the bin are,
 * its command-line options, that the build exists, a temp root removed at the
 * end, timed runs (wall time, and peak RSS through GNU time), medians, the
 * `node -e 0` floor, and a development marketplace on loopback.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const BENCH = path.join(REPO, 'bench');
export const BIN = path.join(REPO, 'bin', 'plexichat-plugin.js');
export const execFileP = promisify(execFile);

/**
 * GNU time, if it is here and really is GNU time (`-f %M` works): /usr/bin/time,
 * else `gtime` on PATH. BENCH_GNU_TIME names another binary; set empty, it means
 * none (to try the fallback below).
 */
function findGnuTime() {
  const named = process.env.BENCH_GNU_TIME;
  const candidates = named === undefined ? ['/usr/bin/time', 'gtime'] : named ? [named] : [];
  for (const file of candidates) {
    const r = spawnSync(file, ['-f', '@@%M', process.execPath, '-e', '0'], { encoding: 'utf8' });
    if (r.status === 0 && /@@\d+\s*$/.test(r.stderr ?? '')) return file;
  }
  return undefined;
}
export const GNU_TIME = findGnuTime();

// Without GNU time, python3 runs the command and prints the same line from
// getrusage(RUSAGE_CHILDREN): ru_maxrss is in KiB on Linux, as GNU time's %M.
const RUSAGE_PY = [
  'import resource, subprocess, sys',
  'try:',
  '    code = subprocess.run(sys.argv[1:]).returncode',
  'except FileNotFoundError:',
  '    code = 127',
  'u = resource.getrusage(resource.RUSAGE_CHILDREN)',
  'sys.stderr.write("@@RSS %d %.3f %.3f\\n" % (u.ru_maxrss, u.ru_utime, u.ru_stime))',
  'sys.exit(code if code >= 0 else 128 - code)',
].join('\n');

function findRssProbe() {
  if (GNU_TIME) return { how: `GNU time (${GNU_TIME})`, wrap: (cmd, argv) => [GNU_TIME, ['-f', '@@RSS %M %U %S', cmd, ...argv]] };
  const py = spawnSync('python3', ['-c', 'import resource, subprocess'], { stdio: 'ignore' });
  if (py.status !== 0) return undefined;
  return { how: 'python3 resource.getrusage (GNU time missing)', wrap: (cmd, argv) => ['python3', ['-c', RUSAGE_PY, cmd, ...argv]] };
}
/**
 * How a run's peak RSS is read: `how` (said in reports) and `wrap(cmd, argv)`,
 * the command line that runs it and appends `@@RSS <KiB> <user s> <sys s>` to
 * its stderr; undefined when neither GNU time nor python3 is here.
 */
export const RSS_PROBE = findRssProbe();

/** `--name value` options and `--flag` switches of this benchmark's command line. */
export function cliArgs(argv = process.argv.slice(2)) {
  return {
    argv,
    /** The value after `name` as a string, or `dflt`. */
    opt: (name, dflt) => {
      const i = argv.indexOf(name);
      return i === -1 ? dflt : argv[i + 1];
    },
    /** The value after `name` as a number, or `dflt`. */
    num: (name, dflt) => {
      const i = argv.indexOf(name);
      return i === -1 ? dflt : Number(argv[i + 1]);
    },
    has: (name) => argv.includes(name),
  };
}

/** Stops with a message when `npm run build` has not run (or `file` of dist/ is missing). */
export function requireBuild(file = path.join('cli', 'main.js')) {
  if (!fs.existsSync(path.join(REPO, 'dist', file))) {
    console.error(`run \`npm run build\` first (dist/${file} is missing)`);
    process.exit(1);
  }
}

/** Stops with a message when no peak RSS can be read (neither GNU time nor python3). */
export function requireGnuTime() {
  if (!RSS_PROBE) {
    console.error('GNU time (/usr/bin/time), or else python3, is needed for this benchmark (peak RSS)');
    process.exit(1);
  }
}

/** True when the module at `metaUrl` is the script node was started with (not imported). */
export function isMain(metaUrl) {
  return Boolean(process.argv[1]) && path.resolve(process.argv[1]) === fileURLToPath(metaUrl);
}

/** A fresh folder under the OS temp dir; `remove()` deletes it (skipped with keep). */
export function tempRoot(prefix, { keep = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    remove() {
      if (keep) process.stderr.write(`kept ${dir}\n`);
      else fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `n` interleaved pairs of runs, one warm-up of each side first: `base(i)` and
 * `ours(i)` each run once per pair, the baseline first in even pairs and second
 * in odd ones (so a drift of the machine weighs on both). Either may be async;
 * resolves with both sides' results, in pair order.
 */
export async function interleave(n, base, ours, { warmup = true } = {}) {
  if (warmup) {
    await base(-1);
    await ours(-1);
  }
  const b = [];
  const o = [];
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      b.push(await base(i));
      o.push(await ours(i));
    } else {
      o.push(await ours(i));
      b.push(await base(i));
    }
  }
  return { base: b, ours: o };
}

/** The median over pairs of ours[i] / base[i] (numbers, e.g. wall ms). */
export function pairedRatio(base, ours) {
  return median(ours.map((x, i) => x / base[i]));
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The environment of a benchmarked CLI run: no colours, no prompts, plus `extra`. */
export function benchEnv(extra = {}) {
  return { ...process.env, NO_COLOR: '1', CI: '1', ...extra };
}

/** The command line to spawn: under GNU time (or its python3 stand-in) when the peak RSS is wanted. */
function underTime(cmd, argv, rss) {
  return rss && RSS_PROBE ? [...RSS_PROBE.wrap(cmd, argv), true] : [cmd, argv, false];
}

/** A finished run: GNU time's line (peak RSS, user + system CPU ms) taken off stderr, and a failure thrown unless check is off. */
function settle(cmd, argv, { ms, status, stdout = '', stderr = '', timed, check }) {
  let rssKiB;
  let cpuMs;
  const m = timed ? /@@RSS (\d+) ([\d.]+) ([\d.]+)\s*$/.exec(stderr) : null;
  if (m) {
    rssKiB = Number(m[1]);
    cpuMs = (Number(m[2]) + Number(m[3])) * 1000;
    stderr = stderr.slice(0, m.index);
  }
  if (check && status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${status}:\n${stdout}${stderr}`);
  return { ms, status, stdout, stderr, rssKiB, cpuMs };
}

/**
 * Runs a command to its end: wall ms, exit status, output, and with
 * `rss: true` (under GNU time) the peak RSS in KiB and the CPU time (user +
 * system, ms; steadier than wall time on a loaded machine). Throws when it fails,
 * unless `check: false`.
 */
export function timeSync(cmd, argv, { cwd, env = benchEnv(), rss = false, check = true, stdio } = {}) {
  const [file, args, timed] = underTime(cmd, argv, rss);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20, stdio });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return settle(cmd, argv, { ms, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timed, check });
}

/** The asynchronous form of timeSync (for runs beside a server in this process). */
export async function time(cmd, argv, { cwd, env = benchEnv(), rss = false, check = true } = {}) {
  const [file, args, timed] = underTime(cmd, argv, rss);
  const t0 = process.hrtime.bigint();
  const r = await execFileP(file, args, { cwd, env, maxBuffer: 64 << 20 }).catch((err) => err);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  // execFile resolves with the output, or rejects with an error carrying it (code: the exit status or a spawn error).
  const status = r instanceof Error ? (typeof r.code === 'number' ? r.code : -1) : 0;
  return settle(cmd, argv, { ms, status, stdout: r.stdout ?? '', stderr: r.stderr ?? r.message ?? '', timed, check });
}

/** The floor every start-up is compared with: one `node -e 0`, in ms. */
export function nodeFloor(opts = {}) {
  return timeSync(process.execPath, ['-e', '0'], opts).ms;
}

/** Runs the CLI's bin with `args`: see timeSync. */
export function timeCli(args, opts = {}) {
  return timeSync(process.execPath, [BIN, ...args], opts);
}

/** The load average (1, 5, 15 min) as one string, for the report's first line. */
export function loadAverage() {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/**
 * `marketplace serve --json` as a child process on a free loopback port;
 * resolves with its start-up document (url, tokens) and a stop().
 */
export async function startMarketplace(dataDir, extraArgs = []) {
  const child = spawn(process.execPath, [BIN, '--json', 'marketplace', 'serve', '--port', '0', '--data-dir', dataDir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const doc = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      try {
        resolve(JSON.parse(out));
      } catch {
        /* not the whole document yet */
      }
    });
    child.once('exit', (code) => reject(new Error(`marketplace serve exited with ${code}`)));
  });
  return {
    child,
    doc,
    url: doc.url,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
