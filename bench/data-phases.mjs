// Where skein/data's time goes on the data rows' CSV, one thread, warm: CPU ms per phase over the
// whole file in 16 MB ranges (read, the fused group-by by the WebAssembly kernel and by the JS
// loop, the general parser alone, combine). Generates the bench's CSV at PATH first when it is missing (ROWS rows, default 10M).
//
//   npm run build && node bench/data-phases.mjs PATH one-key|two-keys [ROWS]
import { existsSync, statSync } from 'node:fs';
import { combinePartials } from '../dist/data/aggregate.js';
import { parseRows } from '../dist/data/csv-parse.js';
import { readRange } from '../dist/data/csv-range.js';
import { reducePlainGroups } from '../dist/data/plain-groupby.js';
import { reduceWasmGroups } from '../dist/data/wasm-groupby.js';
import { generate } from './data.mjs';

const [path, query = 'one-key', rowsText = '10000000'] = process.argv.slice(2);
if (!path) throw new Error('usage: node bench/data-phases.mjs PATH one-key|two-keys [ROWS]');
if (!existsSync(path)) generate(path, Number(rowsText));
const keys = query === 'two-keys' ? ['id1', 'id2'] : ['id1'];
const size = statSync(path).size;
const BLOCK = 16e6;
const names = ['id1', 'id2', 'v1', 'v3'];
const schema = {
  names,
  dtypes: ['string', 'string', 'float64', 'float64'],
  delimiter: 44,
  header: true,
  headerLine: names,
};
const aggs = [{ column: 'v1', op: 'sum', output: 'v1' }];
const cpu = () => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
};
for (let rep = 1; rep <= 3; rep++) {
  let read = 0;
  let reduce = 0;
  let wasm = 0;
  let fieldsOnly = 0;
  const partials = [];
  for (let start = 0; start < size; start += BLOCK) {
    const range = { file: path, start, end: Math.min(size, start + BLOCK), fileSize: size, first: start === 0 };
    let t = cpu();
    const located = readRange(range, false, range.first, schema);
    read += cpu() - t;
    t = cpu();
    const fused = reducePlainGroups(located.bytes, located.begin, located.stop, schema, keys, aggs);
    if (fused === undefined) throw new Error('the fused group-by did not take this range');
    reduce += cpu() - t;
    partials.push(fused.partial);
    t = cpu();
    if (reduceWasmGroups(located.bytes, located.begin, located.stop, schema, keys, aggs) === undefined) {
      throw new Error('the WebAssembly kernel did not take this range');
    }
    wasm += cpu() - t;
    t = cpu();
    const context = {
      file: path,
      schema,
      read: [],
      onBadLines: 'error',
      rangeStart: start,
      linesBefore: 0,
      reuse: true,
    };
    parseRows(located.bytes, located.begin, located.stop, context);
    fieldsOnly += cpu() - t;
  }
  const t = cpu();
  const merged = combinePartials(partials, aggs);
  const combine = cpu() - t;
  console.log(
    `rep ${rep}, ${keys.length} key(s), ${merged.count} groups: read ${read.toFixed(0)} ms, parse + aggregate: ` +
      `WebAssembly ${wasm.toFixed(0)} ms, JS ${reduce.toFixed(0)} ms (the general parser alone, every column ` +
      `skipped: ${fieldsOnly.toFixed(0)} ms), ` +
      `combine ${partials.length} partials ${combine.toFixed(1)} ms`,
  );
}
