/**
 * The child's side of a `Process` (process.ts): the program every Process child runs.
 *
 *   parent ─ IPC { t: 'start', target, args } ─► load target ─► revive Connections ─► target(...args)
 *          ◄═ fd 3 (child-channel.ts): Connection frames ═► Connection ends given to this child
 *          ◄═ fd 3: Manager calls and their replies ═════► Manager proxies given to this child
 *   return → exit 0;  throw → print "Process <name>:" and the error to stderr, exit 1
 *
 * The child exits as soon as its target is done, as a Python child does, whatever timers or
 * sockets the target left open; frames it sent first are flushed (a socket write is
 * asynchronous: exiting right after it could drop a frame).
 */
import { inspect } from 'node:util';
import type { TaskReference } from '../pool/protocol.js';
import { deserializeError, type SerializedError } from '../wire/errors.js';
import { loadTaskFunction } from '../wire/load-function.js';
import { FrameChannel } from './child-channel.js';
import { Connection, type Frame } from './connection.js';
import { FrameKind } from './frame-codec.js';
import { type ConnectionDescriptor, reviveConnections } from './handles.js';
import { type ManagerChannel, makeProxy } from './manager.js';

/** From the parent to the child over IPC (the rest travels on the channel, child-channel.ts). */
export type ToChild =
  | { readonly t: 'start'; readonly target: TaskReference; readonly args: unknown[] }
  /** The target could not be sent (found out after start() returned): print this and exit 1. */
  | { readonly t: 'fail'; readonly text: string };

const name = process.env.SKEIN_PROCESS_NAME ?? `Process-${process.pid}`;
const daemon = process.env.SKEIN_PROCESS_DAEMON === '1';
// Read by currentProcess(); taken out of the environment so that this child's own children
// (a Pool it makes) do not inherit the name.
(globalThis as Record<symbol, unknown>)[Symbol.for('skein.processInfo')] = { name, daemon };
delete process.env.SKEIN_PROCESS_NAME;
delete process.env.SKEIN_PROCESS_DAEMON;
const connections = new Map<number, Connection>();
/** Frames for a connection that arrived before the start message made it. */
const early = new Map<number, Frame[]>();
/** Manager calls sent and not yet answered. */
const calls = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
let callIds = 0;
const PARENT_GONE = 'the parent process is gone';

function fromParent(kind: FrameKind, id: number, value: unknown): void {
  switch (kind) {
    case FrameKind.data:
    case FrameKind.eof: {
      const frame: Frame = kind === FrameKind.eof ? null : [value];
      const connection = connections.get(id);
      if (connection) connection.deliver(frame);
      else early.set(id, [...(early.get(id) ?? []), frame]);
      return;
    }
    case FrameKind.reply:
    case FrameKind.failure: {
      const pending = calls.get(id);
      calls.delete(id);
      if (kind === FrameKind.reply) pending?.resolve(value);
      else pending?.reject(deserializeError(value as SerializedError));
      return;
    }
  }
}

/** The parent is gone (or its end of the channel closed): the other ends of our Connections with it. */
function parentGone(): void {
  for (const connection of connections.values()) connection.linkClosed();
  for (const pending of calls.values()) pending.reject(new Error(`cannot reach the Manager: ${PARENT_GONE}`));
  calls.clear();
}

const channel = FrameChannel.childSide(fromParent, parentGone);

/** Manager proxies in this child call the broker in the parent over the channel. */
const managerChannel: ManagerChannel = {
  call: (id, method, args) =>
    new Promise((resolve, reject) => {
      if (channel.closed) {
        reject(new Error(`cannot reach the Manager: ${PARENT_GONE}`));
        return;
      }
      const call = ++callIds;
      try {
        // Flat, so that a call with scalar arguments takes the codec's short path (no v8 serializer).
        channel.send(FrameKind.call, call, [id, method, ...args]);
      } catch (error) {
        reject(error);
        return;
      }
      calls.set(call, { resolve, reject });
    }),
};

function revive(descriptor: ConnectionDescriptor): Connection {
  const id = descriptor.$skeinConnection;
  const existing = connections.get(id);
  if (existing) return existing; // the same end twice in the arguments: one object
  const connection = new Connection(descriptor.readable, descriptor.writable);
  connection.attach({
    post: (frame) => {
      if (channel.closed) throw new Error(`cannot send on a Connection: ${PARENT_GONE}`);
      if (frame === null) channel.send(FrameKind.eof, id);
      else channel.send(FrameKind.data, id, frame[0]);
    },
    close: () => {},
    // The child lives until its target is done (the channel holds its event loop till then).
    setKeepAlive: () => {},
  });
  connections.set(id, connection);
  for (const frame of early.get(id) ?? []) connection.deliver(frame);
  early.delete(id);
  return connection;
}

async function run(target: TaskReference, args: unknown[]): Promise<void> {
  let code = 0;
  try {
    const fn = await loadTaskFunction(target);
    const revivers = {
      connection: revive,
      managed: (d: { $skeinManaged: number; kind: Parameters<typeof makeProxy>[0] }) =>
        makeProxy(d.kind, d.$skeinManaged, managerChannel),
    };
    await fn(...(reviveConnections(args, revivers) as unknown[]));
  } catch (error) {
    // As Python prints a child's uncaught exception: "Process Process-1:" then the traceback.
    process.stderr.write(`Process ${name}:\n${inspect(error)}\n`);
    code = 1;
  }
  await channel.end();
  process.exit(code);
}

process.on('message', (raw) => {
  const message = raw as ToChild;
  switch (message.t) {
    case 'start':
      void run(message.target, message.args);
      return;
    case 'fail':
      process.stderr.write(message.text);
      process.exit(1);
  }
});

// The parent is gone. A daemonic child dies with its parent (Python terminates daemonic children
// at exit); a non-daemonic one finishes its work (the channel's close told its Connections).
process.on('disconnect', () => {
  parentGone();
  if (daemon) process.exit(0);
});
