#!/usr/bin/env node
import '../dist/cli/wasm-tiering.js';
import { main } from '../dist/cli/main.js';
process.exitCode = await main(process.argv);
