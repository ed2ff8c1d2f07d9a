/**
 * The child's side of a `Process` (process.ts): the program every Process child runs.
 *
 *   parent ─ { t: 'start', target, args } ─► load target ─► revive Connections ─► target(...args)
 *          ◄──────────── { t: 'conn', id, frame } ────────────► Connection ends given to this child
 *          ◄──────── { t: 'bcalls' } / { t: 'breplies' } ───────► proxies of Manager objects and
 *                                                                 primitives (broker-channel.ts)
 *   return → exit 0;  throw → print "Process <name>:" and the error to stderr, exit 1
 *
 * The child exits as soon as its target is done, as a Python child does, whatever timers or
 * sockets the target left open; frames it sent first are flushed (Node's `process.send` is
 * asynchronous: exiting right after it could drop a message, nodejs/node#6767).
 */
import { inspect } from 'node:util';
import type { TaskReference } from '../pool/protocol.js';
import { loadTaskFunction } from '../wire/load-function.js';
import {
  type BrokerCallsMessage,
  type BrokerRepliesMessage,
  brokerCallsSent,
  childBrokerChannel,
} from './broker-channel.js';
import { Connection, type Frame } from './connection.js';
import { type ConnectionDescriptor, reviveConnections } from './handles.js';
import { makeProxy } from './manager.js';
import { revivePrimitive } from './primitive-proxy.js';

/** From the parent to the child. */
export type ToChild =
  | { readonly t: 'start'; readonly target: TaskReference; readonly args: unknown[] }
  | { readonly t: 'conn'; readonly id: number; readonly frame: Frame }
  /** Answers to the calls of proxies (broker-channel.ts). */
  | BrokerRepliesMessage
  /** The target could not be sent (found out after start() returned): print this and exit 1. */
  | { readonly t: 'fail'; readonly text: string };

/** From the child to the parent. */
export type FromChild =
  | { readonly t: 'conn'; readonly id: number; readonly frame: Frame }
  /** Calls of proxies (Manager objects, primitives), run by the brokers in the parent. */
  | BrokerCallsMessage;

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
let unsent = 0;
let flushed: (() => void) | undefined;

function sendToParent(message: FromChild): void {
  if (!process.connected) throw new Error('cannot send on a Connection: the parent process is gone');
  unsent++;
  process.send?.(message, undefined, {}, () => {
    unsent--;
    if (unsent === 0) flushed?.();
  });
}

function whenFlushed(): Promise<void> {
  if (unsent === 0 || !process.connected) return Promise.resolve();
  return new Promise((resolve) => {
    flushed = resolve;
  });
}

function revive(descriptor: ConnectionDescriptor): Connection {
  const id = descriptor.$skeinConnection;
  const existing = connections.get(id);
  if (existing) return existing; // the same end twice in the arguments: one object
  const connection = new Connection(descriptor.readable, descriptor.writable);
  connection.attach({
    post: (frame) => sendToParent({ t: 'conn', id, frame }),
    close: () => {},
    // The child lives until its target is done; the IPC channel need not keep it alive.
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
  await whenFlushed();
  process.exit(code);
}

process.on('message', (raw) => {
  const message = raw as ToChild;
  switch (message.t) {
    case 'start':
      void run(message.target, message.args);
      return;
    case 'conn': {
      const connection = connections.get(message.id);
      if (connection) connection.deliver(message.frame);
      else early.set(message.id, [...(early.get(message.id) ?? []), message.frame]);
      return;
    }
    case 'fail':
      process.stderr.write(message.text);
      process.exit(1);
  }
});

// The parent is gone: the other ends of our Connections with it. A daemonic child dies with its
// parent (Python terminates daemonic children at exit); a non-daemonic one finishes its work.
process.on('disconnect', () => {
  for (const connection of connections.values()) connection.linkClosed();
  if (daemon) process.exit(0);
});
