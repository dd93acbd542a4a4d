/**
 * The archive check on every upload: the build engineer's verifyArchive
 * (src/core/package/verify.ts), the same one `plexichat-plugin verify` runs.
 * Tests may pass their own VerifyFn to startServer.
 */
import type { Manifest } from '../core/manifest/types.js';

export interface VerifyFinding {
  severity: 'error' | 'warning';
  code: string;
  message: string;
  entry?: string;
}

export interface VerifyReport {
  ok: boolean;
  findings: VerifyFinding[];
  manifest?: Manifest;
  entries: number;
  uncompressedBytes: number;
}

export interface VerifyOpts {
  maxArchiveBytes?: number;
  maxEntries?: number;
  maxUncompressedBytes?: number;
  maxRatio?: number;
  expect?: { name?: string; version?: string };
}

export type VerifyFn = (file: string, opts: VerifyOpts) => Promise<VerifyReport>;

// TEMPORARY until src/core/package/verify.ts lands on main: a computed specifier so this compiles without it.
const VERIFY_MODULE = '../core/package/verify.js';

export const defaultVerify: VerifyFn = async (file, opts) => {
  const { verifyArchive } = (await import(VERIFY_MODULE)) as { verifyArchive: VerifyFn };
  return verifyArchive(file, opts);
};
