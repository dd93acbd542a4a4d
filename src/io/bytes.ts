/**
 * The one byte-size format every command prints: binary (IEC) units, as the
 * docs and the limits use them (1 KiB = 1024 B). Below 1 KiB the exact
 * count; whole multiples without a decimal (64 KiB, 512 MiB), others with one.
 */
const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return `${Math.round(n)} B`;
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i += 1;
  } while (v >= 1024 && i < UNITS.length - 1);
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${UNITS[i]}`;
}
