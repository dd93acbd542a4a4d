#!/usr/bin/env node
/**
 * The bench gate: `npm run bench:check` (it builds first). Every benchmark of
 * bench/ in a quick mode: interleaved pairs of our command and its baseline,
 * measured in the same run on this machine, each figure printed against its
 * goal (bench/gate-figures.mjs, from issue 19); exit 1 when one misses.
 *
 *   node bench/gate.mjs [--only <figure>]... [--pairs <group>=<n>]... [--json]
 *
 * --only      run a subset: a figure id (build.rss) or a group (submit); repeatable
 * --pairs     pairs for a group (build=5); dev counts starts (saves are 3 per start)
 * --json      one JSON document on stdout instead of the table (progress stays on stderr)
 *
 * A baseline tool that is missing (zip, curl, pytest; GNU time with no python3
 * to stand in for it) makes its figures MISS with the reason. Never part of
 * `npm test`: the figures are timings of a shared machine.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { measureLargeBuild, measureScaffoldBuild } from './build.mjs';
import { measureCheckVsTest } from './check.mjs';
import { measureDev } from './dev.mjs';
import { DEFAULT_PAIRS, USAGE, exitCodeOf, groupOf, parseArgs, renderText, selectFigures, verdict } from './gate-figures.mjs';
import { GNU_TIME, RSS_PROBE, isMain, loadAverage, median, pairedRatio, requireBuild } from './lib.mjs';
import { measureHelp } from './startup.mjs';
import { measureSubmit } from './submit.mjs';
import { measureTestVsPytest } from './test-speed.mjs';

const SAVES_PER_START = 3;
const MiB = 1024;
const PYTHON = process.env.PLEXICHAT_PYTHON || 'python3';

/** Whether `cmd args` runs and exits 0 (a tool is here). */
function runs(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

const mib = (kib) => (kib === undefined || Number.isNaN(kib) ? undefined : kib / MiB);
const maxOf = (xs) => (xs.some((x) => x === undefined) ? undefined : Math.max(...xs));
const rssNote = () => (GNU_TIME ? '' : `; peak RSS via ${RSS_PROBE.how}: at least its own ~10 MiB`);
const NO_RSS = 'no GNU time (/usr/bin/time) and no python3 to read the peak RSS: not measured';

/**
 * Each group: what it needs (a missing tool makes every figure of the group
 * MISS with that reason) and how it measures. `run(n, selected, log)` resolves
 * with { baselines, figures: { id: { value, reason, detail, pairs? } } } (pairs:
 * the runs behind a figure when they are not n, as dev's saves).
 */
const GROUPS = {
  build: {
    pairsText: (n) => `build ${n} (no warm-up: each run takes seconds)`,
    needs: () => (runs('zip', ['-v']) ? undefined : 'zip (Info-ZIP) is not on PATH: the baseline cannot run (install zip)'),
    async run(n, _sel, log) {
      const r = await measureLargeBuild({ pairs: n, log });
      const zip = r.zip.map((x) => x.ms);
      const build = r.build.map((x) => x.ms);
      return {
        baselines: [
          {
            name: 'zip -r -q -X (5,000 files / 150 MB)',
            ms: median(zip),
            runs: n,
            note: RSS_PROBE ? `peak RSS ${mib(maxOf(r.zip.map((x) => x.rssKiB)))?.toFixed(0)} MiB` : '',
          },
        ],
        figures: {
          build: { value: pairedRatio(zip, build), detail: `build ${fmtS(median(build))} vs zip ${fmtS(median(zip))}` },
          'build.rss': RSS_PROBE ? { value: mib(maxOf(r.build.map((x) => x.rssKiB))), detail: `largest of ${n} builds${rssNote()}` } : { reason: NO_RSS },
        },
      };
    },
  },
  submit: {
    pairsText: (n) => `submit ${n} rounds per size (no warm-up)`,
    needs: () => (runs('curl', ['--version']) ? undefined : 'curl is not on PATH: the baseline cannot run (install curl)'),
    async run(n, sel, log) {
      const sizes = [100, 300].filter((s) => sel.some((f) => f.id.startsWith(`submit.${s}`)));
      const rows = await measureSubmit({ sizes, rounds: n, log });
      const baselines = [];
      const figures = {};
      for (const row of rows) {
        const curl = row.curlRuns.map((x) => x.secs * 1000);
        const cli = row.cliRuns.map((x) => x.secs * 1000);
        baselines.push({
          name: `curl -F, ${row.sizeMb} MB archive`,
          ms: median(curl),
          runs: n,
          note: RSS_PROBE ? `peak RSS ${mib(row.curlKb).toFixed(0)} MiB` : '',
        });
        figures[`submit.${row.sizeMb}`] = { value: pairedRatio(curl, cli), detail: `submit ${fmtS(median(cli))} vs curl ${fmtS(median(curl))}` };
        figures[`submit.${row.sizeMb}.rss`] = RSS_PROBE
          ? { value: mib(row.cliKb), detail: `largest of ${n} submits; server ${mib(row.serverKb).toFixed(0)} MiB${rssNote()}` }
          : { reason: NO_RSS };
      }
      return { baselines, figures };
    },
  },
  scaffold: {
    pairsText: (n) => `scaffold ${n}`,
    needs: () => undefined,
    async run(n) {
      const r = await measureScaffoldBuild({ pairs: n });
      return {
        baselines: [{ name: 'node -e 0 (beside the scaffold build)', ms: median(r.node), runs: n }],
        figures: { scaffold: { value: pairedRatio(r.node, r.build), detail: `build ${fmtS(median(r.build))} vs node ${fmtS(median(r.node))}` } },
      };
    },
  },
  check: {
    pairsText: (n) => `check ${n}`,
    needs: () =>
      runs(PYTHON, ['-m', 'pytest', '--version']) ? undefined : `pytest does not run with ${PYTHON}: test and check cannot run (pip install pytest)`,
    async run(n) {
      const r = await measureCheckVsTest({ pairs: n });
      return {
        baselines: [{ name: 'plexichat-plugin test alone (analytics)', ms: median(r.test), runs: n }],
        figures: { check: { value: pairedRatio(r.test, r.check), detail: `check ${fmtS(median(r.check))} vs test ${fmtS(median(r.test))}` } },
      };
    },
  },
  help: {
    pairsText: (n) => `help ${n}`,
    needs: () => undefined,
    async run(n) {
      const r = await measureHelp({ pairs: n });
      return {
        baselines: [{ name: 'node -e 0 (beside --help)', ms: median(r.node), runs: n }],
        figures: { help: { value: pairedRatio(r.node, r.help), detail: `--help ${fmtS(median(r.help))} vs node ${fmtS(median(r.node))}` } },
      };
    },
  },
  dev: {
    pairsText: (n) => `dev ${n} starts + ${n * SAVES_PER_START} saves`,
    needs: () => (runs(PYTHON, ['-c', 'pass']) ? undefined : `${PYTHON} does not run: dev needs Python`),
    async run(n) {
      const r = await measureDev({ starts: n, saves: n * SAVES_PER_START });
      return {
        baselines: [],
        figures: {
          'dev.ready': {
            value: median(r.ready),
            pairs: n,
            detail: `median of ${n} starts, max ${fmtS(Math.max(...r.ready))}; warm scan cache ${fmtS(r.warmReady)}`,
          },
          'dev.reload': {
            value: median(r.reload),
            pairs: r.reload.length,
            detail: `median of ${r.reload.length} saves, max ${fmtS(Math.max(...r.reload))}; host's own load ${fmtS(median(r.hostReload))}`,
          },
        },
      };
    },
  },
  test: {
    pairsText: (n) => `test ${n}`,
    needs: () => (runs(PYTHON, ['-m', 'pytest', '--version']) ? undefined : `pytest does not run with ${PYTHON}: no bare pytest baseline (pip install pytest)`),
    async run(n) {
      const r = await measureTestVsPytest({ pairs: n });
      return {
        baselines: [
          {
            name: 'python -m pytest -q (bare, analytics)',
            ms: median(r.bare),
            runs: n,
            note: `${r.python.path} ${r.python.version}, pytest ${r.python.pytest}`,
          },
        ],
        figures: { test: { value: pairedRatio(r.bare, r.test), detail: `test ${fmtS(median(r.test))} vs pytest ${fmtS(median(r.bare))}` } },
      };
    },
  },
};

function fmtS(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

function fmtDuration(ms) {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Runs the selected figures' groups one after the other; resolves with the report's parts. */
export async function runGate({ only = [], pairs = DEFAULT_PAIRS, log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  const selected = selectFigures(only);
  const groups = [...new Set(selected.map((f) => groupOf(f.id)))];
  const load0 = loadAverage();
  const t0 = Date.now();
  const baselines = [];
  const results = new Map();
  const took = {};
  for (const g of groups) {
    const group = GROUPS[g];
    const sel = selected.filter((f) => groupOf(f.id) === g);
    const missing = group.needs();
    const tg = Date.now();
    let out;
    if (missing) out = { baselines: [], figures: Object.fromEntries(sel.map((f) => [f.id, { reason: missing }])) };
    else {
      log(`[gate] ${g}: ${group.pairsText(pairs[g])} ...`);
      try {
        out = await group.run(pairs[g], sel, (m) => log(`[gate ${g}] ${String(m).trim()}`));
      } catch (err) {
        const first = String(err?.message ?? err).split('\n')[0];
        out = { baselines: [], figures: Object.fromEntries(sel.map((f) => [f.id, { reason: `the run failed: ${first}` }])) };
      }
    }
    took[g] = (Date.now() - tg) / 1000;
    log(`[gate] ${g}: done in ${fmtDuration(Date.now() - tg)}`);
    baselines.push(...out.baselines);
    for (const f of sel) {
      const r = out.figures[f.id];
      results.set(f.id, verdict(f, { pairs: r?.reason ? null : pairs[g], ...r }));
    }
  }
  const figures = selected.map((f) => results.get(f.id));
  const ms = Date.now() - t0;
  return {
    ok: exitCodeOf(figures) === 0,
    node: process.version,
    cores: os.cpus().length,
    load: { start: load0, end: loadAverage() },
    seconds: Math.round(ms / 1000),
    secondsPerGroup: took,
    pairs: Object.fromEntries(groups.map((g) => [g, pairs[g]])),
    pairsText: groups.map((g) => GROUPS[g].pairsText(pairs[g])),
    rss: RSS_PROBE?.how ?? null,
    baselines,
    figures,
  };
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`error: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  requireBuild();
  const report = await runGate(args);
  if (args.json) {
    const { pairsText: _, ...doc } = report;
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    const header = [
      `bench gate, quick mode: node ${report.node}, ${report.cores} cores, load average ${report.load.start} at start, ${report.load.end} at end; took ${fmtDuration(report.seconds * 1000)}`,
      `interleaved pairs (one warm-up of each side unless said; order alternating): ${report.pairsText.join(', ')}`,
      `ratios are medians of the pairs' ratios; peak RSS read with ${report.rss ?? 'nothing (no GNU time, no python3)'}`,
    ];
    process.stdout.write(`${renderText({ header, baselines: report.baselines, figures: report.figures })}\n`);
  }
  process.exitCode = exitCodeOf(report.figures);
}

if (isMain(import.meta.url)) await main();
