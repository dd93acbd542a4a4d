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
export const GNU_TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
export const execFileP = promisify(execFile);

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

/** Stops with a message when GNU time is missing. */
export function requireGnuTime() {
  if (!GNU_TIME) {
    console.error('GNU time (/usr/bin/time) is needed for this benchmark');
    process.exit(1);
  }
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

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The environment of a benchmarked CLI run: no colours, no prompts, plus `extra`. */
export function benchEnv(extra = {}) {
  return { ...process.env, NO_COLOR: '1', CI: '1', ...extra };
}

/** The command line to spawn: under GNU time when the peak RSS is wanted (and GNU time is there). */
function underTime(cmd, argv, rss) {
  return rss && GNU_TIME ? [GNU_TIME, ['-f', '@@RSS %M %U %S', cmd, ...argv], true] : [cmd, argv, false];
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
  return os.loadavg().map((x) => x.toFixed(2)).join(' ');
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
