import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { manifestSchema } from '../../src/core/manifest/schema.js';
// @ts-expect-error plain ESM helper shared with the generator script
import { generateValidatorSource } from '../../scripts/validator-source.mjs';

describe('the generated manifest validator', () => {
  it('matches schema.ts (run scripts/gen-manifest-validator.mjs after changing the schema)', () => {
    const committed = readFileSync(new URL('../../src/core/manifest/schema-validator.generated.ts', import.meta.url), 'utf8');
    expect(committed).toBe(generateValidatorSource(manifestSchema));
  });
});
