/**
 * Archive limits the marketplace enforces by default (verifyArchive). Kept
 * apart from verify.ts so `build` can warn about them without loading yauzl.
 */
export const VERIFY_DEFAULTS = {
  /** Largest archive file accepted. */
  maxArchiveBytes: 512 * 1024 * 1024,
  /** Most entries accepted. */
  maxEntries: 10_000,
  /** Largest total uncompressed size. */
  maxUncompressedBytes: 1024 * 1024 * 1024,
  /** Largest uncompressed/compressed ratio of one entry over 1 MiB. */
  maxRatio: 100,
} as const;
