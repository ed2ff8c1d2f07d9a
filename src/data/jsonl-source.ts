/**
 * The main thread's part of reading JSON lines: the schema, fixed once before any worker parses.
 * Column names are the fields of the objects in the first 256 KB of the first file, in the order
 * they are first seen (or the `columns` the caller names); dtypes are inferred from the same
 * sample: 'float64' when every value there is a number, a boolean or null, else 'string'.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { DataSourceError } from './errors.js';
import type { Dtype, JsonlSchema } from './types.js';

const SAMPLE_BYTES = 256 * 1024;

export interface JsonlSchemaOptions {
  /** Read exactly these fields, in this order (fields not in the sample too). */
  readonly columns: readonly string[] | undefined;
  readonly dtypes: Readonly<Record<string, Dtype>> | undefined;
}

/** The objects on the complete lines of the first `SAMPLE_BYTES` of `file` (lines that do not parse are left out). */
function sampleRecords(file: string): Record<string, unknown>[] {
  const fd = openSync(file, 'r');
  let text: string;
  try {
    const bytes = Buffer.allocUnsafe(SAMPLE_BYTES);
    const n = readSync(fd, bytes, 0, SAMPLE_BYTES, 0);
    // A cut line at the end of the sample is left out (and a multi-byte character cut with it).
    const end = n < SAMPLE_BYTES ? n : bytes.lastIndexOf(0x0a, n - 1) + 1;
    text = bytes.toString('utf8', 0, end).replace(/^\uFEFF/, '');
  } finally {
    closeSync(fd);
  }
  const records: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (value !== null && typeof value === 'object' && !Array.isArray(value))
        records.push(value as Record<string, unknown>);
    } catch {
      // A bad line is reported, with its line number, when its range is parsed.
    }
  }
  return records;
}

function inferDtype(records: readonly Record<string, unknown>[], name: string): Dtype {
  let numbers = 0;
  for (const record of records) {
    const value = record[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' && typeof value !== 'boolean') return 'string';
    numbers++;
  }
  // A field with no value in the sample is read as text: text never fails to parse.
  return numbers > 0 ? 'float64' : 'string';
}

/** Reads a sample of the first file and fixes the columns and their dtypes. */
export function readJsonlSchema(file: string, options: JsonlSchemaOptions): JsonlSchema {
  const records = sampleRecords(file);
  let names: string[];
  if (options.columns) {
    names = [...options.columns];
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate !== undefined) throw new RangeError(`columns names "${duplicate}" twice`);
  } else {
    const seen = new Set<string>();
    for (const record of records) for (const key of Object.keys(record)) seen.add(key);
    names = [...seen];
    if (names.length === 0) {
      throw new DataSourceError(
        `${file}: no JSON object with fields in its first ${SAMPLE_BYTES / 1024} KB; name the fields to read with { columns: [...] }`,
      );
    }
  }
  for (const name of Object.keys(options.dtypes ?? {})) {
    if (!names.includes(name))
      throw new RangeError(`dtypes names "${name}", which is not a column (columns: ${names.join(', ')})`);
  }
  const dtypes = names.map((name) => options.dtypes?.[name] ?? inferDtype(records, name));
  return { format: 'jsonl', names, dtypes };
}
