/**
 * The bench gate's logic without timing anything: which figures `--only`
 * selects, how a figure becomes PASS or MISS (a missing baseline is a MISS
 * with its reason), the report's lines, the exit code, the command line, and
 * the order of interleaved pairs. `npm run bench:check` itself is never run
 * here: its figures are timings.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain ESM script without types
import { DEFAULT_PAIRS, FIGURES, exitCodeOf, formatMeasured, parseArgs, renderText, selectFigures, verdict } from '../../bench/gate-figures.mjs';
// @ts-expect-error a plain ESM script without types
import { interleave, pairedRatio } from '../../bench/lib.mjs';

type Figure = { id: string; name: string; goal: number; unit: string };
const figure = (id: string): Figure => FIGURES.find((f: Figure) => f.id === id);

describe('the figures and their goals', () => {
  it('holds every goal of issue 19', () => {
    const goals = Object.fromEntries(FIGURES.map((f: Figure) => [f.id, `${f.goal} ${f.unit}`]));
    expect(goals).toEqual({
      build: '0.6 x',
      'build.rss': '150 MiB',
      'submit.100': '1.1 x',
      'submit.100.rss': '100 MiB',
      'submit.300': '1.1 x',
      'submit.300.rss': '100 MiB',
      scaffold: '2.5 x',
      check: '1.15 x',
      help: '1.3 x',
      'dev.ready': '1000 ms',
      'dev.reload': '300 ms',
      test: '1.15 x',
    });
  });

  it('selects by id or by group, in the table order', () => {
    expect(selectFigures([]).length).toBe(FIGURES.length);
    expect(selectFigures(['submit']).map((f: Figure) => f.id)).toEqual(['submit.100', 'submit.100.rss', 'submit.300', 'submit.300.rss']);
    expect(selectFigures(['test', 'submit.300']).map((f: Figure) => f.id)).toEqual(['submit.300', 'submit.300.rss', 'test']);
    expect(selectFigures(['build.rss']).map((f: Figure) => f.id)).toEqual(['build.rss']);
    expect(() => selectFigures(['sub'])).toThrow(/--only sub: no such figure \(one of: build, build\.rss/);
  });
});

describe('verdict', () => {
  it('passes at the goal and misses above it', () => {
    expect(verdict(figure('help'), { value: 1.3, pairs: 31 })).toMatchObject({ pass: true, value: 1.3, pairs: 31 });
    expect(verdict(figure('help'), { value: 1.31 })).toMatchObject({ pass: false, value: 1.31 });
    expect(verdict(figure('help'), { value: 1.31 })).not.toHaveProperty('reason');
  });

  it('misses with the reason when a baseline is missing, even without a value', () => {
    const v = verdict(figure('build'), { reason: 'zip (Info-ZIP) is not on PATH' });
    expect(v).toMatchObject({ pass: false, value: null, reason: 'zip (Info-ZIP) is not on PATH' });
  });

  it('never passes a figure that was not measured', () => {
    expect(verdict(figure('build.rss'), { value: undefined })).toMatchObject({ pass: false, reason: 'not measured' });
    expect(verdict(figure('build.rss'), { value: Number.NaN })).toMatchObject({ pass: false, value: null });
    expect(verdict(figure('check'), {})).toMatchObject({ pass: false });
  });

  it('gives exit code 1 when any figure missed', () => {
    const pass = verdict(figure('help'), { value: 1 });
    const miss = verdict(figure('test'), { reason: 'pytest does not run' });
    expect(exitCodeOf([pass])).toBe(0);
    expect(exitCodeOf([pass, miss])).toBe(1);
  });
});

describe('the text report', () => {
  it('prints the baselines, a line per figure with measured, goal and verdict, and why a figure missed', () => {
    const text = renderText({
      header: ['bench gate, quick mode'],
      baselines: [
        { name: 'node -e 0 (beside --help)', ms: 48.2, runs: 31 },
        { name: 'zip -r -q -X (5,000 files / 150 MB)', ms: 5500, runs: 1 },
      ],
      figures: [
        verdict(figure('help'), { value: 1.21, pairs: 31, detail: '--help 58 ms vs node 48 ms' }),
        verdict(figure('dev.ready'), { value: 1234, pairs: 5 }),
        verdict(figure('build'), { reason: 'zip (Info-ZIP) is not on PATH' }),
      ],
    });
    const lines = text.split('\n');
    expect(lines[0]).toBe('bench gate, quick mode');
    expect(text).toMatch(/node -e 0 \(beside --help\)\s+48 ms\s+31 runs/);
    expect(text).toMatch(/zip -r -q -X \(5,000 files \/ 150 MB\)\s+5\.50 s\s+1 run\b/);
    expect(lines.find((l) => l.startsWith('--help vs node -e 0'))).toMatch(/1\.21x\s+<= 1\.30x\s+PASS\s+31\s+--help 58 ms vs node 48 ms$/);
    expect(lines.find((l) => l.startsWith('dev: start -> ready'))).toMatch(/1234 ms\s+<= 1000 ms\s+MISS\s+5/);
    const build = lines.findIndex((l) => l.startsWith('build, 5,000 files'));
    expect(lines[build]).toMatch(/\s-\s+<= 0\.60x\s+MISS\s+-/);
    expect(lines[build + 1]).toBe('    MISS because: zip (Info-ZIP) is not on PATH');
    expect(lines.at(-1)).toBe('2 of 3 figures missed their goal');
  });
});

describe('a measured value beside its goal', () => {
  it('prints with more digits when it would read as the goal but is not it', () => {
    expect(formatMeasured(1.1523, 1.15, 'x')).toBe('1.152x');
    expect(formatMeasured(1.15, 1.15, 'x')).toBe('1.15x');
    expect(formatMeasured(1.2, 1.15, 'x')).toBe('1.20x');
    expect(formatMeasured(300.4, 300, 'ms')).toBe('300.4 ms');
    expect(formatMeasured(null, 150, 'MiB')).toBe('-');
  });
});

describe('the command line', () => {
  it('takes --only (repeatable), --pairs <group>=<n> and --json', () => {
    expect(parseArgs([])).toEqual({ only: [], pairs: DEFAULT_PAIRS, json: false });
    const a = parseArgs(['--only', 'help', '--only', 'dev.reload', '--pairs', 'help=5', '--json']);
    expect(a).toEqual({ only: ['help', 'dev.reload'], pairs: { ...DEFAULT_PAIRS, help: 5 }, json: true });
  });

  it('refuses what it does not know, in one line', () => {
    expect(() => parseArgs(['--only'])).toThrow('--only needs a value');
    expect(() => parseArgs(['--only', 'nope'])).toThrow(/no such figure/);
    expect(() => parseArgs(['--pairs', 'help=0'])).toThrow(/--pairs takes <group>=<n>/);
    expect(() => parseArgs(['--pairs', 'nope=3'])).toThrow(/--pairs takes <group>=<n>/);
    expect(() => parseArgs(['--fast'])).toThrow('unknown option --fast');
  });
});

describe('interleaved pairs', () => {
  it('warms each side once, then alternates which side runs first', async () => {
    const order: string[] = [];
    const r = await interleave(
      4,
      (i: number) => (order.push(`b${i}`), i),
      async (i: number) => (order.push(`o${i}`), i * 10),
    );
    expect(order).toEqual(['b-1', 'o-1', 'b0', 'o0', 'o1', 'b1', 'b2', 'o2', 'o3', 'b3']);
    expect(r).toEqual({ base: [0, 1, 2, 3], ours: [0, 10, 20, 30] });
  });

  it('takes the median of the pairs’ ratios', () => {
    expect(pairedRatio([100, 200, 100], [150, 200, 300])).toBe(1.5);
  });
});
