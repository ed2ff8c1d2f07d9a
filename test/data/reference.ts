/**
 * For the data tests: a CSV generator (deterministic, with the hard cases: quoted delimiters,
 * quoted newlines, doubled quotes, missing values, CRLF) and an independent single-threaded
 * reference: the whole text parsed character by character, then grouped with a Map. It shares no
 * code with src/data, so the two can disagree.
 */

/** A small deterministic PRNG (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOTES = ['plain', 'with, comma', 'with "quotes"', 'two\nlines', 'comma, and\nnewline "both"', ''];

/** Columns: id (integer), key (string, sometimes missing), key2 (integer 0-9), value (decimal, sometimes missing), note. */
export function generateCsv(rows: number, options: { seed?: number; crlf?: boolean; groups?: number } = {}): string {
  const next = random(options.seed ?? 1);
  const groups = options.groups ?? 20;
  const eol = options.crlf ? '\r\n' : '\n';
  const lines = ['id,key,key2,value,note'];
  for (let i = 0; i < rows; i++) {
    const key = next() < 0.03 ? '' : `g${Math.floor(next() * groups)}`;
    const key2 = Math.floor(next() * 10);
    const value = next() < 0.05 ? '' : (Math.round((next() - 0.3) * 100_000) / 100).toString();
    const note = NOTES[Math.floor(next() * NOTES.length)] as string;
    const quoted = /[",\n]/.test(note) || next() < 0.1 ? `"${note.replaceAll('"', '""')}"` : note;
    lines.push(`${i},${key},${key2},${value},${quoted}`);
  }
  return `${lines.join(eol)}${eol}`;
}

/** RFC 4180, one character at a time, over the whole text. */
export function parseCsvText(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
      continue;
    }
    if (c === '"') {
      quoted = true;
      any = true;
    } else if (c === ',') {
      record.push(field);
      field = '';
      any = true;
    } else if (c === '\r' && text[i + 1] === '\n') {
      // the \n ends the record
    } else if (c === '\n') {
      if (any || field !== '') records.push([...record, field]);
      record = [];
      field = '';
      any = false;
    } else {
      field += c;
      any = true;
    }
  }
  if (any || field !== '') records.push([...record, field]);
  return records;
}

export type Value = number | string | null;

/** Records → typed rows: columns named in `numeric` become numbers (NaN when empty), the others strings (null when empty). */
export function typedRows(records: string[][], numeric: readonly string[]): Record<string, Value>[] {
  const [header, ...body] = records;
  return body.map((record) =>
    Object.fromEntries(
      (header as string[]).map((name, i) => {
        const text = record[i] as string;
        if (numeric.includes(name)) return [name, text === '' ? Number.NaN : Number(text)];
        return [name, text === '' ? null : text];
      }),
    ),
  );
}

type Op = 'sum' | 'mean' | 'count' | 'min' | 'max' | 'first' | 'last' | 'size';

const missing = (v: Value | undefined) => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));

/** pandas' groupby defaults, written out plainly: missing keys dropped, NaN skipped, groups sorted. */
export function referenceGroupby(
  rows: readonly Record<string, Value>[],
  keys: readonly string[],
  aggs: Record<string, Op>,
): Record<string, Value>[] {
  const groups = new Map<string, Record<string, Value>[]>();
  for (const row of rows) {
    if (keys.some((k) => missing(row[k]))) continue;
    const id = JSON.stringify(keys.map((k) => row[k]));
    const list = groups.get(id) ?? [];
    list.push(row);
    groups.set(id, list);
  }
  const out = [...groups.values()].map((members) => {
    const result: Record<string, Value> = {};
    for (const k of keys) result[k] = (members[0] as Record<string, Value>)[k] as Value;
    for (const [column, op] of Object.entries(aggs)) {
      const present = members.map((m) => m[column]).filter((v) => !missing(v)) as (number | string)[];
      const name = op === 'size' ? 'size' : column;
      if (op === 'size') result[name] = members.length;
      else if (op === 'count') result[name] = present.length;
      else if (op === 'sum') result[name] = (present as number[]).reduce((a, b) => a + b, 0);
      else if (op === 'mean') result[name] = (present as number[]).reduce((a, b) => a + b, 0) / present.length;
      else if (present.length === 0) result[name] = typeof members[0]?.[column] === 'number' ? Number.NaN : null;
      else if (op === 'first') result[name] = present[0] as number | string;
      else if (op === 'last') result[name] = present[present.length - 1] as number | string;
      else result[name] = present.reduce((a, b) => ((op === 'min' ? b < a : b > a) ? b : a));
    }
    return result;
  });
  return out.sort((a, b) => {
    for (const k of keys) {
      const x = a[k] as number | string;
      const y = b[k] as number | string;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });
}

/** Compares rows, numbers within a relative tolerance (sums in another order round differently). */
export function assertRowsClose(
  actual: readonly Record<string, Value>[],
  expected: readonly Record<string, Value>[],
): void {
  if (actual.length !== expected.length) throw new Error(`expected ${expected.length} rows, got ${actual.length}`);
  actual.forEach((row, r) => {
    const want = expected[r] as Record<string, Value>;
    for (const [name, value] of Object.entries(want)) {
      const got = row[name];
      const close =
        typeof value === 'number' && typeof got === 'number'
          ? (Number.isNaN(value) && Number.isNaN(got)) || Math.abs(got - value) <= 1e-9 * Math.max(1, Math.abs(value))
          : got === value;
      if (!close) {
        throw new Error(
          `row ${r}, column ${name}: expected ${String(value)}, got ${String(got)}\nrow: ${JSON.stringify(row)}`,
        );
      }
    }
  });
}

const TEXTS = ['plain', 'with "quotes"', 'two\nlines', 'tab\tand \\ backslash', 'ünïcödé ✓ 雪', '{"not": "an object"}'];

/**
 * JSON lines with the hard cases: escaped newlines and quotes in strings, multi-byte characters,
 * missing fields, nulls, nested values (read as text), blank lines, optionally CRLF. Columns: id,
 * key (string), key2 (number), value (number or null or absent), note (string, or an object).
 */
export function generateJsonl(rows: number, options: { seed?: number; crlf?: boolean; groups?: number } = {}): string {
  const next = random(options.seed ?? 1);
  const groups = options.groups ?? 20;
  const eol = options.crlf ? '\r\n' : '\n';
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const record: Record<string, unknown> = { id: i };
    const k = next();
    if (k >= 0.03) record.key = `g${Math.floor(next() * groups)}`;
    else if (k < 0.015) record.key = null;
    record.key2 = Math.floor(next() * 10);
    const v = next();
    if (v >= 0.05) record.value = Math.round((next() - 0.3) * 100_000) / 100;
    else if (v < 0.025) record.value = null;
    const n = Math.floor(next() * (TEXTS.length + 1));
    record.note = n === TEXTS.length ? { nested: [i, 'x'] } : TEXTS[n];
    lines.push(JSON.stringify(record));
    if (next() < 0.02) lines.push('');
  }
  return `${lines.join(eol)}${eol}`;
}

/** The whole text split at newlines, each non-blank line parsed; numbers NaN and strings null when missing. */
export function parseJsonlText(
  text: string,
  numeric: readonly string[],
  names: readonly string[],
): Record<string, Value>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      return Object.fromEntries(
        names.map((name) => {
          const v = record[name];
          if (numeric.includes(name)) return [name, v === undefined || v === null ? Number.NaN : Number(v)];
          return [name, v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v)];
        }),
      );
    });
}
