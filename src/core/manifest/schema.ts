/**
 * The JSON Schema of config/plugin.yaml (structure and types). Rules that
 * need the catalogues, semver or positions live in rules.ts.
 */
const stringList = { type: 'array', items: { type: 'string' } } as const;
const quantity = { type: ['string', 'number'] } as const;

export const manifestSchema = {
  type: 'object',
  required: ['plugin', 'metadata'],
  properties: {
    plugin: {
      type: 'object',
      required: ['name', 'version', 'author', 'description'],
      properties: {
        name: { type: 'string' },
        version: { type: 'string' },
        author: { type: 'string' },
        description: { type: 'string' },
      },
      additionalProperties: false,
    },
    metadata: {
      type: 'object',
      required: ['category'],
      properties: {
        category: { type: 'string' },
        tags: stringList,
        license: { type: 'string' },
        homepage: { type: 'string' },
      },
      additionalProperties: false,
    },
    dependencies: {
      type: 'object',
      properties: {
        core: { type: 'string' },
        python: { type: 'string' },
        packages: stringList,
      },
      additionalProperties: false,
    },
    permissions: {
      type: 'object',
      properties: { required: stringList, optional: stringList },
      additionalProperties: false,
    },
    resources: {
      type: 'object',
      properties: {
        limits: { type: 'object', additionalProperties: quantity },
        requests: { type: 'object', additionalProperties: quantity },
      },
      additionalProperties: false,
    },
    hooks: stringList,
    endpoints: stringList,
    settings: { type: 'object' },
  },
  additionalProperties: false,
} as const;

/** Top-level and block keys, for "did you mean" on unknown fields. */
export const KNOWN_KEYS: Record<string, string[]> = {
  '': Object.keys(manifestSchema.properties),
  plugin: Object.keys(manifestSchema.properties.plugin.properties),
  metadata: Object.keys(manifestSchema.properties.metadata.properties),
  dependencies: Object.keys(manifestSchema.properties.dependencies.properties),
  permissions: Object.keys(manifestSchema.properties.permissions.properties),
  resources: Object.keys(manifestSchema.properties.resources.properties),
};
