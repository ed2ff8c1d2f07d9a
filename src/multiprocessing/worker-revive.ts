/**
 * Imported by a pool's worker (pool/worker-entry.ts, by the URL below) before it runs a task
 * whose arguments hold handles (task-handles.ts): their descriptors become proxies of the objects
 * in the thread that made the pool, calling through this worker's route to it (its IPC channel,
 * or its port for a thread: broker-channel.ts), and a thread's shared primitives are rebuilt over
 * their memory. It imports every kind of shared primitive (sync/kinds.ts) for that.
 */
import { reviveShared as reviveSharedMemory } from '../sync/kinds.js';
import { childBrokerChannel } from './broker-channel.js';
import type { Connection } from './connection.js';
import { type ConnectionDescriptor, reviveConnections } from './handles.js';
import { LentConnection } from './lent-connection.js';
import { makeProxy } from './manager.js';
import { revivePrimitive } from './primitive-proxy.js';

export const WORKER_REVIVE_URL: string = import.meta.url;

/** The task's arguments with descriptors replaced by proxies. */
export function reviveShared(args: unknown): unknown {
  const ends = new Map<number, Connection>(); // the same end twice: one object
  return reviveConnections(reviveSharedMemory(args), {
    connection: (d: ConnectionDescriptor) => {
      if (!d.lent) throw new TypeError('skein internal error: a pool task was handed a Connection for good');
      const known = ends.get(d.$skeinConnection);
      if (known) return known;
      const end = new LentConnection(d, childBrokerChannel());
      ends.set(d.$skeinConnection, end);
      return end;
    },
    managed: (d) => makeProxy(d.kind, d.$skeinManaged, childBrokerChannel()),
    primitive: (d) => revivePrimitive(d, childBrokerChannel()),
  });
}
