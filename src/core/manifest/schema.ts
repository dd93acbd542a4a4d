/**
 * The JSON Schema of config/plugin.yaml (structure and types), defined in
 * schemas/files/plugin.schema.json; its validator and the Manifest type are
 * generated from it (npm run gen:schemas). Rules that need the catalogues,
 * semver or positions live in rules.ts.
 */
import { schema } from './schema-validator.generated.js';

export const manifestSchema = schema;

/** Top-level and block keys, for "did you mean" on unknown fields. */
export const KNOWN_KEYS: Record<string, string[]> = {
  '': Object.keys(manifestSchema.properties),
  plugin: Object.keys(manifestSchema.properties.plugin.properties),
  metadata: Object.keys(manifestSchema.properties.metadata.properties),
  dependencies: Object.keys(manifestSchema.properties.dependencies.properties),
  permissions: Object.keys(manifestSchema.properties.permissions.properties),
  resources: Object.keys(manifestSchema.properties.resources.properties),
};
