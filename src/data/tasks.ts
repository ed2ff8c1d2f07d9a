/**
 * The task functions that run in pool workers, exported so that executors name them by reference
 * (module + export), never by code: a thread or process pool imports this module in its workers.
 * Their arguments are plain data (a byte range, the schema, the verbs with row-function
 * references). `skein worker`s serve distributed-tasks.ts instead, which takes no source.
 */
import { combinePartials, groupPartial } from './aggregate.js';
import { parseRows } from './csv-parse.js';
import { readRange } from './csv-range.js';
import { reducePlainGroups } from './plain-groupby.js';
import { applySteps, headOf, loadStepFunctions } from './table-ops.js';
import type { AggSpec, GroupPartial, PartitionJob, PartitionResult } from './types.js';

/**
 * Reads, parses and reduces one byte range: the whole life of a partition in one task, so that
 * only its (small) partial result travels back.
 */
export async function runPartition(job: PartitionJob): Promise<PartitionResult> {
  const { range, schema } = job;
  // Everything asynchronous first: from the read on, the task runs to its end without yielding,
  // which makes this worker's reused buffers safe (csv-range.ts, csv-parse.ts).
  const functions = await loadStepFunctions(job.steps);
  const located = readRange(range, job.startInQuotes, range.first && schema.header, schema);
  const terminal = job.terminal;
  if (terminal.kind === 'groupby' && job.steps.length === 0) {
    // A group-by straight from the bytes, no columns built (plain-groupby.ts), where it applies.
    const fused = reducePlainGroups(located.bytes, located.begin, located.stop, schema, terminal.keys, terminal.aggs);
    if (fused !== undefined) {
      return {
        quoteParity: located.quoteParity,
        startInQuotes: located.startInQuotes,
        rows: fused.rows,
        partial: fused.partial,
        badLines: [],
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
    reuse: job.terminal.kind === 'groupby',
  });
  let rows = applySteps(table, job.steps, functions);
  if (terminal.kind === 'groupby') {
    return {
      quoteParity: located.quoteParity,
      startInQuotes: located.startInQuotes,
      rows: rows.length,
      partial: groupPartial(rows, terminal.keys, terminal.aggs),
      badLines,
    };
  }
  if (terminal.limit !== undefined) rows = headOf(rows, terminal.limit);
  return {
    quoteParity: located.quoteParity,
    startInQuotes: located.startInQuotes,
    rows: rows.length,
    partial: { kind: 'table', table: rows },
    badLines,
  };
}

/** Merges `splitEvery` partial group-bys, given in partition order, into one. */
export function combineGroups(partials: GroupPartial[], aggs: AggSpec[]): GroupPartial {
  return combinePartials(partials, aggs);
}
