#!/usr/bin/env node
// Generates src/core/manifest/schema-validator.generated.ts from the JSON
// Schema in src/core/manifest/schema.ts with ajv's standalone code, so the
// CLI never imports or compiles ajv at run time (that cost ~40-140 ms on
// every command that reads a manifest). Run after changing schema.ts:
//   npm run build && node scripts/gen-manifest-validator.mjs && npm run build
// test/unit/manifest-validator.test.ts fails while the file is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('..', import.meta.url);
const { manifestSchema } = await import(new URL('dist/core/manifest/schema.js', root).href);
const { generateValidatorSource } = await import(new URL('scripts/validator-source.mjs', root).href);
const out = fileURLToPath(new URL('src/core/manifest/schema-validator.generated.ts', root));
writeFileSync(out, generateValidatorSource(manifestSchema));
console.log(`wrote ${out}`);
