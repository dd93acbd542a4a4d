import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../../src/server/routes.js';
import { startDevServer, type DevServer } from '../../helpers/dev-server.js';

/** The route table of docs/marketplace-api.md: `| METHOD | /path | auth | what |` rows. */
async function documentedRoutes(): Promise<{ route: string; auth: string }[]> {
  const doc = await fs.readFile(new URL('../../../docs/marketplace-api.md', import.meta.url), 'utf8');
  const rows: { route: string; auth: string }[] = [];
  for (const line of doc.split('\n')) {
    const m = /^\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*(\/\S*)\s*\|\s*([^|]+?)\s*\|/.exec(line);
    if (m) rows.push({ route: `${m[1]} ${m[2]}`, auth: m[3] });
  }
  return rows;
}

describe('the API contract', () => {
  let srv: DevServer;
  beforeAll(async () => {
    srv = await startDevServer();
  });
  afterAll(() => srv.stop());

  it('the server registers exactly the routes docs/marketplace-api.md lists', async () => {
    const documented = (await documentedRoutes()).map((r) => r.route).sort();
    expect(documented.length).toBeGreaterThanOrEqual(10);
    expect([...srv.registeredRoutes].sort()).toEqual(documented);
  });

  it("each route's access matches the doc's auth column", async () => {
    const doc = new Map((await documentedRoutes()).map((r) => [r.route, r.auth]));
    for (const r of ROUTES) {
      const auth = doc.get(`${r.method} ${r.path}`) ?? '';
      if (r.access === 'public') expect(auth).toBe('public');
      else if (r.access === 'developer') expect(auth).toMatch(/^developer/);
      else if (r.access === 'reviewer') expect(auth).toBe('reviewer');
      else expect(auth).not.toBe('public');
    }
  });
});
