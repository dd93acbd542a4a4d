/**
 * Imported by client.ts before undici. undici parses HTTP with llhttp
 * compiled to WebAssembly, and V8 compiles that module twice (baseline
 * Liftoff, then optimising TurboFan). For a CLI that makes a handful of
 * requests with small JSON answers the optimised tier costs ~35 MiB of
 * peak RSS and ~60 ms for nothing (measured: one request peaks at 99 MiB
 * with tier-up, 64 MiB with Liftoff only). Uploads are not parsed, so
 * their speed does not change. Only wasm compilation is affected.
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--liftoff-only');
