/**
 * The row verbs, run in a worker on one partition's table: filter, assign, select and
 * mapPartitions (map-partitions.ts). Row
 * functions arrive as references (an export of a module, imported here; or the source of a
 * self-contained function, checked on the main thread to use no outer variable).
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { moduleIdentity } from '../wire/task-address.js';
import { mapPartition, type PartitionFunction } from './map-partitions.js';
import type { Column, FunctionReference, Row, Step, Table } from './types.js';

export type RowFunction = (row: Row) => unknown;

const loaded = new Map<string, Promise<RowFunction>>();

/** The module file an address names, under this worker's working directory (the project root), checked. */
function addressedFile(ref: Extract<FunctionReference, { kind: 'address' }>): string {
  if (isAbsolute(ref.module) || ref.module.split('/').includes('..')) {
    throw new TypeError(`row function module "${ref.module}" must be a path inside the project, relative to its root`);
  }
  const file = resolve(process.cwd(), ref.module);
  const identity = moduleIdentity(file);
  if (identity.version !== ref.version) {
    throw new Error(
      `row function module "${ref.module}" differs between the client (version ${ref.version}) and this worker ` +
        `(version ${identity.version}, ${file}): deploy the same code to both`,
    );
  }
  return file;
}

async function importFunction(ref: FunctionReference): Promise<RowFunction> {
  if (ref.kind === 'address') {
    let target: unknown = await import(pathToFileURL(addressedFile(ref)).href);
    for (const key of ref.export.split('.')) target = (target as Record<string, unknown> | undefined)?.[key];
    if (typeof target !== 'function') throw new TypeError(`${ref.module} has no exported function "${ref.export}"`);
    return target as RowFunction;
  }
  if (ref.kind === 'source') {
    // The main thread checked that this function uses only its parameters and globals.
    return new Function(`"use strict"; return (${ref.source});`)() as RowFunction;
  }
  let target: unknown = await import(ref.url);
  for (const key of ref.path) target = (target as Record<string, unknown> | undefined)?.[key];
  if (typeof target !== 'function') throw new TypeError(`${ref.url} has no function at export "${ref.path.join('.')}"`);
  return target as RowFunction;
}

/** A row function, loaded once per worker. */
export function loadRowFunction(ref: FunctionReference): Promise<RowFunction> {
  const key =
    ref.kind === 'source'
      ? `s:${ref.source}`
      : ref.kind === 'module'
        ? `m:${ref.url}#${ref.path.join('.')}`
        : `a:${ref.module}@${ref.version}#${ref.export}`;
  let fn = loaded.get(key);
  if (!fn) {
    fn = importFunction(ref);
    loaded.set(key, fn);
  }
  return fn;
}

/** The value of row `i` of a column, as a row function sees it. */
export function cell(column: Column, i: number): number | string | null {
  if (column.dtype !== 'string') return column.values[i] as number;
  const code = column.codes[i] as number;
  return code < 0 ? null : (column.dict[code] as string);
}

function rowAt(table: Table, i: number): Row {
  const row: Row = {};
  for (let c = 0; c < table.names.length; c++) row[table.names[c] as string] = cell(table.columns[c] as Column, i);
  return row;
}

function take(column: Column, keep: Uint8Array, count: number): Column {
  if (column.dtype === 'string') {
    const codes = new Int32Array(count);
    for (let i = 0, j = 0; i < keep.length; i++) if (keep[i]) codes[j++] = column.codes[i] as number;
    return { dtype: 'string', codes, dict: column.dict };
  }
  const values = column.dtype === 'float64' ? new Float64Array(count) : new Int32Array(count);
  for (let i = 0, j = 0; i < keep.length; i++) if (keep[i]) values[j++] = column.values[i] as number;
  return column.dtype === 'float64'
    ? { dtype: 'float64', values: values as Float64Array }
    : { dtype: 'int32', values: values as Int32Array };
}

/** A column from the values a row function returned: numbers (and null/undefined as NaN) or strings. */
function columnFrom(name: string, values: unknown[]): Column {
  const isText = values.some((v) => typeof v === 'string');
  if (!isText) {
    const out = new Float64Array(values.length);
    values.forEach((v, i) => {
      if (v === null || v === undefined) out[i] = Number.NaN;
      else if (typeof v === 'number' || typeof v === 'boolean') out[i] = Number(v);
      else
        throw new TypeError(
          `assign: the function for "${name}" returned ${typeof v}; return a number, a string or null`,
        );
    });
    return { dtype: 'float64', values: out };
  }
  const dict: string[] = [];
  const codes = new Map<string, number>();
  const out = new Int32Array(values.length);
  values.forEach((v, i) => {
    if (v === null || v === undefined) out[i] = -1;
    else if (typeof v === 'string') {
      let code = codes.get(v);
      if (code === undefined) {
        code = dict.length;
        codes.set(v, code);
        dict.push(v);
      }
      out[i] = code;
    } else
      throw new TypeError(`assign: the function for "${name}" returned both strings and ${typeof v}s; return one kind`);
  });
  return { dtype: 'string', codes: out, dict };
}

/** Loads the row functions of the steps (before any parsing: the rest of a task is synchronous). */
export async function loadStepFunctions(steps: readonly Step[]): Promise<Map<FunctionReference, RowFunction>> {
  const functions = new Map<FunctionReference, RowFunction>();
  for (const step of steps) {
    if (step.kind === 'filter') functions.set(step.fn, await loadRowFunction(step.fn));
    if (step.kind === 'assign') for (const c of step.columns) functions.set(c.fn, await loadRowFunction(c.fn));
    if (step.kind === 'mapPartitions') functions.set(step.fn, await loadRowFunction(step.fn));
  }
  return functions;
}

/** Applies the steps in order, with their functions loaded by loadStepFunctions. */
export function applySteps(
  table: Table,
  steps: readonly Step[],
  functions: Map<FunctionReference, RowFunction>,
  where: { file: string; start: number } = { file: '', start: 0 },
): Table {
  let current = table;
  for (const step of steps) {
    if (step.kind === 'mapPartitions') {
      const fn = functions.get(step.fn) as unknown as PartitionFunction;
      current = mapPartition(current, fn, step.columns, step.dtypes, where);
    } else if (step.kind === 'select') {
      const columns = step.columns.map((name) => {
        const at = current.names.indexOf(name);
        if (at < 0) throw new RangeError(`select: no column "${name}" (columns: ${current.names.join(', ')})`);
        return current.columns[at] as Column;
      });
      current = { names: step.columns, columns, length: current.length };
    } else if (step.kind === 'filter') {
      const fn = functions.get(step.fn) as RowFunction;
      const keep = new Uint8Array(current.length);
      let count = 0;
      for (let i = 0; i < current.length; i++) {
        if (fn(rowAt(current, i))) {
          keep[i] = 1;
          count++;
        }
      }
      const kept = current.columns.map((column) => take(column, keep, count));
      current = { names: current.names, columns: kept, length: count };
    } else {
      const fns = step.columns.map((c) => functions.get(c.fn) as RowFunction);
      const names = [...current.names];
      const columns = [...current.columns];
      const rows = Array.from({ length: current.length }, (_, i) => rowAt(current, i));
      step.columns.forEach(({ name }, k) => {
        const fn = fns[k] as RowFunction;
        const column = columnFrom(
          name,
          rows.map((row) => fn(row)),
        );
        const at = names.indexOf(name);
        if (at >= 0) columns[at] = column;
        else {
          names.push(name);
          columns.push(column);
        }
      });
      current = { names, columns, length: current.length };
    }
  }
  return current;
}

/** The first `n` rows of a table. */
export function headOf(table: Table, n: number): Table {
  if (table.length <= n) return table;
  const columns = table.columns.map(
    (column): Column =>
      column.dtype === 'string'
        ? { dtype: 'string', codes: column.codes.slice(0, n), dict: column.dict }
        : column.dtype === 'float64'
          ? { dtype: 'float64', values: column.values.slice(0, n) }
          : { dtype: 'int32', values: column.values.slice(0, n) },
  );
  return { names: table.names, columns, length: n };
}
