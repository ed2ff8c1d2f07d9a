// The baseline `skein map` is measured against: what one would write by hand, in one thread. It
// reads lines, parses each, calls the function, writes each record, and reads stdin when given `-`
// (so GNU parallel can feed it blocks). Usage: node bench/cli-map-plain.mjs MODULE EXPORT IN|- OUT|-

import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const [modulePath, exportName, input, output] = process.argv.slice(2);
const fn = (await import(pathToFileURL(resolve(modulePath)).href))[exportName];
const out = output === '-' ? process.stdout : createWriteStream(output);
const lines = createInterface({ input: input === '-' ? process.stdin : createReadStream(input), crlfDelay: Infinity });
let line = 0;
let batch = '';
for await (const text of lines) {
  line++;
  try {
    batch += `${JSON.stringify({ line, ok: true, result: fn(JSON.parse(text)) })}\n`;
  } catch (error) {
    batch += `${JSON.stringify({ line, ok: false, error: { name: error.name, message: error.message, kind: 'task' } })}\n`;
  }
  // Written in ~64 KiB batches, as skein map does: one write per record would be the bottleneck.
  if (batch.length >= 65536) {
    if (!out.write(batch)) await once(out, 'drain');
    batch = '';
  }
}
out.write(batch);
if (out !== process.stdout) {
  out.end();
  await once(out, 'finish');
}
