/**
 * Every file format the CLI reads is defined once, by its JSON Schema in
 * schemas/files/; its validator and its TypeScript type are generated from
 * it and committed. These fail while a generated file is stale: run
 * `npm run gen:schemas` after changing a schema.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper shared with the generator script
import { TARGETS, typesPath, typesSource, validatorPath, validatorSource } from '../../scripts/schema-targets.mjs';

interface Target {
  schema: string;
  out: string;
  type: string;
}

describe('the generated validators and types', () => {
  it.each((TARGETS as Target[]).map((t) => [t.schema, t]))('%s: the committed validator and type match the schema', async (_name, target) => {
    expect(readFileSync(validatorPath(target), 'utf8')).toBe(validatorSource(target));
    expect(readFileSync(typesPath(target), 'utf8')).toBe(await typesSource(target));
  });
});
