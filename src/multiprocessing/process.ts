/**
 * `multiprocessing.Process`: one function run in a child process of its own, plus
 * `currentProcess()`, `activeChildren()` and `cpuCount()`.
 *
 *   new Process({ target, args })      start(): fork process-entry.js ─ IPC ('advanced' clone) ─►
 *     target resolved by reference       { t: 'start', target, args }  (Connections → descriptors,
 *     (module + export) or as source     their ends relayed: see connection.ts)
 *                                      ◄═ fd 3: Connection frames, proxy calls (child-channel.ts)   ═►
 *   join() ◄── 'exit' (code, or −signal number) ◄── the child exits when its target is done
 *              and the channel is closed (everything the child sent has been read)
 *
 * Daemonic and non-daemonic children, in Node terms (Python joins non-daemonic children at exit
 * and terminates daemonic ones):
 *   - a non-daemonic child keeps this program's event loop alive until it exits, so a program
 *     that reaches its end waits for it, as Python's does. (A program that calls `process.exit()`
 *     leaves it running on its own.)
 *   - a daemonic child does not keep the program alive, and is killed (SIGKILL) when this program
 *     exits, by whatever path; if this program is killed outright, the child exits as soon as it
 *     notices its IPC channel is gone.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { Socket } from 'node:net';
import { availableParallelism, constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import type { TaskFunction } from '../futures/base.js';
import { checkOptions, optionKeys, shownValue } from '../futures/options.js';
import type { TaskReference } from '../pool/protocol.js';
import { assertArgumentsCloneable } from '../wire/arguments.js';
import { resolveTaskReference } from '../wire/task-reference.js';
import { BrokerReplier } from './broker-channel.js';
import { dropCallerEverywhere } from './broker-registry.js';
import { brokerCallsOf, CHILD_CHANNEL_FD, FrameChannel } from './child-channel.js';
import { BrokenPipeError, type Connection } from './connection.js';
import { FrameKind } from './frame-codec.js';
import { type ConnectionDescriptor, mapConnections } from './handles.js';
import type { Frame, Link } from './pipe-link.js';
import type { ToChild } from './process-entry.js';
// Process pool tasks get the same proxies of primitives as a Process: installed with this module.
import './task-handles.js';

/** Where a Process child keeps its name and daemon flag (set by process-entry.ts). */
const PROCESS_INFO = Symbol.for('skein.processInfo');
const PROCESS_ENTRY = fileURLToPath(new URL('./process-entry.js', import.meta.url));

/** Processes started and not yet exited (`activeChildren()`). */
const alive = new Set<Process>();
/** How long the channel may outlive the child's exit (only a grandchild holding fd 3 could keep it). */
const CHANNEL_CLOSE_GRACE_MS = 2000;
/** Daemonic children to kill when this program exits. */
const daemons = new Set<ChildProcess>();
let exitHookInstalled = false;
let created = 0;
let connectionIds = 0;

function killDaemonsAtExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of daemons) child.kill('SIGKILL');
  });
}

/** Options of `new Process(...)`: Python's `target`, `args`, `name` and `daemon`. */
export interface ProcessOptions<F extends TaskFunction> {
  /** The function to run: exported from a module (sent by reference), or self-contained (sent as source). */
  target: F;
  /** Its arguments (structured clone; Pipe Connections are handed to the child). */
  args?: Parameters<F>;
  /** Default `Process-N`, as Python. */
  name?: string;
  /** Killed when this program exits instead of awaited; see the module notes. Default false. */
  daemon?: boolean;
}

/** The option names of `new Process(options)` (an unknown one is a TypeError, as in Python). */
export const PROCESS_OPTION_KEYS = optionKeys<ProcessOptions<TaskFunction>>({
  target: true,
  args: true,
  name: true,
  daemon: true,
});

/**
 * A function run in a child process: `start()`, `await join()`, `exitCode`.
 *
 * ```ts
 * const p = new Process({ target: printNumbers });
 * p.start();
 * await p.join();
 * ```
 *
 * `exitCode` is null while it runs, 0 when the target returned (or its promise resolved), 1 when
 * it threw (the error is printed to stderr, as Python prints the traceback), the code it passed
 * to `process.exit(code)`, or −N when signal N ended it (`terminate()`: −15, `kill()`: −9).
 */
export class Process<F extends TaskFunction = TaskFunction> {
  /** The process's name (`currentProcess().name` in the child). */
  name: string;
  #daemon: boolean;
  readonly #target: F;
  readonly #args: Parameters<F>;
  readonly #reference: TaskReference | Promise<TaskReference>;
  #child: ChildProcess | undefined;
  #exitCode: number | null = null;
  #exited: Promise<void> | undefined;
  readonly #relays = new Map<number, Link>();
  /** Connection frames and the calls of the child's proxies; undefined until the child is forked. */
  #channel: FrameChannel | undefined;
  /** Frames to send once the channel exists (what a handed-over end had already received). */
  #early: [FrameKind, number, unknown][] = [];
  /** Answers the calls of the child's proxies (Manager objects, primitives). */
  #replier: BrokerReplier | undefined;
  #joiners = 0;
  /** A recv waits on an end that talks to this child directly (a daemonic child's channel is held for it). */
  #waiting = false;

  constructor(options: ProcessOptions<F>) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('Process(options): expected { target, args?, name?, daemon? }');
    }
    checkOptions('new Process(options)', options, PROCESS_OPTION_KEYS);
    if (typeof options.target !== 'function') {
      throw new TypeError(`Process({ target }): target must be a function, got ${shownValue(options.target)}`);
    }
    if (options.args !== undefined && !Array.isArray(options.args)) {
      throw new TypeError(`Process({ args }): args must be an array of arguments, got ${typeof options.args}`);
    }
    this.#target = options.target;
    this.#args = (options.args ?? []) as Parameters<F>;
    this.name = options.name ?? `Process-${++created}`;
    this.#daemon = options.daemon ?? false;
    // Resolved now, so that start() can usually send it at once; a function that can never be
    // sent (a captured variable) is refused here, in the caller.
    this.#reference = resolveTaskReference(this.#target);
    if (this.#reference instanceof Promise) this.#reference.catch(() => {}); // reported at start()
  }

  /** Whether the child is killed at exit rather than awaited. Set it before `start()`. */
  get daemon(): boolean {
    return this.#daemon;
  }
  /** Throws if the process was already started. */
  set daemon(value: boolean) {
    if (this.#child) throw new Error(`cannot set daemon of ${this.name}: it was already started`);
    this.#daemon = Boolean(value);
  }

  /** The child's process id (undefined before `start()`). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** null while running (or before start), the exit code, or −N when signal N ended it. */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** Started and not yet exited. */
  isAlive(): boolean {
    return this.#child !== undefined && this.#exitCode === null;
  }

  /** Starts the child. A Process can be started once. */
  start(): void {
    if (this.#child) throw new Error(`${this.name} was already started: a Process can be started once`);
    // Everything is checked before any Connection is handed over: a refused start leaves them usable here.
    const probe = mapConnections(this.#args, (connection) => {
      connection.checkCanHandOver();
      return { $skeinConnection: 0, readable: true, writable: true } satisfies ConnectionDescriptor;
    }) as unknown[];
    assertArgumentsCloneable(this.#target.name, probe, 'process');
    const handed = new Map<Connection, ConnectionDescriptor>(); // the same end twice: one relay
    const args = mapConnections(this.#args, (connection) => {
      const known = handed.get(connection);
      if (known) return known;
      const descriptor = this.#handOver(connection);
      handed.set(connection, descriptor);
      return descriptor;
    }) as unknown[];
    // stdio[3] is the channel (CHILD_CHANNEL_FD), 'ipc' only carries the start message.
    const child = fork(PROCESS_ENTRY, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, SKEIN_PROCESS_NAME: this.name, SKEIN_PROCESS_DAEMON: this.#daemon ? '1' : '0' },
    });
    this.#child = child;
    alive.add(this);
    const socket = child.stdio[CHILD_CHANNEL_FD] as Socket | null | undefined;
    let channelClosed: () => void = () => {};
    const channelGone = new Promise<void>((resolve) => {
      channelClosed = resolve;
    });
    if (socket) {
      this.#channel = FrameChannel.parentSide(
        socket,
        (kind, id, value) => this.#fromChild(kind, id, value),
        () => channelClosed(),
      );
      for (const [kind, id, value] of this.#early) this.#channel.send(kind, id, value);
    } else {
      channelClosed();
    }
    this.#early = [];
    const exited = new Promise<void>((resolve) => {
      let settled = false;
      const exited = (code: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return;
        settled = true;
        this.#exitCode = code !== null ? code : signal ? -(constants.signals[signal] ?? 1) : 1;
        alive.delete(this);
        daemons.delete(child);
        const grace = setTimeout(() => this.#channel?.destroy(), CHANNEL_CLOSE_GRACE_MS);
        grace.unref();
        void channelGone.then(() => clearTimeout(grace));
        resolve();
      };
      child.on('exit', exited);
      // A spawn failure emits 'error' and may never emit 'exit'.
      child.on('error', () => {
        if (child.pid === undefined) exited(1, null);
      });
    });
    // Done once the child exited and everything it sent on the channel was read: the other ends
    // of its Connections see EOF after its last frame, and its proxies' calls have all arrived.
    this.#exited = Promise.all([exited, channelGone]).then(() => {
      this.#closeRelays();
      // Its waits on Manager objects and primitives are dropped; a Lock it held is broken.
      if (child.pid !== undefined) dropCallerEverywhere(child.pid);
    });
    if (this.#daemon) {
      killDaemonsAtExit();
      daemons.add(child);
      child.unref();
      child.channel?.unref();
      this.#channel?.setKeepAlive(false);
    }
    const reference = this.#reference;
    if (reference instanceof Promise) {
      reference.then(
        (target) => this.#toChild({ t: 'start', target, args }),
        (error: unknown) => this.#toChild({ t: 'fail', text: `Process ${this.name}:\n${inspect(error)}\n` }),
      );
    } else {
      this.#toChild({ t: 'start', target: reference, args });
    }
  }

  /**
   * Resolves when the child has exited, or after `timeoutMs` if it still runs (check `exitCode`
   * or `isAlive()`, as in Python). Never rejects for what the target did: read `exitCode`.
   */
  async join(timeoutMs?: number): Promise<void> {
    if (!this.#exited) throw new Error(`cannot join ${this.name} before start()`);
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0)) {
      throw new RangeError(`join(timeoutMs): expected a number of milliseconds >= 0, got ${String(timeoutMs)}`);
    }
    this.#joiners++;
    this.#holdLoop();
    let timer: NodeJS.Timeout | undefined;
    const expired =
      timeoutMs === undefined
        ? this.#exited
        : new Promise<void>((resolve) => {
            timer = setTimeout(resolve, timeoutMs);
          });
    try {
      await Promise.race([this.#exited, expired]);
    } finally {
      clearTimeout(timer);
      this.#joiners--;
      this.#holdLoop();
    }
  }

  /** Sends SIGTERM (the child's exitCode becomes −15). No effect once it has exited. */
  terminate(): void {
    this.#signal('SIGTERM');
  }

  /** Sends SIGKILL (exitCode −9): the child cannot catch it. */
  kill(): void {
    this.#signal('SIGKILL');
  }

  #signal(signal: NodeJS.Signals): void {
    if (!this.#child) throw new Error(`cannot signal ${this.name} before start()`);
    if (this.#exitCode === null) this.#child.kill(signal);
  }

  #toChild(message: ToChild): void {
    const child = this.#child;
    if (!child?.connected) return;
    // An error here means the child is already gone: its 'exit' tells the rest.
    child.send(message, undefined, {}, () => {});
  }

  /** Sends a frame to the child (queued until it is forked). */
  #send(kind: FrameKind, id: number, value?: unknown): void {
    if (!this.#channel) {
      this.#early.push([kind, id, value]);
      return;
    }
    this.#channel.send(kind, id, value);
  }

  /** A Connection end's frame, for the child. Throws in the caller if the value cannot be cloned. */
  #sendFrame(id: number, frame: Frame): void {
    if (this.#channel?.closed) {
      // The child has exited; the EOF of its end is on its way (after its exit is reported).
      throw new BrokenPipeError('send(): the child process holding the other end of the Pipe has exited');
    }
    if (frame === null) this.#send(FrameKind.eof, id);
    else this.#send(FrameKind.data, id, frame[0]);
  }

  #fromChild(kind: FrameKind, id: number, value: unknown): void {
    if (kind === FrameKind.call || kind === FrameKind.calls) {
      this.#brokerCalls(brokerCallsOf(kind, value));
      return;
    }
    const link = this.#relays.get(id);
    if (!link) return;
    try {
      link.post(kind === FrameKind.eof ? null : [value]);
    } catch {
      // the other end is gone: the child's sends are lost, as on a broken pipe
    }
    if (kind === FrameKind.eof) {
      this.#relays.delete(id);
      link.close();
    }
  }

  /** The child's proxies called (a batch, broker-channel.ts): the brokers here answer on the channel. */
  #brokerCalls(calls: unknown[]): void {
    this.#replier ??= new BrokerReplier(this.#child?.pid ?? -1, (message) => {
      const channel = this.#channel;
      if (!channel || channel.closed) return false; // the child is gone: what the calls took goes back
      channel.sendBrokerReplies(message.replies);
      return true;
    });
    this.#replier.serve(calls);
  }

  /** A Connection in the arguments: the child owns it from now on; this parent relays its frames. */
  #handOver(connection: Connection): ConnectionDescriptor {
    const id = ++connectionIds;
    const descriptor = { $skeinConnection: id, readable: connection.readable, writable: connection.writable };
    const direct = connection.handOverDirect();
    if (direct) {
      // The other end is in this thread: it talks to the child over IPC, no MessageChannel between.
      const { peer, backlog } = direct;
      for (const frame of backlog) this.#sendFrame(id, frame);
      peer.attach({
        post: (frame) => this.#sendFrame(id, frame),
        close: () => {},
        setKeepAlive: (keepAlive) => {
          this.#waiting = keepAlive;
          this.#holdLoop();
        },
      });
      this.#relays.set(id, {
        post: (frame) => peer.deliver(frame),
        close: () => peer.linkClosed(),
        setKeepAlive: () => {},
      });
      return descriptor;
    }
    // Called from the MessagePort's events: a frame for a child that has exited is dropped.
    const relay = (frame: Frame) => {
      try {
        this.#sendFrame(id, frame);
      } catch {
        // the child is gone, as on a broken pipe
      }
    };
    const link = connection.handOver({ forward: relay, closed: () => relay(null) });
    this.#relays.set(id, link);
    return descriptor;
  }

  /**
   * A daemonic child and its channel do not hold the event loop, but a join() waiting for it, or
   * a recv waiting on an end that talks to it directly, must.
   */
  #holdLoop(): void {
    if (!this.#daemon) return;
    const hold = this.#joiners > 0 || this.#waiting;
    this.#channel?.setKeepAlive(hold);
    if (hold) this.#child?.ref();
    else this.#child?.unref();
  }

  /** The child exited: the other ends of what it held see EOF. */
  #closeRelays(): void {
    for (const link of this.#relays.values()) {
      try {
        link.post(null);
      } catch {
        // already closed
      }
      link.close();
    }
    this.#relays.clear();
  }
}

/** What `currentProcess()` tells: this process's name and id. */
export interface ProcessInfo {
  /** `'MainProcess'` in the program, the Process's name in a Process child, `'PoolWorker'` in a Pool's. */
  readonly name: string;
  /** This process's id (`process.pid`). */
  readonly pid: number;
  /** Whether this process is a daemonic Process child. */
  readonly daemon: boolean;
}

/** This process, as Python's `multiprocessing.current_process()`. */
export function currentProcess(): ProcessInfo {
  const child = (globalThis as Record<symbol, unknown>)[PROCESS_INFO] as { name: string; daemon: boolean } | undefined;
  if (child) return { name: child.name, pid: process.pid, daemon: child.daemon };
  return { name: process.send ? 'PoolWorker' : 'MainProcess', pid: process.pid, daemon: false };
}

/** The Processes this program started that have not exited yet (Python's `active_children()`). */
export function activeChildren(): Process[] {
  return [...alive];
}

/**
 * How many CPUs this program can use: `os.availableParallelism()`, which (unlike Python's
 * `cpu_count()`, the machine's total) honours CPU affinity, so one Process per "core" is right.
 */
export function cpuCount(): number {
  return availableParallelism();
}
