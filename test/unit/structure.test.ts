/**
 * The house rules for src/, checked on every run: no import from a lower
 * floor to a higher one and no import cycle (scripts/import-graph.mjs
 * defines the floors).
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain ESM script without types
import { cycles, graph, upward } from '../../scripts/import-graph.mjs';

describe('the import graph of src/', () => {
  it('has no upward import and no cycle', () => {
    const edges = graph();
    expect(edges.size).toBeGreaterThan(50);
    expect(upward(edges)).toEqual([]);
    expect(cycles(edges)).toEqual([]);
  });
});
