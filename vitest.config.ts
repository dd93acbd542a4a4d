import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Units under test/unit/ that also start a real process (the Python SDK's
 * suite, its YAML reader and endpoint rule, Python's zipfile and unzip on
 * written archives, a tee at a pipe's end, bench/lib.mjs probing GNU time
 * when it loads): they run with the e2e tests.
 */
const NEEDS_PROCESS = [
  'test/unit/sdk-python.test.ts',
  'test/unit/endpoint-rule.test.ts',
  'test/unit/package/pack.test.ts',
  'test/unit/package/own-output.test.ts',
  'test/unit/bench-gate.test.ts',
];

/**
 * Two projects, one run (`npm test` runs both; `npm run test:fast` only
 * the first):
 * - fast: test/unit/ and test/fast/, in-process only (the CLI through
 *   `main`, servers on 127.0.0.1 in the test process). No process may start
 *   (test/helpers/no-processes.ts fails the test that tries), so
 *   `test:fast` runs them with --no-isolate: a worker keeps its modules
 *   loaded from file to file.
 * - e2e: test/e2e/, where a real process, Python, a TTY, a signal, a
 *   browser or the bin matters; each file in a fresh worker.
 */
export default defineConfig({
  test: {
    // The default output, then the tests skipped for a missing tool, named (test/helpers/requires.ts).
    reporters: ['default', './test/helpers/requires-reporter.ts'],
    clearMocks: true,
    restoreMocks: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        extends: true,
        test: {
          name: 'fast',
          include: ['test/unit/**/*.test.ts', 'test/fast/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...NEEDS_PROCESS],
          setupFiles: ['test/helpers/no-processes.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', ...NEEDS_PROCESS],
        },
      },
    ],
  },
});
