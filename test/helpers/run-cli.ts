import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/plexichat-plugin.js', import.meta.url));

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the built CLI as a real process. Colours are off and CI is set so no
 * prompt is ever shown; pass env to override.
 */
export async function runCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined>; input?: string; timeout?: number } = {},
): Promise<CliResult> {
  const r = await execa(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    // The code-scan cache is off unless a test turns it on (test/e2e/validate-cache).
    env: { NO_COLOR: '1', CI: '1', FORCE_COLOR: undefined, PLEXICHAT_CACHE_DIR: 'off', ...opts.env },
    extendEnv: true,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
    reject: false,
    timeout: opts.timeout ?? 120_000,
    stripFinalNewline: false,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** No user-facing error may carry a stack trace (unless --verbose). */
export function hasStackTrace(text: string): boolean {
  return /\n\s+at .+\(.+:\d+:\d+\)/.test(text) || /\n\s+at (file|node):/.test(text);
}
