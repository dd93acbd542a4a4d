#!/usr/bin/env node
/**
 * Reference point for bench/build.mjs: pack a tree with archiver at level 6
 * the plain way (glob everything, stream to a file, wait for 'close').
 * Usage: node bench/build-archiver.mjs <tree> <out.zip>
 */
import fs from 'node:fs';
import archiver from 'archiver';

const [tree, outFile] = process.argv.slice(2);
const output = fs.createWriteStream(outFile);
const archive = archiver('zip', { zlib: { level: 6 } });
const closed = new Promise((resolve, reject) => {
  output.on('close', resolve);
  output.on('error', reject);
  archive.on('error', reject);
  archive.on('warning', reject);
});
archive.pipe(output);
archive.directory(tree, false);
await archive.finalize();
await closed;
