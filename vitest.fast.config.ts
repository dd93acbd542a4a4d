import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:fast`: the tests that start no process (no Python, no
 * browser, no shell, no `marketplace serve`, no bin), in-process only: the
 * units under test/unit/ and the CLI run through `main` under test/fast/.
 * test/helpers/no-processes.ts makes any process start fail the test, so a
 * slow test cannot slip in; it belongs under test/e2e/.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/unit/**/*.test.ts', 'test/fast/**/*.test.ts'],
    // Units that also run a real reader or process (the Python SDK's suite, its YAML reader and
    // endpoint rule, Python's zipfile and unzip on written archives, a tee at a pipe's end):
    // `npm test` runs them.
    exclude: [
      ...configDefaults.exclude,
      'test/unit/sdk-python.test.ts',
      'test/unit/sdk-yaml-corpus.test.ts',
      'test/unit/endpoint-rule.test.ts',
      'test/unit/package/pack.test.ts',
      'test/unit/package/own-output.test.ts',
    ],
    setupFiles: ['test/helpers/no-processes.ts'],
    // No process, so one worker may run file after file with its modules loaded once.
    isolate: false,
  },
});
