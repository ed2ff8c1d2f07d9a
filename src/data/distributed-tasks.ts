/**
 * The data tasks a `skein worker` serves (`--module <skein>/dist/data/distributed-tasks.js`). They
 * are the same work as tasks.ts, with the guarantee of the Redis tier kept: no code travels through
 * Redis. A row function arrives only as an address (a module path inside the project, checked
 * against the hash of the client's copy), never as source, and never as an absolute path or URL,
 * so a job written to Redis can make a worker run only code the worker's project already has.
 */
import { combinePartials } from './aggregate.js';
import { combineDescribe } from './describe.js';
import { runPartition } from './tasks.js';
import type { AggSpec, DescribePartial, GroupPartial, PartitionJob, PartitionResult, Step } from './types.js';

function checkAddresses(steps: readonly Step[]): void {
  for (const step of steps) {
    const refs =
      step.kind === 'filter' || step.kind === 'mapPartitions'
        ? [step.fn]
        : step.kind === 'assign'
          ? step.columns.map((c) => c.fn)
          : [];
    for (const ref of refs) {
      if (ref.kind !== 'address') {
        throw new TypeError(
          'a distributed data task takes row functions only as module addresses (no code travels through Redis)',
        );
      }
    }
  }
}

/** runPartition for `skein worker`s: row functions by address only. */
export function runPartitionByAddress(job: PartitionJob): Promise<PartitionResult> {
  checkAddresses(job.steps);
  return runPartition(job);
}

/** combineGroups for `skein worker`s (defined here, so that a worker serving this module has it). */
export function combineGroupsRemotely(partials: GroupPartial[], aggs: AggSpec[]): GroupPartial {
  return combinePartials(partials, aggs);
}

/** combineDescribedPartials for `skein worker`s. */
export function combineDescribeRemotely(partials: DescribePartial[]): DescribePartial {
  return combineDescribe(partials);
}
