/**
 * Imported by a process pool's worker (pool/worker-entry.ts, by the URL below) before it runs a
 * task whose arguments hold primitives: their descriptors become proxies of the parent's
 * objects (primitive-proxy.ts), calling through this worker's IPC channel.
 */
import { childBrokerChannel } from './broker-channel.js';
import { reviveConnections } from './handles.js';
import { makeProxy } from './manager.js';
import { revivePrimitive } from './primitive-proxy.js';

export const WORKER_REVIVE_URL: string = import.meta.url;

/** The task's arguments with descriptors replaced by proxies. */
export function reviveShared(args: unknown): unknown {
  return reviveConnections(args, {
    connection: () => {
      throw new TypeError('a Pipe Connection cannot be passed to a pool task: pass it to a Process');
    },
    managed: (d) => makeProxy(d.kind, d.$skeinManaged, childBrokerChannel()),
    primitive: (d) => revivePrimitive(d, childBrokerChannel()),
  });
}
