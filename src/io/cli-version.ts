/**
 * This CLI's version, from its package.json (read once per process; '0.0.0'
 * when it cannot be read). The program's --version, check's SARIF tool
 * version and test's manifest cache key all use it.
 */
import { readFileSync } from 'node:fs';
import { valueText } from './value-text.js';

let version: string | undefined;

export function cliVersion(): string {
  if (version === undefined) {
    try {
      version = valueText((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }).version ?? '0.0.0');
    } catch {
      version = '0.0.0';
    }
  }
  return version;
}
