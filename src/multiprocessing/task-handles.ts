/**
 * Threading primitives for a process pool's tasks (ProcessPoolExecutor, Pool on processes): the
 * same broker and proxies as for a Process child (primitive-broker.ts, primitive-proxy.ts),
 * installed into the executors' seam (wire/process-sharing.ts) when this module loads.
 *
 *   submit(fn, queue) ─► arguments check: share ─► encode: { $skeinPrimitive } ─► worker imports
 *   worker-revive.js ─► QueueHandle ─ { t: 'bcalls' } ─► the worker's transport ─► BrokerReplier
 */
import { SharedPrimitive } from '../sync/shared-memory.js';
import { installProcessSharing, type WorkerSharing } from '../wire/process-sharing.js';
import { BrokerReplier, isBrokerCalls } from './broker-channel.js';
import { dropCallerEverywhere } from './broker-registry.js';
import { mapConnections } from './handles.js';
import { proxyKind, refusalFor } from './primitive-broker.js';
import { WORKER_REVIVE_URL } from './worker-revive.js';

installProcessSharing({
  verdict(value: object): true | string | undefined {
    if (!(value instanceof SharedPrimitive)) return undefined;
    if (!proxyKind(value)) return undefined; // a SharedValue: the arguments check explains
    return refusalFor(value) ?? true;
  },
  encode(args: unknown[]): unknown[] {
    return mapConnections(args, () => {
      throw new TypeError('a Pipe Connection cannot be passed to a pool task: pass it to a Process');
    }) as unknown[];
  },
  reviverUrl: WORKER_REVIVE_URL,
  attach(pid: number, send: (message: unknown) => boolean): WorkerSharing {
    let replier: BrokerReplier | undefined;
    return {
      onMessage(message: unknown): boolean {
        if (!isBrokerCalls(message)) return false;
        replier ??= new BrokerReplier(pid, send);
        replier.serve(message.calls);
        return true;
      },
      exited(): void {
        dropCallerEverywhere(pid);
      },
    };
  },
});
