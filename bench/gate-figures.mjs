/**
 * The figures of the bench gate (`npm run bench:check`, bench/gate.mjs) and
 * their goals, from issue 19; how a measured figure becomes PASS or MISS, and
 * the report, in text; the gate's command line. Pure: nothing here runs or times anything
 * (test/unit/bench-gate.test.ts covers it).
 */

/**
 * Every figure: `id` (what `--only` takes: an id, or its group: the part
 * before the first dot), its name in the report, the goal (at most `goal`,
 * in `unit`: `x` a ratio to the baseline, `ms`, `MiB`).
 */
export const FIGURES = [
  { id: 'build', name: 'build, 5,000 files / 150 MB, vs zip -r -q -X', goal: 0.6, unit: 'x' },
  { id: 'build.rss', name: 'build, 5,000 files / 150 MB: peak RSS', goal: 150, unit: 'MiB' },
  { id: 'submit.100', name: 'marketplace submit 100 MB vs curl -F', goal: 1.1, unit: 'x' },
  { id: 'submit.100.rss', name: 'marketplace submit 100 MB: client peak RSS', goal: 100, unit: 'MiB' },
  { id: 'submit.300', name: 'marketplace submit 300 MB vs curl -F', goal: 1.1, unit: 'x' },
  { id: 'submit.300.rss', name: 'marketplace submit 300 MB: client peak RSS', goal: 100, unit: 'MiB' },
  { id: 'scaffold', name: 'build of a fresh scaffold vs node -e 0', goal: 2.5, unit: 'x' },
  { id: 'check', name: 'check (analytics template) vs test alone', goal: 1.15, unit: 'x' },
  { id: 'help', name: '--help vs node -e 0', goal: 1.3, unit: 'x' },
  { id: 'dev.ready', name: 'dev: start -> ready (analytics, scan cache off)', goal: 1000, unit: 'ms' },
  { id: 'dev.reload', name: 'dev: save -> reloaded (analytics)', goal: 300, unit: 'ms' },
  { id: 'test', name: 'test (analytics template) vs bare python3 -m pytest -q', goal: 1.15, unit: 'x' },
];

/** Pairs per group in the quick mode: chosen for about 5 minutes on 2 idle cores. */
export const DEFAULT_PAIRS = { build: 3, submit: 3, scaffold: 15, check: 7, help: 31, dev: 5, test: 9 };
export const USAGE = `usage: node bench/gate.mjs [--only <figure>]... [--pairs <group>=<n>]... [--json]
figures: ${FIGURES.map((f) => f.id).join(', ')}
groups and their default pairs: ${Object.entries(DEFAULT_PAIRS)
  .map(([g, n]) => `${g}=${n}`)
  .join(', ')}`;

/** The command line: { only, pairs, json } or { help: true }; throws a one-line message on a bad one. */
export function parseArgs(argv) {
  const only = [];
  const pairs = { ...DEFAULT_PAIRS };
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--json') json = true;
    else if (a === '--help' || a === '-h') return { help: true };
    else if (a === '--only') only.push(value());
    else if (a === '--pairs') {
      const m = /^([a-z]+)=(\d+)$/.exec(value());
      if (!m || !(m[1] in DEFAULT_PAIRS) || Number(m[2]) < 1) {
        throw new Error(`--pairs takes <group>=<n> with n >= 1 and a group among ${Object.keys(DEFAULT_PAIRS).join(', ')}`);
      }
      pairs[m[1]] = Number(m[2]);
    } else throw new Error(`unknown option ${a}`);
  }
  selectFigures(only); // throws on an unknown figure
  return { only, pairs, json };
}

/** The group of a figure id: what one measurement run produces ('submit.100.rss' -> 'submit'). */
export const groupOf = (id) => id.split('.')[0];

/**
 * The figures `--only` selects (all when `only` is empty), in FIGURES order.
 * Each selector is a figure id or a prefix of ids ending before a dot
 * ('submit' and 'submit.100' both take 'submit.100.rss'). Throws on a
 * selector that names none, listing the ids.
 */
export function selectFigures(only = []) {
  if (only.length === 0) return [...FIGURES];
  for (const sel of only) {
    if (!FIGURES.some((f) => matches(f.id, sel))) {
      throw new Error(`--only ${sel}: no such figure (one of: ${FIGURES.map((f) => f.id).join(', ')})`);
    }
  }
  return FIGURES.filter((f) => only.some((sel) => matches(f.id, sel)));
}

const matches = (id, sel) => id === sel || id.startsWith(`${sel}.`);

/**
 * A figure's result: PASS only with a measured value (a finite number) at most
 * its goal and no reason against it; anything missing is a MISS that carries
 * its reason (a baseline tool not here, a run that failed).
 */
export function verdict(figure, { value, reason, pairs, detail = '' } = {}) {
  const measured = typeof value === 'number' && Number.isFinite(value);
  const why = reason ?? (measured ? undefined : 'not measured');
  return {
    id: figure.id,
    name: figure.name,
    goal: figure.goal,
    unit: figure.unit,
    value: measured ? value : null,
    pairs: pairs ?? null,
    pass: measured && why === undefined && value <= figure.goal,
    detail,
    ...(why === undefined ? {} : { reason: why }),
  };
}

/** A value in a figure's unit, as printed: `1.59x`, `850 ms`, `123 MiB` (`more` digits added). */
export function formatValue(value, unit, more = 0) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (unit === 'x') return `${value.toFixed(2 + more)}x`;
  if (unit === 'ms') return `${value.toFixed(more)} ms`;
  if (unit === 'MiB') return `${value.toFixed(more)} MiB`;
  return String(value);
}

/** A measured value as printed beside its goal: with more digits when it would print as the goal but is not it (1.152x, not 1.15x, for a MISS). */
export function formatMeasured(value, goal, unit) {
  let more = 0;
  while (more < 4 && value !== goal && formatValue(value, unit, more) === formatValue(goal, unit, more)) more++;
  return formatValue(value, unit, more);
}

/** Milliseconds as `48 ms` or `8.70 s`. */
export function formatMs(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

/** Rows padded into columns, each aligned as `align` says ('l' or 'r'); a row `null` is a rule of dashes. */
function columns(rows, align) {
  const cells = rows.filter(Boolean);
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  return rows.map((r) =>
    (r ?? widths.map((w) => '-'.repeat(w)))
      .map((c, i) => (align[i] === 'r' ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * The text report: a header (`meta.header` lines), the baselines measured
 * (`{ name, ms, runs, note }`), then one line per figure (name, measured, goal,
 * PASS/MISS, pairs and detail), a reason line under every MISS that has one,
 * and the count of misses.
 */
export function renderText({ header = [], baselines = [], figures = [] }) {
  const lines = [...header, ''];
  if (baselines.length) {
    lines.push('baselines measured in this run (median wall time):');
    const rows = baselines.map((b) => ['  ' + b.name, formatMs(b.ms), b.runs === undefined ? '' : `${b.runs} run${b.runs === 1 ? '' : 's'}`, b.note ?? '']);
    lines.push(...columns(rows, ['l', 'r', 'r', 'l']), '');
  }
  const rows = [['figure', 'measured', 'goal', 'verdict', 'pairs', 'detail'], null];
  for (const f of figures) {
    rows.push([f.name, formatMeasured(f.value, f.goal, f.unit), `<= ${formatValue(f.goal, f.unit)}`, f.pass ? 'PASS' : 'MISS', f.pairs ?? '-', f.detail]);
  }
  const table = columns(rows, ['l', 'r', 'r', 'l', 'r', 'l']);
  lines.push(table[0], table[1]);
  figures.forEach((f, i) => {
    lines.push(table[i + 2]);
    if (f.reason) lines.push(`    MISS because: ${f.reason}`);
  });
  const misses = figures.filter((f) => !f.pass).length;
  lines.push('', misses ? `${misses} of ${figures.length} figures missed their goal` : `all ${figures.length} figures met their goal`);
  return lines.join('\n');
}

/** The exit code of the gate: 1 when any figure missed, else 0. */
export const exitCodeOf = (figures) => (figures.every((f) => f.pass) ? 0 : 1);
