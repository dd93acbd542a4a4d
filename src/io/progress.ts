/**
 * One progress display for byte counts (packing, uploading), on stderr.
 *
 * A live bar (cli-progress, loaded only when one is drawn) appears only when
 * stderr is a terminal, and neither --json, --quiet nor CI is set (STYLE
 * 3.2 rule 10). Otherwise the caller may ask for a few plain lines, so that
 * a CI log shows long work is alive.
 */
import { isCI } from './context.js';
import { formatBytes } from './bytes.js';
import type { Output } from './output.js';

export interface Progress {
  /** Bytes done so far of `total`. */
  update(this: void, done: number, total: number): void;
  /** Clear the bar (idempotent). */
  stop(): void;
  /** True once a bar has been drawn: the work is a long one. */
  readonly shown: boolean;
}

export interface ProgressOptions {
  /** What is happening, before the bar: "packing", "uploading x.zip". */
  label: string;
  /**
   * Draw the bar only once the work has taken this long, or at once for a
   * total of at least `bigBytes` (default: at once).
   */
  showAfterMs?: number;
  bigBytes?: number;
  /** Said after the bar once every byte is done: "sent; the marketplace is checking it". */
  doneText?: string;
  /** Show the rate (bytes per second). */
  rate?: boolean;
  /** Without a live bar: one line at the start, then one per quarter for totals over `quartersOver` bytes. */
  plain?: { start: (total: number) => string; quartersOver: number; done: string };
}

/** What the display needs of a command's Ctx. */
export interface ProgressCtx {
  out: Output;
  env: NodeJS.ProcessEnv;
  clock: { now(): number };
}

/** True when a live bar may be drawn: stderr is a terminal, and neither --json, --quiet nor CI. */
export function canAnimate(ctx: Pick<ProgressCtx, 'out' | 'env'>): boolean {
  return ctx.out.canAnimate && !isCI(ctx.env);
}

export function createProgress(ctx: ProgressCtx, opts: ProgressOptions): Progress {
  return canAnimate(ctx) ? liveBar(ctx, opts) : plainLines(ctx, opts);
}

interface Bar {
  start(total: number, value: number, payload: object): void;
  update(value: number, payload: object): void;
  stop(): void;
}

function liveBar(ctx: ProgressCtx, opts: ProgressOptions): Progress {
  const started = ctx.clock.now();
  let bar: Bar | undefined;
  let loading = false;
  let stopped = false;
  let last = { done: 0, total: 0 };
  const payload = (done: number, total: number) => {
    const secs = Math.max(0.001, (ctx.clock.now() - started) / 1000);
    const tail = done >= total && opts.doneText ? ` | ${opts.doneText}` : opts.rate ? ` | ${formatBytes(done / secs)}/s` : '';
    return { doneText: formatBytes(done), totalText: formatBytes(total), tail };
  };
  const draw = () => {
    loading = true;
    void import('cli-progress').then((m) => {
      if (stopped) return;
      const mod = (m as unknown as { default?: typeof m }).default ?? m;
      if (ctx.out.muted) return;
      const b = new mod.SingleBar(
        {
          stream: ctx.out.stderr,
          format: `${opts.label} [{bar}] {percentage}% | {doneText} of {totalText}{tail}`,
          hideCursor: true,
          clearOnComplete: true,
          barsize: 24,
          fps: 10,
        },
        mod.Presets.shades_classic,
      );
      b.start(last.total, last.done, payload(last.done, last.total));
      bar = b;
    });
  };
  return {
    update(done, total) {
      last = { done, total };
      // The reader of stderr went away (src/io/closed-pipe.ts): the bar stops drawing.
      if (ctx.out.muted && !stopped) {
        stopped = true;
        bar?.stop();
      }
      if (stopped) return;
      if (bar) return bar.update(done, payload(done, total));
      if (loading || stopped) return;
      const wait = opts.showAfterMs ?? 0;
      // Large inputs get the bar at once; others only when they turn out slow.
      if (total >= (opts.bigBytes ?? 0) || ctx.clock.now() - started >= wait) draw();
    },
    stop() {
      stopped = true;
      bar?.stop();
    },
    get shown() {
      return bar !== undefined;
    },
  };
}

function plainLines(ctx: ProgressCtx, opts: ProgressOptions): Progress {
  const plain = opts.plain;
  let said = false;
  let lastQuarter = 0;
  return {
    update(done, total) {
      if (!plain) return;
      if (!said) {
        said = true;
        ctx.out.info(plain.start(total));
      }
      const quarter = Math.floor((done / total) * 4);
      if (quarter > lastQuarter && total > plain.quartersOver) {
        lastQuarter = quarter;
        ctx.out.info(quarter < 4 ? `  ${quarter * 25}% (${formatBytes(done)})` : `  ${plain.done}`);
      }
    },
    stop() {
      /* nothing to clear */
    },
    shown: false,
  };
}
