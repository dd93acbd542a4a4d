#!/usr/bin/env node
import { printFromSnapshot } from '../dist/cli/help-snapshot.js';

// Help and the version come from the snapshot the build made, when it can answer (src/cli/help-snapshot.ts).
if (!printFromSnapshot(process.argv, process)) {
  await import('../dist/cli/wasm-tiering.js');
  const { main } = await import('../dist/bundle/main.js');
  process.exitCode = await main(process.argv);
}
