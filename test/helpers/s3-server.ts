/**
 * A real S3-protocol server on 127.0.0.1 for tests: s3rver (a dev
 * dependency) on an ephemeral port with a temp folder, driven through the
 * real AWS client by the code under test. s3rver checks request signatures
 * against its own fixed credentials (S3RVER / S3RVER): `env` holds them.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

interface S3rverLike {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}

export interface TestS3 {
  endpoint: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startS3(buckets: string[]): Promise<TestS3> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pxp-s3-'));
  const mod = (await import('s3rver')) as { default: new (o: object) => S3rverLike };
  const server = new mod.default({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: buckets.map((name) => ({ name })) });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' },
    close: async () => {
      await server.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
