/** The loopback rule's cases, run against the CLI (test/unit/loopback.test.ts) and the Python host (test/e2e/dev-trust.e2e.test.ts). */
export const LOOPBACK = [
  'localhost',
  'LOCALHOST',
  'LocalHost',
  'localhost.',
  '127.0.0.1',
  '127.0.0.2',
  '127.255.255.254',
  '::1',
  '[::1]',
  '0:0:0:0:0:0:0:1',
  '0000:0000:0000:0000:0000:0000:0000:0001',
  '::ffff:127.0.0.1',
  '::FFFF:7F00:1',
  ' 127.0.0.1 ',
];
export const REMOTE = ['0.0.0.0', '::', '[::]', '10.0.0.1', '192.168.1.5', '128.0.0.1', '::2', '::ffff:10.0.0.1', 'fe80::1', 'example.test', 'my-host', 'localhost.example', 'localhostx'];
export const NOT_A_HOST = ['', ' ', 'a b', '127.1', '127.0.0.001', '999.1.1.1', 'http://localhost', 'localhost:8080', '[::1', '::1]', 'under_score.test', '-lead.test', 'x..y', '1.2.3'];

