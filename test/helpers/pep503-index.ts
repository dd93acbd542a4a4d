/**
 * A PEP 503 simple index of a folder of distributions over HTTP on
 * 127.0.0.1 (ephemeral port), each link with its #sha256= fragment; every
 * request path is recorded in `hits`. For the dependency tests (the real
 * index is not reachable from the test machines).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface Pep503Index {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

export async function serveIndex(dir: string): Promise<Pep503Index> {
  const hits: string[] = [];
  const norm = (n: string) => n.toLowerCase().replace(/[-_.]+/g, '-');
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      hits.push(url);
      const files = await fs.readdir(dir);
      const byProject = new Map<string, string[]>();
      for (const f of files) {
        const project = norm(f.split('-')[0]);
        byProject.set(project, [...(byProject.get(project) ?? []), f]);
      }
      let m = /^\/simple\/([^/]+)\/$/.exec(url);
      if (m) {
        const list = byProject.get(norm(m[1]));
        if (!list) return void res.writeHead(404).end();
        const links = await Promise.all(
          list.map(
            async (f) =>
              `<a href="/files/${f}#sha256=${createHash('sha256')
                .update(await fs.readFile(path.join(dir, f)))
                .digest('hex')}">${f}</a>`,
          ),
        );
        return void res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><html><body>${links.join('\n')}</body></html>`);
      }
      if (url === '/simple/') {
        return void res.writeHead(200, { 'content-type': 'text/html' }).end([...byProject.keys()].map((p) => `<a href="/simple/${p}/">${p}</a>`).join('\n'));
      }
      m = /^\/files\/([^/]+)$/.exec(url);
      if (m && files.includes(m[1]))
        return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(await fs.readFile(path.join(dir, m[1])));
      res.writeHead(404).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/simple`, hits, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
