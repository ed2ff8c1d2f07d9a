/**
 * What a pool task (ProcessPoolExecutor, ThreadPoolExecutor, Pool on either backend, Thread)
 * receives by handle, installed into the executors' seam (wire/process-sharing.ts) when this
 * module loads:
 *   - a threading primitive, for a process task: a proxy of the object here (primitive-broker.ts,
 *     primitive-proxy.ts), as for a Process child; a thread task shares its memory instead;
 *   - a Manager proxy: a proxy of the same managed object, its calls served here;
 *   - a Pipe Connection end: lent to the task for its run (connection-lender.ts).
 * Every worker has one route to the brokers of the thread that made its pool: its IPC channel
 * (a process) or its port (a thread), on which its proxies' calls are multiplexed.
 *
 *   submit(fn, queue) ─► arguments check: share ─► encode: { $skeinPrimitive } / { $skeinManaged }
 *   / { $skeinConnection, lent } ─► worker imports worker-revive.js ─► proxies ─ { t: 'bcalls' } ─►
 *   the worker's transport ─► BrokerReplier (caller: pid, or −threadId) ─► the objects' brokers
 */
import { encodeShared, SharedPrimitive } from '../sync/shared-memory.js';
import { installProcessSharing, type WorkerSharing } from '../wire/process-sharing.js';
import { BrokerReplier, isBrokerCalls } from './broker-channel.js';
import { dropCallerEverywhere } from './broker-registry.js';
import type { Connection } from './connection.js';
import { connectionLender } from './connection-lender.js';
import { type ConnectionDescriptor, mapConnections } from './handles.js';
import { proxyKind, refusalFor } from './primitive-broker.js';
import { WORKER_REVIVE_URL } from './worker-revive.js';

installProcessSharing({
  verdict(value: object): true | string | undefined {
    if (!(value instanceof SharedPrimitive)) return undefined;
    if (!proxyKind(value)) return undefined; // a SharedValue: the arguments check explains
    return refusalFor(value) ?? true;
  },
  encode(args: unknown[], backend: 'thread' | 'process', shared: SharedPrimitive[]) {
    const lent = new Map<Connection, ConnectionDescriptor>(); // the same end twice: one loan
    const giveBack = () => {
      for (const descriptor of lent.values()) connectionLender.giveBack(descriptor.$skeinConnection);
    };
    let encoded: unknown[];
    try {
      encoded = mapConnections(
        args,
        (connection) => {
          const known = lent.get(connection);
          if (known) return known;
          const descriptor: ConnectionDescriptor = {
            $skeinConnection: connectionLender.lend(connection),
            readable: connection.readable,
            writable: connection.writable,
            lent: true,
          };
          lent.set(connection, descriptor);
          return descriptor;
        },
        backend === 'thread' ? 'keep' : 'describe',
      ) as unknown[];
      if (backend === 'thread') encoded = encodeShared(encoded, shared) as unknown[];
    } catch (error) {
      giveBack(); // refused: what was lent so far is the caller's again
      throw error;
    }
    return { args: encoded, settled: lent.size > 0 ? giveBack : undefined };
  },
  reviverUrl: WORKER_REVIVE_URL,
  attach(caller: number, send: (message: unknown) => boolean): WorkerSharing {
    let replier: BrokerReplier | undefined;
    return {
      onMessage(message: unknown): boolean {
        if (!isBrokerCalls(message)) return false;
        replier ??= new BrokerReplier(caller, send);
        replier.serve(message.calls);
        return true;
      },
      exited(): void {
        dropCallerEverywhere(caller);
      },
    };
  },
});
