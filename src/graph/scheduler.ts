/**
 * `compute` and `persist`: Dask's local scheduler on any Executor.
 *
 *   targets ──graphOf──► nodes to run (persisted ones are values already)
 *                          │ waiting[i] = inputs not yet done
 *                          ▼
 *   ready stack (LIFO: the newest ready node first, so a chain is finished before another is
 *                begun and its intermediate values are freed early: Dask's ordering)
 *                          │ pump(): at most `maxInFlight` tasks out at once
 *                          ▼
 *   one task = a GROUP on a local pool: a ready node, plus the chain it starts (each next node's
 *   only pending input is the previous one: fused, as Dask fuses linear chains; the values in
 *   between stay in the worker), plus more ready nodes while the group's expected time stays
 *   under GROUP_TARGET_MS (measured per function) — or ONE node per `submit` on another Executor
 *                          │ settle: outputs' values kept in the main thread until their last
 *                          ▼ user has been dispatched; dependents whose inputs are all done → stack
 *   the first error: compute rejects with it, queued tasks are cancelled, nothing more starts.
 *
 * What travels where: a group's inputs from outside the group go main → worker, its outputs
 * (values needed by a later group, or asked for) worker → main. Values inside a fused chain
 * never leave the worker. On a DistributedExecutor each node's value goes worker → Redis →
 * client, and back to a worker for the nodes that use it.
 */
import type { Executor, Future } from '../futures/base.js';
import { checkOptions, optionKeys, shownValue } from '../futures/options.js';
import { type ProgressOption, type ProgressReporter, progressReporter } from '../progress/reporter.js';
import { deserializeError } from '../wire/errors.js';
import { Delayed, substituteNodes } from './delayed.js';
import { graphOf } from './draw.js';
import { checkExecutor, defaultExecutor, groupCapacity, referencesOf } from './executors.js';
import { type Group, type GroupFunctionReference, type GroupResult, runGraphGroup } from './runner.js';

/** Options of `compute`: where the nodes run, progress, and how many tasks are out at once. */
export interface ComputeOptions {
  /** Where the nodes run. Default: skein's shared ThreadPoolExecutor (see `shutdownDefaultExecutor`). */
  executor?: Executor;
  /** `true`: a progress bar on stderr (a line every 5 s when not a TTY); a function: receives snapshots. */
  progress?: ProgressOption;
  /** Tasks out at once. Default: 2 per worker on a local pool, 64 on another Executor. */
  maxInFlight?: number;
}

/** The option names of `compute`, `persist` and a node's own (an unknown one is a TypeError, as in Python). */
export const COMPUTE_OPTION_KEYS = optionKeys<ComputeOptions>({ executor: true, progress: true, maxInFlight: true });

/** A group's calls are expected to take about this long (ms) in the worker: long enough that the message costs little. */
const GROUP_TARGET_MS = 10;
/** Ready nodes (with their chains) in one group at most: bigger groups only make more garbage to collect. */
const MAX_GROUP_CHAINS = 16_384;
/** Weight of the newest measurement in the per-function time estimate. */
const EMA_WEIGHT = 0.3;

type Node = Delayed<unknown>;

class Run {
  private readonly nodes: Node[];
  private readonly index = new Map<Node, number>();
  private readonly waiting: Int32Array;
  private readonly usesLeft: Int32Array;
  /** Users of node i (CSR): usersList[usersStart[i] .. usersStart[i + 1]). */
  private readonly usersStart: Int32Array;
  private readonly usersList: Int32Array;
  private readonly values: unknown[];
  private readonly isTarget: Uint8Array;
  /** The group a node was sent in (0: none yet), and its call number there. */
  private readonly groupId: Int32Array;
  private readonly slot: Int32Array;
  private readonly ready: number[] = [];
  private readonly inFlight = new Set<Future<unknown>>();
  private readonly msPerCall = new Map<Function, number>();
  private readonly capacity: number | undefined;
  private readonly maxInFlight: number;
  private refs = new Map<Function, GroupFunctionReference>();
  private remaining = 0;
  private nextGroup = 1;
  private failed = false;
  private resolve!: (values: unknown[]) => void;
  private reject!: (error: unknown) => void;
  readonly done: Promise<unknown[]>;
  private readonly progress: ProgressReporter | undefined;

  constructor(
    private readonly targets: readonly Node[],
    private readonly executor: Executor,
    options: ComputeOptions,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Persisted nodes are values: the graph behind them is not needed.
    this.nodes = graphOf(targets, (node) => node.persisted);
    const n = this.nodes.length;
    this.waiting = new Int32Array(n);
    this.usesLeft = new Int32Array(n);
    this.values = new Array(n);
    this.isTarget = new Uint8Array(n);
    this.groupId = new Int32Array(n);
    this.slot = new Int32Array(n);
    for (let i = 0; i < n; i++) this.index.set(this.nodes[i] as Node, i);
    // Two passes over the edges, into flat arrays: a graph of a million nodes makes no per-node array.
    const usersStart = new Int32Array(n + 1);
    let edges = 0;
    for (let i = 0; i < n; i++) {
      const node = this.nodes[i] as Node;
      if (node.persisted) continue;
      this.remaining++;
      for (const dep of node.dependencies) {
        const d = this.index.get(dep) as number;
        usersStart[d + 1] = (usersStart[d + 1] as number) + 1;
        edges++;
        if (!dep.persisted) this.waiting[i] = (this.waiting[i] as number) + 1;
      }
    }
    for (let i = 0; i < n; i++) {
      this.usesLeft[i] = usersStart[i + 1] as number;
      usersStart[i + 1] = (usersStart[i + 1] as number) + (usersStart[i] as number);
    }
    const fill = usersStart.slice(0, n);
    const usersList = new Int32Array(edges);
    for (let i = 0; i < n; i++) {
      const node = this.nodes[i] as Node;
      const kept = node.persistedResult();
      if (kept) {
        this.values[i] = kept.value;
        continue;
      }
      for (const dep of node.dependencies) {
        const d = this.index.get(dep) as number;
        usersList[fill[d] as number] = i;
        fill[d] = (fill[d] as number) + 1;
      }
    }
    this.usersStart = usersStart;
    this.usersList = usersList;
    for (const target of targets) this.isTarget[this.index.get(target) as number] = 1;
    this.capacity = groupCapacity(executor);
    this.maxInFlight = options.maxInFlight ?? (this.capacity === undefined ? 64 : 2 * this.capacity);
    if (!(Number.isInteger(this.maxInFlight) && this.maxInFlight >= 1)) {
      throw new RangeError(`maxInFlight must be an integer >= 1, got ${shownValue(options.maxInFlight)}`);
    }
    this.progress = progressReporter(options.progress, 'compute', this.remaining);
  }

  async start(): Promise<unknown[]> {
    if (this.remaining === 0) return this.finish();
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i] as Node;
      if (!node.persisted) node.state = 'pending';
      if (!node.persisted && this.waiting[i] === 0) this.ready.push(i);
    }
    if (this.capacity !== undefined) {
      try {
        this.refs = await referencesOf(new Set(this.nodes.filter((node) => !node.persisted).map((node) => node.fn)));
      } catch (error) {
        this.fail(error);
        return this.done;
      }
    }
    this.pump();
    return this.done;
  }

  private finish(): unknown[] {
    this.progress?.finish();
    const values = this.targets.map((target) => this.values[this.index.get(target) as number]);
    this.resolve(values);
    return values;
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.progress?.finish();
    for (const future of this.inFlight) future.cancel(); // queued ones never start; running ones finish unheard
    for (const node of this.nodes) if (node.state === 'pending') node.state = 'cancelled';
    this.reject(error);
  }

  /** Sends tasks while there is room and something is ready. */
  private pump(): void {
    while (!this.failed && this.inFlight.size < this.maxInFlight && this.ready.length > 0) {
      try {
        if (this.capacity === undefined) this.submitNode(this.ready.pop() as number);
        else this.submitGroup();
      } catch (error) {
        this.fail(error); // a synchronous refusal from submit (an argument that cannot travel, a closed executor)
      }
    }
  }

  /**
   * The node's arguments with every input node replaced by its value, or, for an input in the
   * group being built (`inGroup` is its id), left undefined and recorded in `links`/`deepLinks`.
   */
  private argumentsOf(i: number, inGroup = 0, call = 0, links?: number[], deepLinks?: unknown[]): unknown[] {
    const node = this.nodes[i] as Node;
    let args: unknown[];
    if (node.nested) {
      args = substituteNodes(node.args, [], (dep, path) => {
        const d = this.index.get(dep) as number;
        if (inGroup === 0 || this.groupId[d] !== inGroup) return this.values[d];
        if (path.length === 1) links?.push(call, this.slot[d] as number, path[0] as number);
        else deepLinks?.push(call, this.slot[d] as number, path);
        return undefined;
      }) as unknown[];
    } else {
      const given = node.args;
      args = new Array(given.length);
      for (let k = 0; k < given.length; k++) {
        const arg = given[k];
        if (!(arg instanceof Delayed)) {
          args[k] = arg;
          continue;
        }
        const d = this.index.get(arg) as number;
        if (inGroup === 0 || this.groupId[d] !== inGroup) args[k] = this.values[d];
        else links?.push(call, this.slot[d] as number, k);
      }
    }
    // The inputs' values are now in this task's arguments: free each once its last user has them.
    for (const dep of node.dependencies) {
      const d = this.index.get(dep) as number;
      const left = (this.usesLeft[d] as number) - 1;
      this.usesLeft[d] = left;
      if (left === 0 && !this.isTarget[d] && !dep.persisted) this.values[d] = undefined;
    }
    return args;
  }

  private submitNode(i: number): void {
    const node = this.nodes[i] as Node;
    node.state = 'running';
    const future = this.executor.submit(node.fn, ...this.argumentsOf(i));
    this.track(future, [i], (value) => this.completed([i], [i], [value]));
  }

  private estimateMs(i: number): number {
    return this.msPerCall.get((this.nodes[i] as Node).fn) ?? GROUP_TARGET_MS;
  }

  private submitGroup(): void {
    const id = this.nextGroup++;
    const members: number[] = [];
    const cap = Math.min(MAX_GROUP_CHAINS, Math.max(1, Math.ceil(this.ready.length / this.maxInFlight)));
    let expectedMs = 0;
    let chains = 0;
    while (this.ready.length > 0 && chains < cap) {
      const head = this.ready[this.ready.length - 1] as number;
      if (chains > 0 && expectedMs + this.estimateMs(head) > GROUP_TARGET_MS) break;
      this.ready.pop();
      chains++;
      // The chain this node starts: while the last node's only user waits on nothing else.
      for (let cur = head; ; ) {
        members.push(cur);
        this.groupId[cur] = id;
        expectedMs += this.estimateMs(cur);
        const first = this.usersStart[cur] as number;
        if ((this.usersStart[cur + 1] as number) - first !== 1) break;
        const next = this.usersList[first] as number;
        if (this.waiting[next] !== 1 || this.groupId[next] === id) break;
        // A node may use `cur` twice (`add(x, x)`): waiting counts it once, which is all we need.
        this.waiting[next] = 0;
        cur = next;
      }
    }
    const future = this.executor.submit(runGraphGroup, this.buildGroup(id, members));
    this.track(future, members, (result: GroupResult) => {
      if (result.failedAt !== undefined) {
        members.forEach((i, k) => {
          (this.nodes[i] as Node).state = k < (result.failedAt as number) ? 'done' : 'cancelled';
        });
        (this.nodes[members[result.failedAt] as number] as Node).state = 'failed';
        this.fail(deserializeError(result.error));
        return;
      }
      this.measure(members, result.ms);
      this.completed(members, this.outputsOf(id, members), result.values);
    });
  }

  /** Outputs: what the caller asked for, and what a node outside this group will need. */
  private outputsOf(id: number, members: number[]): number[] {
    return members.filter((i) => {
      if (this.isTarget[i]) return true;
      for (let u = this.usersStart[i] as number; u < (this.usersStart[i + 1] as number); u++) {
        if (this.groupId[this.usersList[u] as number] !== id) return true;
      }
      return false;
    });
  }

  /** The group's wire form (runner.ts): flat, numbers packed. */
  private buildGroup(id: number, members: number[]): Group {
    const fnIndex = new Map<Function, number>();
    const fns: GroupFunctionReference[] = [];
    const fn = new Uint32Array(members.length);
    const argc = new Uint32Array(members.length);
    const args: unknown[] = [];
    const links: number[] = [];
    const deepLinks: unknown[] = [];
    let numbers = true;
    for (let k = 0; k < members.length; k++) {
      const i = members[k] as number;
      const node = this.nodes[i] as Node;
      node.state = 'running';
      let f = fnIndex.get(node.fn);
      if (f === undefined) {
        f = fns.length;
        fnIndex.set(node.fn, f);
        fns.push(this.refs.get(node.fn) as GroupFunctionReference);
      }
      fn[k] = f;
      const linksBefore = links.length;
      const callArgs = this.argumentsOf(i, id, k, links, deepLinks);
      this.slot[i] = k;
      argc[k] = callArgs.length;
      for (let a = 0; a < callArgs.length; a++) {
        const arg = callArgs[a];
        // A linked position holds undefined until the worker fills it in: NaN stands in when packed.
        if (numbers && typeof arg !== 'number' && !isLinked(links, linksBefore, a)) numbers = false;
        args.push(arg);
      }
    }
    return {
      fns,
      fn: fns.length === 1 ? 0 : fn,
      argc,
      // Typed-array conversion turns undefined (a linked position) into NaN, which the worker overwrites.
      args: numbers ? new Float64Array(args as number[]) : args,
      links: new Int32Array(links),
      deepLinks: deepLinks.length > 0 ? deepLinks : 0,
      outputs: Uint32Array.from(this.outputsOf(id, members), (i) => this.slot[i] as number),
    };
  }

  private measure(members: number[], ms: number): void {
    const perCall = ms / members.length;
    for (const fn of new Set(members.map((i) => (this.nodes[i] as Node).fn))) {
      const old = this.msPerCall.get(fn);
      this.msPerCall.set(fn, old === undefined ? perCall : old + EMA_WEIGHT * (perCall - old));
    }
  }

  private track<T>(future: Future<T>, members: number[], onValue: (value: T) => void): void {
    const tracked = future as Future<unknown>;
    this.inFlight.add(tracked);
    future
      .then(
        (value) => {
          this.inFlight.delete(tracked);
          if (!this.failed) onValue(value);
        },
        (error: unknown) => {
          this.inFlight.delete(tracked);
          this.failedTask(error, members);
        },
      )
      .then(
        () => this.pump(),
        (error: unknown) => this.fail(error),
      );
  }

  /** A group stops at its first error, so which of its nodes failed is not known: all are marked failed. */
  private failedTask(error: unknown, members: number[]): void {
    if (this.failed) return;
    for (const i of members) (this.nodes[i] as Node).state = 'failed';
    this.fail(error);
  }

  private completed(members: number[], outputs: number[], values: ArrayLike<unknown>): void {
    if (this.failed) return;
    for (let k = 0; k < outputs.length; k++) this.values[outputs[k] as number] = values[k];
    for (const i of members) {
      (this.nodes[i] as Node).state = 'done';
      for (let u = this.usersStart[i] as number; u < (this.usersStart[i + 1] as number); u++) {
        const d = this.usersList[u] as number;
        if (this.groupId[d] !== 0 && this.groupId[d] === this.groupId[i]) continue; // ran in the same group
        const waiting = (this.waiting[d] as number) - 1;
        this.waiting[d] = waiting;
        if (waiting === 0) this.ready.push(d);
      }
    }
    this.remaining -= members.length;
    this.progress?.tick(members.length);
    if (this.remaining === 0) this.finish();
  }
}

/** True if argument `position` of the call whose links start at `from` is filled by a link. */
function isLinked(links: number[], from: number, position: number): boolean {
  for (let l = from; l < links.length; l += 3) if (links[l + 2] === position) return true;
  return false;
}

function splitOptions(args: readonly unknown[]): { nodes: Node[]; options: ComputeOptions } {
  const last = args[args.length - 1];
  const hasOptions = args.length > 0 && !(last instanceof Delayed);
  const nodes = (hasOptions ? args.slice(0, -1) : args) as unknown[];
  nodes.forEach((node, k) => {
    if (!(node instanceof Delayed)) {
      throw new TypeError(
        `compute: argument ${k} is not a node (${node === null ? 'null' : typeof node}); pass nodes made by delayed(fn)(...args), then an optional options object last`,
      );
    }
  });
  return { nodes: nodes as Node[], options: hasOptions ? ((last ?? {}) as ComputeOptions) : {} };
}

/** Runs the graphs behind `nodes` together (shared nodes once) and resolves their values in order. */
export function computeNodes(nodes: readonly Node[], options: ComputeOptions): Promise<unknown[]> {
  let run: Run;
  try {
    checkOptions('compute(...nodes, options)', options, COMPUTE_OPTION_KEYS);
    const executor = options.executor === undefined ? defaultExecutor() : checkExecutor(options.executor, 'compute');
    run = new Run(nodes, executor, options);
  } catch (error) {
    return Promise.reject(error);
  }
  return run.start();
}

/** Runs `nodes` and keeps their values on them: later computes use the values instead of running the nodes. */
export async function persistNodes(nodes: readonly Node[], options: ComputeOptions): Promise<void> {
  const values = await computeNodes(nodes, options);
  nodes.forEach((node, k) => {
    node.keep(values[k]);
    node.state = 'done';
  });
}

type Results<T extends readonly Delayed<unknown>[]> = {
  -readonly [K in keyof T]: T[K] extends Delayed<infer R> ? R : never;
};

/**
 * Dask's `compute(a, b, ...)`: runs the graphs behind the nodes together, each node once (a node
 * that several use runs once), and resolves their values as a tuple. An options object may come
 * last. The first failing node rejects it with that node's error; no more nodes start.
 */
export function compute<const T extends readonly Delayed<unknown>[]>(...nodes: T): Promise<Results<T>>;
export function compute<const T extends readonly Delayed<unknown>[]>(
  ...args: [...nodes: T, options: ComputeOptions]
): Promise<Results<T>>;
export function compute(...args: unknown[]): Promise<unknown[]> {
  let split: ReturnType<typeof splitOptions>;
  try {
    split = splitOptions(args);
  } catch (error) {
    return Promise.reject(error);
  }
  return computeNodes(split.nodes, split.options);
}

/**
 * Dask's `persist`: runs the nodes (those not yet persisted) and keeps their values on them, so
 * later computes of graphs that use them start from the values. Resolves the same nodes.
 */
export function persist<const T extends readonly Delayed<unknown>[]>(...nodes: T): Promise<T>;
export function persist<const T extends readonly Delayed<unknown>[]>(
  ...args: [...nodes: T, options: ComputeOptions]
): Promise<T>;
export async function persist(...args: unknown[]): Promise<unknown[]> {
  const { nodes, options } = splitOptions(args);
  await persistNodes(nodes, options);
  return nodes;
}
