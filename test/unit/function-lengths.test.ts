/**
 * The house rule on function length, checked on every run: no function in src/
 * over 100 lines unless a `// long-function: <reason>` comment directly above
 * it says why (scripts/function-lengths.mjs finds them with the TypeScript parser).
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain ESM script without types
import { longFunctions } from '../../scripts/function-lengths.mjs';

type Long = { file: string; line: number; name: string; lines: number; reason?: string };

describe('function lengths in src/', () => {
  it('has no function over 100 lines without a reason', () => {
    const found = (longFunctions as (limit?: number) => Long[])(100);
    const unexplained = found.filter((f) => !f.reason).map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`);
    expect(unexplained).toEqual([]);
  });
});
