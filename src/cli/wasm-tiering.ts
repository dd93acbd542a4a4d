/**
 * Set once at process entry: the bins import this before cli/main.js, so
 * it applies to the CLI run as a program and never to a process that
 * imports the CLI's modules (test workers, the in-process main()).
 *
 * undici (the marketplace client's HTTP) parses answers with llhttp compiled
 * to WebAssembly, and V8 compiles that module twice (baseline Liftoff, then
 * optimising TurboFan). For a CLI that makes a handful of requests with small
 * JSON answers the optimised tier costs memory and time for nothing. Only
 * wasm compilation is affected, and no other code of the CLI compiles wasm.
 * `node bench/wasm-tiering.mjs` measures it: `marketplace whoami` against a
 * local `marketplace serve`, with and without this flag (figures in the
 * commit that moved it here: peak RSS 65 MiB with it, 100 MiB without).
 */

/** A run that only prints help or the version makes no request: it skips the flag and loading node:v8. */
function printsOnlyHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  const own = end === -1 ? args : args.slice(0, end);
  return own.length === 0 || own.some((a) => a === '--help' || a === '-h' || a === '--version' || a === '-V' || a === 'help');
}

if (!printsOnlyHelp(process.argv.slice(2))) {
  const { default: v8 } = await import('node:v8');
  v8.setFlagsFromString('--liftoff-only');
}
