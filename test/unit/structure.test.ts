/**
 * The house rules for src/, checked on every run: no import from a lower
 * floor to a higher one, no import cycle, no command module importing
 * another, and the root modules importing nothing (scripts/import-graph.mjs
 * defines the floors by folder alone, with no exception).
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain ESM script without types
import { commandImports, cycles, floorOf, graph, rootImports, upward } from '../../scripts/import-graph.mjs';

describe('the import graph of src/', () => {
  const edges = graph();

  it('has no upward import and no cycle', () => {
    expect(edges.size).toBeGreaterThan(50);
    expect(upward(edges)).toEqual([]);
    expect(cycles(edges)).toEqual([]);
  });

  it('has no command module importing another command module', () => {
    expect(commandImports(edges)).toEqual([]);
  });

  it('places every module by its folder alone', () => {
    expect(rootImports(edges)).toEqual([]);
    expect(floorOf('io/context.ts')).toBe(0);
    expect(floorOf('errors.ts')).toBe(0);
    expect(floorOf('check/runner.ts')).toBe(2);
    expect(floorOf('commands/marketplace/submit.ts')).toBe(3);
  });

  it('finds a command importing another (the rule is not vacuous)', () => {
    const fake = new Map([
      ['commands/a.ts', ['commands/marketplace/b.ts']],
      ['commands/marketplace/b.ts', []],
    ]);
    expect(commandImports(fake)).toEqual([{ from: 'commands/a.ts', to: 'commands/marketplace/b.ts' }]);
  });
});
