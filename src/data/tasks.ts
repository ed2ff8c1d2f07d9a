/**
 * The task functions that run in pool workers, exported so that executors name them by reference
 * (module + export), never by code: a thread or process pool imports this module in its workers.
 * Their arguments are plain data (a byte range, the schema, the verbs with row-function
 * references). `skein worker`s serve distributed-tasks.ts instead, which takes no source.
 */
import { combinePartials, groupPartial } from './aggregate.js';
import { parseRows } from './csv-parse.js';
import { readRange } from './csv-range.js';
import { combineDescribe, describePartial } from './describe.js';
import { parseJsonlLines, readJsonlRange } from './jsonl-parse.js';
import { reducePlainGroups } from './plain-groupby.js';
import { applySteps, headOf, loadStepFunctions } from './table-ops.js';
import type {
  AggSpec,
  BadLine,
  CsvSchema,
  DescribePartial,
  GroupPartial,
  JsonlSchema,
  Partial,
  PartitionJob,
  PartitionResult,
  Table,
} from './types.js';
import { reduceWasmGroups, wasmGroupbyAvailable, wasmInput } from './wasm-groupby.js';

/** A range's rows as columns, and the quote state it was read with (always outside quotes for JSON lines). */
interface Parsed {
  readonly table: Table;
  readonly badLines: BadLine[];
  readonly startInQuotes: boolean;
  readonly quoteParity: 0 | 1;
  /** A group-by done straight from the bytes (plain-groupby.ts): no table was built. */
  readonly fused?: { readonly rows: number; readonly partial: GroupPartial };
}

const NO_TABLE: Table = { names: [], columns: [], length: 0 };

/** Where readRange reads a range for the kernel (only asked for where the kernel runs). */
const inKernel = (size: number): Buffer => wasmInput(size) as Buffer;

function parseCsvRange(job: PartitionJob, schema: CsvSchema): Parsed {
  const { range } = job;
  const skipHeader = range.first && schema.header;
  const terminal = job.terminal;
  const fusable = terminal.kind === 'groupby' && job.steps.length === 0;
  // A group-by straight from the bytes, no columns built, where it applies: by the WebAssembly
  // kernel (wasm-groupby.ts), which has the range read into its own memory, else by the same loop
  // in JS (plain-groupby.ts).
  const into = fusable && wasmGroupbyAvailable() ? inKernel : undefined;
  let located = readRange(range, job.startInQuotes, skipHeader, schema, into);
  if (terminal.kind === 'groupby' && fusable) {
    const { keys, aggs } = terminal;
    let fused = reduceWasmGroups(located.bytes, located.begin, located.stop, schema, keys, aggs);
    if (fused === undefined) {
      // A range the kernel gave up after its memory grew lost the bytes read into that memory (a
      // detached buffer): read it again. Rare: a key over 16 bytes, a row JS does not take either.
      if (located.bytes.buffer.byteLength === 0) located = readRange(range, job.startInQuotes, skipHeader, schema);
      fused = reducePlainGroups(located.bytes, located.begin, located.stop, schema, keys, aggs);
    }
    if (fused !== undefined) {
      return {
        table: NO_TABLE,
        badLines: [],
        startInQuotes: located.startInQuotes,
        quoteParity: located.quoteParity,
        fused,
      };
    }
  }
  const { table, badLines } = parseRows(located.bytes, located.begin, located.stop, {
    file: range.file,
    schema,
    read: job.read,
    onBadLines: job.onBadLines,
    rangeStart: range.start,
    linesBefore: located.linesBeforeBegin,
    reuse: job.terminal.kind !== 'collect',
  });
  return { table, badLines, startInQuotes: located.startInQuotes, quoteParity: located.quoteParity };
}

function parseJsonlRange(job: PartitionJob, schema: JsonlSchema): Parsed {
  // JSON text holds no raw newline: a range needs no quote state, so there is never a guess to undo.
  const { text, linesBefore } = readJsonlRange(job.range);
  const { table, badLines } = parseJsonlLines(text, {
    file: job.range.file,
    schema,
    read: job.read,
    onBadLines: job.onBadLines,
    linesBefore,
  });
  return { table, badLines, startInQuotes: false, quoteParity: 0 };
}

/**
 * Reads, parses and reduces one byte range: the whole life of a partition in one task, so that
 * only its (small) partial result travels back.
 */
export async function runPartition(job: PartitionJob): Promise<PartitionResult> {
  // Everything asynchronous first: from the read on, the task runs to its end without yielding,
  // which makes this worker's reused buffers safe (csv-range.ts, csv-parse.ts).
  const functions = await loadStepFunctions(job.steps);
  const parsed = job.schema.format === 'jsonl' ? parseJsonlRange(job, job.schema) : parseCsvRange(job, job.schema);
  if (parsed.fused !== undefined) {
    const { rows, partial } = parsed.fused;
    return { quoteParity: parsed.quoteParity, startInQuotes: parsed.startInQuotes, rows, partial, badLines: [] };
  }
  let rows = applySteps(parsed.table, job.steps, functions, job.range);
  const terminal = job.terminal;
  let partial: Partial;
  if (terminal.kind === 'groupby') partial = groupPartial(rows, terminal.keys, terminal.aggs);
  else if (terminal.kind === 'describe') partial = describePartial(rows, terminal.columns);
  else {
    if (terminal.limit !== undefined) rows = headOf(rows, terminal.limit);
    partial = { kind: 'table', table: rows };
  }
  return {
    quoteParity: parsed.quoteParity,
    startInQuotes: parsed.startInQuotes,
    rows: rows.length,
    partial,
    badLines: parsed.badLines,
  };
}

/** Merges `splitEvery` partial group-bys, given in partition order, into one. */
export function combineGroups(partials: GroupPartial[], aggs: AggSpec[]): GroupPartial {
  return combinePartials(partials, aggs);
}

/** Merges `splitEvery` partial describes into one. */
export function combineDescribed(partials: DescribePartial[]): DescribePartial {
  return combineDescribe(partials);
}
