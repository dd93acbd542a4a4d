/** The .env that `dev` reads (src/dev/dotenv.ts): its lines, and the environment winning over it. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDotenv, withDotenv } from '../../src/dev/dotenv.js';
import { tempDir } from '../helpers/temp-project.js';

describe('.env for dev', () => {
  it('reads NAME=value lines, skips blanks and comments, takes export and quotes', () => {
    const text = '# a comment\n\nAPI_URL=https://x.example\nexport TOKEN = abc # trailing\nQUOTED="a # b"\nSINGLE=\'x y\'\nEMPTY=\r\n';
    expect(parseDotenv(text)).toEqual({ API_URL: 'https://x.example', TOKEN: 'abc', QUOTED: 'a # b', SINGLE: 'x y', EMPTY: '' });
  });

  for (const bad of ['just words', '1ABC=x', 'A-B=c', '=value']) {
    it(`refuses ${JSON.stringify(bad)} naming its line (DOTENV_INVALID, exit 2)`, () => {
      let err: { code?: string; exitCode?: number; message?: string } = {};
      try {
        parseDotenv(`OK=1\n${bad}\n`);
      } catch (e) {
        err = e as typeof err;
      }
      expect(err).toMatchObject({ code: 'DOTENV_INVALID', exitCode: 2 });
      expect(err.message).toBe('.env:2: not a KEY=VALUE line');
    });
  }

  it('the environment wins over the file; no file leaves the environment as it is', async () => {
    const dir = await tempDir({ '.env': 'A=from-file\nB=from-file\n' });
    expect(await withDotenv(dir, { A: 'from-env' })).toEqual({ A: 'from-env', B: 'from-file' });
    const none = await tempDir();
    const env = { X: '1' };
    expect(await withDotenv(none, env)).toBe(env);
    await fs.mkdir(path.join(none, '.env'));
    await expect(withDotenv(none, env)).rejects.toMatchObject({ code: 'NOT_A_REGULAR_FILE' });
  });
});
