// tsc compiles only .ts: copy the Python modules under src/ (the code scanner
// and other Python entry points the CLI runs) to the same place under dist/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const src = path.join(root, 'src');
for (const rel of fs.readdirSync(src, { recursive: true })) {
  if (!String(rel).endsWith('.py')) continue;
  const to = path.join(root, 'dist', rel);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join(src, rel), to);
}
