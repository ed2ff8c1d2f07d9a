/**
 * The workers of one pool: starting them with their init message, growing the fleet while tasks
 * wait, retiring idle ones, and stopping them all. Which task runs where, and what a worker's
 * death means for its tasks, is the engine's business (engine.ts).
 */
import type { WorkerExit } from '../futures/errors.js';
import type { InitMessage, TaskReference, ToMain } from './protocol.js';
import type { Backend, SpawnOptions } from './transport.js';
import { WORKER_ENTRY } from './transport.js';
import { WorkerSlot } from './worker-slot.js';

export interface FleetConfig {
  readonly backend: Backend;
  readonly spawnOptions: SpawnOptions;
  readonly maxWorkers: number;
  readonly minWorkers: number;
  readonly idleTimeout: number;
  readonly tsxApi: string | undefined;
  /** URL of sync/kinds.js, which a worker imports to rebuild shared primitives. */
  readonly sharedKinds: string;
  readonly initializer: TaskReference | Promise<TaskReference> | undefined;
  readonly initArgs: readonly unknown[];
}

export interface FleetEvents {
  onMessage(slot: WorkerSlot, message: ToMain): void;
  /** A worker exited; it has already left `slots`. */
  onExit(slot: WorkerSlot, exit: WorkerExit): void;
  /** A worker waiting for its initializer's reference got it: tasks may go to it now. */
  onInitSent(): void;
  onInitializerUnsendable(error: unknown): void;
}

export class WorkerFleet {
  readonly slots = new Set<WorkerSlot>();
  private nextWorkerId = 1;
  private reaper: NodeJS.Timeout | undefined;
  private exitWaiters: (() => void)[] = [];

  constructor(
    private readonly config: FleetConfig,
    private readonly events: FleetEvents,
  ) {}

  /** Workers not on their way out. */
  get live(): number {
    let live = 0;
    for (const slot of this.slots) if (slot.state !== 'closing') live++;
    return live;
  }

  spawn(): void {
    const id = this.nextWorkerId++;
    let slot: WorkerSlot | undefined;
    const init = this.config.initializer;
    const backend = this.config.backend;
    const taskState = backend.createTaskState();
    const initMessage = (initializer: TaskReference | undefined): InitMessage => ({
      t: 'init',
      workerId: id,
      tsxApi: this.config.tsxApi,
      sharedKinds: this.config.sharedKinds,
      initializer,
      initArgs: this.config.initArgs,
      taskState: taskState.forWorker,
      parentWatchdog: backend.kind === 'process',
    });
    const transport = backend.spawn(
      WORKER_ENTRY,
      { ...this.config.spawnOptions, name: `${this.config.spawnOptions.name}-${id}` },
      {
        onMessage: (message) => this.events.onMessage(slot as WorkerSlot, message),
        onExit: (exit) => {
          const gone = slot as WorkerSlot;
          this.slots.delete(gone);
          gone.clearTimers();
          this.events.onExit(gone, exit);
          taskState.close();
          for (const resolve of this.exitWaiters.splice(0)) resolve();
        },
      },
      init instanceof Promise ? undefined : initMessage(init),
      taskState,
    );
    slot = new WorkerSlot(id, transport, taskState);
    this.slots.add(slot);
    if (init instanceof Promise) {
      // The initializer's module is still being located: init goes out first once it is,
      // so no task is dispatched to this worker before then.
      slot.state = 'closing';
      const started = slot;
      init.then(
        (ref) => {
          if (started.terminating) return;
          started.state = 'starting';
          transport.post(initMessage(ref));
          this.events.onInitSent();
        },
        (error) => this.events.onInitializerUnsendable(error),
      );
    }
  }

  /** Starts workers for tasks that wait (up to maxWorkers), and keeps minWorkers up. */
  growFor(waiting: number): void {
    let live = 0;
    let spare = 0; // workers that will take a task soon: starting or ready, and holding none
    for (const slot of this.slots) {
      if (slot.state === 'closing') continue;
      live++;
      if (slot.inflight.length === 0) spare++;
    }
    while (live < this.config.maxWorkers && (spare < waiting || live < this.config.minWorkers)) {
      this.spawn();
      live++;
      spare++;
    }
    // A starting worker keeps the program alive if it holds a task or tasks wait for workers.
    for (const slot of this.slots)
      if (slot.state === 'starting') slot.keepAlive(waiting > 0 || slot.inflight.length > 0);
  }

  /**
   * Notes when a worker went idle. One pool-wide reaper, running only while there are workers
   * above `minWorkers`, retires those idle for `idleTimeout`: arming a timer per idle spell would
   * cost a setTimeout/clearTimeout pair on every task of a one-at-a-time workload.
   */
  markIdle(slot: WorkerSlot): void {
    slot.idleSince = performance.now();
    if (this.reaper || !Number.isFinite(this.config.idleTimeout) || this.slots.size <= this.config.minWorkers) return;
    this.reaper = setInterval(() => this.reapIdle(), Math.max(10, this.config.idleTimeout / 2));
    this.reaper.unref();
  }

  private reapIdle(): void {
    const now = performance.now();
    let live = this.live;
    for (const slot of this.slots) {
      if (live <= this.config.minWorkers) break;
      if (slot.state === 'ready' && slot.inflight.length === 0 && now - slot.idleSince >= this.config.idleTimeout) {
        slot.stop();
        live--;
      }
    }
    if (live <= this.config.minWorkers) {
      clearInterval(this.reaper);
      this.reaper = undefined;
    }
  }

  /** Terminates every worker and resolves when all have exited. */
  async stopAll(): Promise<void> {
    clearInterval(this.reaper);
    this.reaper = undefined;
    for (const slot of this.slots) {
      if (slot.terminating) continue;
      // An idle worker leaves by itself (its output flushed); a busy one (a broken pool) is terminated.
      if (slot.inflight.length === 0) slot.stop();
      else slot.terminate();
    }
    while (this.slots.size > 0) await new Promise<void>((resolve) => this.exitWaiters.push(resolve));
  }
}
