/**
 * The development marketplace's own packages (fastify, its multipart and
 * plugin helpers, better-sqlite3) are optionalDependencies: only
 * `marketplace serve` and the tests use them, and a machine that cannot
 * build better-sqlite3's native addon still gets every other command.
 *
 * This module imports none of them statically: `serve` asks it what is
 * missing before it imports server/index.js. The list and the version
 * ranges are package.json's optionalDependencies (one definition).
 */
import { readFileSync } from 'node:fs';

export interface MissingPackage {
  name: string;
  /** The range package.json asks for, e.g. ^12.11.1. */
  range: string;
  /** 'absent': not installed; 'broken': installed but it does not load (a native addon that was not built). */
  state: 'absent' | 'broken';
  /** First line of the load error. */
  detail: string;
}

/** The clients of shared storage (PostgreSQL, S3): optional too, but needed only when configured. */
export const SHARED_STORAGE_PACKAGES = ['pg', '@aws-sdk/client-s3'] as const;

function optionalDeps(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    optionalDependencies?: Record<string, string>;
  };
  // The AWS SDK is optional too, but loaded only for an s3:// location (storage/s3-client.ts), not by every server.
  return Object.fromEntries(Object.entries(pkg.optionalDependencies ?? {}).filter(([name]) => !name.startsWith('@aws-sdk/')));
}

/** package.json's optionalDependencies that every `serve` needs: name → range. */
export function serverPackages(): Record<string, string> {
  const all = optionalDeps();
  return Object.fromEntries(Object.entries(all).filter(([name]) => !(SHARED_STORAGE_PACKAGES as readonly string[]).includes(name)));
}

/** The shared-storage clients' ranges (package.json). */
export function sharedStoragePackages(): Record<string, string> {
  const all = optionalDeps();
  return Object.fromEntries(SHARED_STORAGE_PACKAGES.map((name) => [name, all[name] ?? '*']));
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}

/** Whether an import failed because `name` itself (not something it needs) cannot be found. */
function isAbsent(err: unknown, name: string): boolean {
  const code = (err as { code?: string }).code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && firstLine(err).includes(`'${name}'`);
}

/** Load one package the way the server will; better-sqlite3 also opens a database, which loads its addon. */
async function load(name: string): Promise<void> {
  const mod = (await import(name)) as { default?: unknown };
  if (name === 'better-sqlite3') {
    const Database = mod.default as new (file: string) => { close(): void };
    new Database(':memory:').close();
  }
}

/** The server's packages that are not installed or do not load, in package.json's order (with the shared-storage clients when `shared`). */
export async function missingServerPackages(shared = false): Promise<MissingPackage[]> {
  const missing: MissingPackage[] = [];
  const wanted = { ...serverPackages(), ...(shared ? sharedStoragePackages() : {}) };
  for (const [name, range] of Object.entries(wanted)) {
    try {
      await load(name);
    } catch (err) {
      missing.push({ name, range, state: isAbsent(err, name) ? 'absent' : 'broken', detail: firstLine(err) });
    }
  }
  return missing;
}
