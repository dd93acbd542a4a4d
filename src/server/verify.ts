/**
 * The archive check on every upload: verifyArchive from src/core/package/verify.ts,
 * the same one `plexichat-plugin verify` runs. Tests may pass their own VerifyFn
 * to startServer.
 */
import { verifyArchive, type VerifyOptions, type VerifyReport } from '../core/package/verify.js';

export type { VerifyFinding, VerifyOptions, VerifyReport } from '../core/package/verify.js';

export type VerifyFn = (file: string, opts: VerifyOptions) => Promise<VerifyReport>;

export const defaultVerify: VerifyFn = (file, opts) => verifyArchive(file, opts);
