/**
 * Real shared storage for tests: a fresh PostgreSQL database on the local
 * cluster (PLEXICHAT_TEST_PG_URL, set by .ci/run; default: the role
 * .ci/pg-setup.sh makes, on 127.0.0.1:5432) and an S3 server (s3rver) on a
 * 127.0.0.1 ephemeral port, both driven through the real clients.
 *
 * Nothing is skipped: a database that cannot be reached fails the test with
 * what to run (.ci/pg-setup.sh).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** The admin URL tests create their databases through (no password: PGPASSWORD carries it). */
export const PG_ADMIN_URL = process.env.PLEXICHAT_TEST_PG_URL ?? 'postgres://plexichat_test@127.0.0.1:5432/postgres';
process.env.PGPASSWORD ??= 'plexichat_test';

/** The credentials s3rver accepts, for the AWS client through the standard variables. */
export const S3_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' } as const;
Object.assign(process.env, S3_ENV);

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (q: (sql: string) => Promise<unknown>) => Promise<T>): Promise<T> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `cannot reach the test PostgreSQL at ${PG_ADMIN_URL} (${(err as Error).message}): run \`bash .ci/pg-setup.sh\` as root (it installs and starts the cluster and makes the role)`,
    );
  }
  try {
    return await fn((sql) => client.query(sql));
  } finally {
    await client.end();
  }
}

/** A new empty database; drop() removes it (and the connections still on it). */
export async function createDatabase(): Promise<TestDatabase> {
  const name = `plexichat_t_${randomBytes(6).toString('hex')}`;
  await admin((q) => q(`CREATE DATABASE ${name}`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => admin((q) => q(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** s3://bucket/prefix */
  url(prefix?: string): string;
  close(): Promise<void>;
}

/** s3rver on 127.0.0.1 (ephemeral port) with one bucket, its files in a temp folder. */
export async function startS3(bucket = `market-${randomBytes(4).toString('hex')}`): Promise<TestS3> {
  const { default: S3rver } = (await import('s3rver')) as unknown as {
    default: new (o: object) => { run(): Promise<{ address: string; port: number }>; close(): Promise<void> };
  };
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    url: (prefix = 'market') => `s3://${bucket}/${prefix}`,
    close: async () => {
      await server.close();
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}
