import { execa, type ResultPromise } from 'execa';
import { BIN } from './run-cli.js';

/** Quote for sh -c. */
function sh(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Run the CLI on a pseudo-terminal (util-linux `script`), so stdin is a TTY
 * and prompts are shown. `expect(text)` waits for output, `send(keys)` types.
 */
export function runTty(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  const command = [process.execPath, BIN, ...args].map(sh).join(' ');
  const child: ResultPromise = execa('script', ['-qfec', command, '/dev/null'], {
    cwd: opts.cwd,
    env: { CI: undefined, NO_COLOR: '1', FORCE_COLOR: undefined, TERM: 'xterm', ...opts.env },
    extendEnv: true,
    stdin: 'pipe',
    reject: false,
    timeout: 60_000,
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  return {
    get output() {
      return output;
    },
    async expect(text: string | RegExp, timeoutMs = 20_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      const seen = () => (typeof text === 'string' ? output.includes(text) : text.test(output));
      while (!seen()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(text)}; output so far:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    send(keys: string): void {
      child.stdin?.write(keys);
    },
    async done(): Promise<{ exitCode: number; output: string }> {
      const r = await child;
      return { exitCode: r.exitCode ?? -1, output };
    },
  };
}
