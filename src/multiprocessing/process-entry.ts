/**
 * The child's side of a `Process` (process.ts): the program every Process child runs.
 *
 *   parent ─ IPC { t: 'start', target, args } ─► load target ─► revive Connections ─► target(...args)
 *          ◄═ fd 3 (child-channel.ts): Connection frames ═► Connection ends given to this child
 *          ◄═ fd 3: batches of calls and of replies ═════► proxies of Manager objects and
 *                                                          primitives (broker-channel.ts)
 *   return → exit 0;  throw → print "Process <name>:" and the error to stderr, exit 1
 *
 * The child exits as soon as its target is done, as a Python child does, whatever timers or
 * sockets the target left open; frames it sent first are flushed (a socket write is
 * asynchronous: exiting right after it could drop a frame).
 */
import { inspect } from 'node:util';
import { startParentWatchdog } from '../pool/parent-watchdog.js';
import type { TaskReference } from '../pool/protocol.js';
import { loadTaskFunction } from '../wire/load-function.js';
import { brokerCallsSent, childBrokerChannel, useBrokerTransport } from './broker-channel.js';
import { FrameChannel } from './child-channel.js';
import { Connection } from './connection.js';
import { FrameKind } from './frame-codec.js';
import { type ConnectionDescriptor, reviveConnections } from './handles.js';
import { makeProxy } from './manager.js';
import type { Frame } from './pipe-link.js';
import { revivePrimitive } from './primitive-proxy.js';

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
// A daemonic child dies with its parent, even one killed outright while this child is busy.
if (daemon) startParentWatchdog();
const connections = new Map<number, Connection>();
/** Frames for a connection that arrived before the start message made it. */
const early = new Map<number, Frame[]>();
const PARENT_GONE = 'the parent process is gone';
// Proxies in this child (Manager objects, primitives) call their brokers over the channel too.
const brokers = useBrokerTransport({
  connected: () => !channel.closed,
  send: (message, sent) => {
    channel.sendBrokerCalls(message.calls);
    sent(); // queued on the channel, which is flushed (end()) before this child exits
  },
});

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
    case FrameKind.replies:
      brokers.receive(value as unknown[]);
      return;
  }
}

/** The parent is gone (or its end of the channel closed): the other ends of our Connections with it. */
function parentGone(): void {
  for (const connection of connections.values()) connection.linkClosed();
  brokers.parentGone();
}

const channel = FrameChannel.childSide(fromParent, parentGone);

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
        makeProxy(d.kind, d.$skeinManaged, childBrokerChannel()),
      primitive: (d: Parameters<typeof revivePrimitive>[0]) => revivePrimitive(d, childBrokerChannel()),
    };
    await fn(...(reviveConnections(args, revivers) as unknown[]));
  } catch (error) {
    // As Python prints a child's uncaught exception: "Process Process-1:" then the traceback.
    process.stderr.write(`Process ${name}:\n${inspect(error)}\n`);
    code = 1;
  }
  await brokerCallsSent();
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
