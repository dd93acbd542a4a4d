/**
 * Set-up of `npm run test:fast` (vitest.fast.config.ts): a fast test starts
 * no process. Every way node:child_process starts one throws, naming what
 * was started and where such a test belongs, so a test that needs Python, a
 * browser, a shell or the bin cannot slip into the fast set unnoticed.
 */
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

const STARTERS = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const;

for (const name of STARTERS) {
  (childProcess as unknown as Record<string, unknown>)[name] = (file: unknown, args?: unknown) => {
    const what = [file, ...(Array.isArray(args) ? args : [])].map(String).join(' ');
    throw new Error(
      `test:fast starts no process, and this test ran child_process.${name}(${what}); ` +
        'a test that needs Python, a browser, a shell or the bin belongs under test/e2e/',
    );
  };
}
// Named imports (`import { spawn } from 'node:child_process'`) see the throwing versions too.
syncBuiltinESMExports();
