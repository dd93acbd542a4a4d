/**
 * Two tokens are never one owner (issue 20, class 3). A developer's id was
 * the first 8 hex digits of the token's sha256: a pair of tokens sharing
 * them is found in well under a second, and acted as one owner. Now the id
 * is the full digest, stored per token; a data dir from before keeps its
 * owners. Against the real development marketplace, through the CLI.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../src/server/index.js';
import { legacyUserIdOf, userIdOf } from '../../src/server/auth.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { writeSources } from './marketplace-plugin.js';

/** Two distinct tokens whose sha256 share their first 8 hex digits (a birthday search: ~80,000 tries). */
function collidingTokens(): [string, string] {
  const seen = new Map<string, string>();
  for (let i = 0; i < 5_000_000; i++) {
    const token = `pcx_collide_${i.toString(36)}`;
    const prefix = createHash('sha256').update(token).digest('hex').slice(0, 8);
    const other = seen.get(prefix);
    if (other !== undefined) return [other, token];
    seen.set(prefix, token);
  }
  throw new Error('no colliding pair found');
}

let a: string;
let b: string;
const servers: ServerHandle[] = [];
let home: string;

beforeAll(async () => {
  [a, b] = collidingTokens();
  home = await tempDir({}, 'pxp-ids-home-');
});

const dataDirs: string[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

afterAll(async () => {
  for (const d of dataDirs) await fs.rm(d, { recursive: true, force: true });
});

async function start(dataDir: string, developers: string[], opts: { autoApprove?: boolean } = {}): Promise<ServerHandle> {
  if (!dataDirs.includes(dataDir)) dataDirs.push(dataDir);
  const s = await startServer({ dataDir, developerTokens: developers, reviewerTokens: ['pcx_reviewer_token_1'], autoApprove: opts.autoApprove ?? true });
  servers.push(s);
  return s;
}

function cli(srv: ServerHandle, token: string, args: string[], cwd?: string) {
  return runMain(args, { cwd, env: { XDG_CONFIG_HOME: home, PLEXICHAT_MARKETPLACE_URL: srv.url, PLEXICHAT_TOKEN: token, PLEXICHAT_SIGNING_KEY: undefined } });
}

async function project(name: string, version: string): Promise<string> {
  const dir = await tempDir({}, 'pxp-ids-');
  await writeSources(dir, { name, version });
  const r = await runMain(['build', '--no-sign'], { cwd: dir, env: { XDG_CONFIG_HOME: home, PLEXICHAT_SIGNING_KEY: undefined } });
  expect(r.exitCode, r.stderr).toBe(0);
  return dir;
}

describe('tokens whose digests share their first 8 hex digits are two owners', () => {
  it('the pair really collides on the old short id, and the new ids differ', () => {
    expect(a).not.toBe(b);
    expect(legacyUserIdOf(a, 'developer')).toBe(legacyUserIdOf(b, 'developer'));
    expect(userIdOf(a, 'developer')).not.toBe(userIdOf(b, 'developer'));
  });

  it("whoami names two users; B cannot publish, resubmit or read A's submission; B cannot take A's plugin name", async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pxp-ids-data-'));
    const srv = await start(dataDir, [a, b], { autoApprove: true });
    const whoA = JSON.parse((await cli(srv, a, ['--json', 'marketplace', 'whoami'])).stdout) as { user: string };
    const whoB = JSON.parse((await cli(srv, b, ['--json', 'marketplace', 'whoami'])).stdout) as { user: string };
    expect(whoA.user).toBe(userIdOf(a, 'developer'));
    expect(whoB.user).toBe(userIdOf(b, 'developer'));
    expect(whoA.user).not.toBe(whoB.user);

    const dir = await project('collide_one', '1.0.0');
    const sub = await cli(srv, a, ['--json', 'marketplace', 'submit'], dir);
    expect(sub.exitCode, sub.stderr).toBe(0);
    const id = (JSON.parse(sub.stdout) as { submission: { id: string } }).submission.id;

    const pub = await cli(srv, b, ['--json', 'marketplace', 'publish', id]);
    expect(pub.exitCode).toBe(4);
    expect((JSON.parse(pub.stdout) as { error: { code: string } }).error.code).toBe('NOT_OWNER');
    const status = await cli(srv, b, ['--json', 'marketplace', 'status', id]);
    expect(status.exitCode).not.toBe(0);
    const next = await project('collide_one', '1.0.1');
    const steal = await cli(srv, b, ['--json', 'marketplace', 'submit'], next);
    expect(steal.exitCode).toBe(4);
    expect((JSON.parse(steal.stdout) as { error: { code: string } }).error.code).toBe('NOT_OWNER');
    expect(srv.countSubmissions('collide_one')).toBe(1);

    // A still can; the plugin's owner is A's full id.
    const ok = await cli(srv, a, ['marketplace', 'publish', id]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const info = JSON.parse((await cli(srv, b, ['--json', 'marketplace', 'info', 'collide_one'])).stdout) as { owner: string };
    expect(info.owner).toBe(whoA.user);
  });

  it('the ids survive a restart, and a data dir written with the short ids keeps its owner (the first token given whose short id owns data)', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pxp-ids-old-'));
    let srv = await start(dataDir, [a]);
    const dir = await project('collide_two', '1.0.0');
    expect((await cli(srv, a, ['marketplace', 'submit'], dir)).exitCode).toBe(0);
    await srv.close();
    // Make it a data dir from before: every owner is A's short id, no identities stored.
    const db = new Database(path.join(dataDir, 'marketplace.db'));
    const full = userIdOf(a, 'developer');
    const short = legacyUserIdOf(a, 'developer');
    db.prepare('UPDATE plugins SET owner = ? WHERE owner = ?').run(short, full);
    db.prepare('UPDATE submissions SET owner = ? WHERE owner = ?').run(short, full);
    db.prepare('DELETE FROM identities').run();
    db.close();

    srv = await start(dataDir, [a, b]);
    const whoA = JSON.parse((await cli(srv, a, ['--json', 'marketplace', 'whoami'])).stdout) as { user: string };
    const whoB = JSON.parse((await cli(srv, b, ['--json', 'marketplace', 'whoami'])).stdout) as { user: string };
    expect(whoA.user).toBe(short);
    expect(whoB.user).toBe(userIdOf(b, 'developer'));
    const next = await project('collide_two', '1.0.1');
    const steal = await cli(srv, b, ['--json', 'marketplace', 'submit'], next);
    expect(steal.exitCode).toBe(4);
    const mine = await cli(srv, a, ['marketplace', 'submit'], next);
    expect(mine.exitCode, mine.stderr).toBe(0);

    // Restarted with B listed first: the stored mapping holds, B is still not A.
    await srv.close();
    servers.length = 0;
    srv = await start(dataDir, [b, a]);
    const again = JSON.parse((await cli(srv, a, ['--json', 'marketplace', 'whoami'])).stdout) as { user: string };
    const againB = JSON.parse((await cli(srv, b, ['--json', 'marketplace', 'whoami'])).stdout) as { user: string };
    expect(again.user).toBe(short);
    expect(againB.user).toBe(userIdOf(b, 'developer'));
    const later = await project('collide_two', '1.0.2');
    expect((await cli(srv, b, ['marketplace', 'submit'], later)).exitCode).toBe(4);
  });
});
