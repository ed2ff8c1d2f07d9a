/**
 * The main side's check of a task's arguments, before anything is queued: a value that cannot
 * travel is reported at `submit`, naming its position, instead of failing a whole batch later.
 *
 * Which values travel by handle instead of by copy, to which backend, is decided here once
 * (HANDLE_RULES): a shared primitive is shared with a thread (it is rebuilt there over the same
 * memory, see sync/shared-memory.ts); a process cannot see that memory, so it gets a proxy of the
 * object in this process (process-sharing.ts) when multiprocessing is loaded, and a SharedValue
 * or SharedArray is refused, naming the Manager's. A Pipe Connection end or a Manager proxy goes
 * to a task on either backend by handle too, served by multiprocessing's brokers here.
 */
import { SharedPrimitive } from '../sync/shared-memory.js';
import { findUncloneable, type HandleCheck } from './cloneable.js';
import { isBulkyArgument, isLargeArgument } from './large-arrays.js';
import { processSharing } from './process-sharing.js';

export type BackendKind = 'thread' | 'process';

interface HandleRule {
  /** Does this rule cover the value? */
  matches(value: object): boolean;
  /** What happens on each backend: shared by handle, or refused with this explanation. */
  readonly thread: 'share' | ((value: object) => 'share' | string);
  readonly process: 'share' | ((value: object) => 'share' | string);
}

/**
 * An object that a pool task receives by handle through multiprocessing's brokers (a Pipe
 * Connection end, a Manager proxy: process-sharing.ts) has a method under this symbol, returning
 * undefined if it can go, or why it cannot and what to do instead (a closed end, a proxy that was
 * itself received and cannot be passed on). A symbol, so the layers above declare it without this
 * one importing them.
 */
export const NOT_FOR_POOL_TASKS: unique symbol = Symbol.for('skein.notForPoolTasks') as never;

const brokered = (value: object): 'share' | string => {
  const refused = (value as { [NOT_FOR_POOL_TASKS]: () => string | undefined })[NOT_FOR_POOL_TASKS]();
  if (refused !== undefined) return refused;
  sawBrokered = true;
  return 'share';
};

const HANDLE_RULES: readonly HandleRule[] = [
  {
    matches: (value) => typeof (value as { [NOT_FOR_POOL_TASKS]?: unknown })[NOT_FOR_POOL_TASKS] === 'function',
    thread: brokered,
    process: brokered,
  },
  {
    matches: (value) => value instanceof SharedPrimitive,
    thread: 'share',
    process: (value) => {
      const proxied = processSharing()?.verdict(value);
      if (proxied === true) return 'share';
      if (typeof proxied === 'string') return proxied;
      const kind = value.constructor.name;
      const instead =
        kind === 'SharedValue' || kind === 'SharedArray'
          ? `a ThreadPoolExecutor's tasks can share it; between processes, use a Manager's (const manager = await Manager.start(); manager.${kind === 'SharedValue' ? 'Value' : 'Array'}(...))`
          : "share it with a ThreadPoolExecutor's tasks instead";
      return `a ${kind}, which lives in shared memory that a child process cannot see: ${instead}`;
    },
  },
];

/** Set by the walk when it meets a value shared by handle: the task then needs them rebuilt. */
let sawHandle = false;
/** Set by the walk when it meets a Connection or a Manager proxy (served by a broker here). */
let sawBrokered = false;
/** Set by the walk (threads only) when it meets a buffer big enough to be copied once (large-arrays.ts). */
let sawLargeArray = false;
/** Set by the walk when it meets a buffer of a MiB or more (large-arrays.ts, BULKY_ARGUMENT_BYTES). */
let sawBulky = false;

function handleCheckFor(backend: BackendKind): HandleCheck {
  return (value) => {
    if (!sawBulky && isBulkyArgument(value)) sawBulky = true;
    if (backend === 'thread' && !sawLargeArray && isLargeArgument(value)) sawLargeArray = true;
    for (const rule of HANDLE_RULES) {
      if (!rule.matches(value)) continue;
      const how = rule[backend];
      const verdict = how === 'share' ? how : how(value);
      if (verdict === 'share') {
        sawHandle = true;
        return 'skip';
      }
      return verdict;
    }
    return undefined;
  };
}

const CHECKS: Record<BackendKind, HandleCheck> = {
  thread: handleCheckFor('thread'),
  process: handleCheckFor('process'),
};

/** What the walk over a task's arguments met besides values that cannot travel. */
export interface ArgumentsSeen {
  /** A typed array, DataView or ArrayBuffer to copy once instead of cloning (threads; see large-arrays.ts). */
  largeArrays: boolean;
  /** A buffer of a MiB or more: the worker collects its young garbage when idle after the task (large-arrays.ts). */
  bulky: boolean;
  /** A Pipe Connection end or a Manager proxy (they reach a worker through multiprocessing's brokers). */
  brokered: boolean;
}

/**
 * Throws a TypeError naming the argument position if an argument cannot travel to a worker of
 * `backend`. Returns whether a value that travels by handle (a shared primitive) is among them;
 * `seen`, when given, is told what else the walk met.
 */
export function assertArgumentsCloneable(
  fnName: string,
  args: readonly unknown[],
  backend: BackendKind,
  seen?: ArgumentsSeen,
): boolean {
  if (seen) {
    seen.largeArrays = false;
    seen.bulky = false;
    seen.brokered = false;
  }
  if (!Array.isArray(args)) return false; // a packed chunk (Float64Array) holds only numbers
  sawHandle = false;
  sawLargeArray = false;
  sawBulky = false;
  sawBrokered = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    // Primitives other than symbols are the common case: skip the walk entirely.
    if (arg === null || (typeof arg !== 'object' && typeof arg !== 'function' && typeof arg !== 'symbol')) continue;
    const bad = findUncloneable(arg, backend === 'process', 100_000, CHECKS[backend]);
    if (bad) {
      throw new TypeError(
        `argument ${i + 1} of ${fnName || 'the task'}(...) cannot be sent to a worker: ` +
          `args[${i}]${bad.path} is ${bad.what}. Arguments travel by structured clone; ` +
          'pass plain data, or do that part of the work inside the task.',
      );
    }
  }
  if (seen) {
    seen.largeArrays = sawLargeArray;
    seen.bulky = sawBulky;
    seen.brokered = sawBrokered;
  }
  return sawHandle;
}
