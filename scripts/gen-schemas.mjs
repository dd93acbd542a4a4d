#!/usr/bin/env node
// Writes, for every format in scripts/schema-targets.mjs, its validator
// (ajv standalone code) and its TypeScript type from its JSON Schema in
// schemas/files/. Run after changing a schema: `npm run gen:schemas`.
// test/unit/schema-generated.test.ts fails while a generated file is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TARGETS, typesPath, typesSource, validatorPath, validatorSource } from './schema-targets.mjs';

const only = process.argv.slice(2);
for (const target of TARGETS) {
  if (only.length > 0 && !only.includes(target.schema)) continue;
  writeFileSync(validatorPath(target), validatorSource(target));
  writeFileSync(typesPath(target), await typesSource(target));
  console.log(`wrote ${fileURLToPath(validatorPath(target))} and ${fileURLToPath(typesPath(target))}`);
}
