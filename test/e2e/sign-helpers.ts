/** Helpers for the signing tests (keys, sign, download). */
import fs from 'node:fs/promises';
import { expect } from 'vitest';

/** The base64 body of a PEM private key: the key itself, which must never appear in any output. */
export async function privateKeyCanary(file: string): Promise<string> {
  const pem = await fs.readFile(file, 'utf8');
  const body = pem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .join('');
  expect(body.length).toBeGreaterThan(40);
  return body;
}
