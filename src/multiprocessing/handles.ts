/**
 * Connections, Manager proxies and threading primitives inside the arguments of a Process, a
 * pool task or a Thread, at any depth of its arrays and plain objects: the parent replaces each
 * with a small descriptor (and relays a Connection's end to a Process, see process.ts, or lends
 * it to a task, connection-lender.ts; keeps a primitive in primitive-broker.ts); the child or
 * worker puts a Connection or a proxy back in its place. Other values travel as they are, by
 * structured clone.
 */
import { SharedPrimitive } from '../sync/shared-memory.js';
import { NOT_FOR_POOL_TASKS } from '../wire/arguments.js';
import { Connection } from './connection.js';
import { ManagedProxy } from './manager.js';
import type { ManagedKind } from './manager-broker.js';
import { type PrimitiveDescriptor, primitiveBroker, proxyKind, refusalFor } from './primitive-broker.js';
import type { PrimitiveProxy } from './primitive-proxy.js';

/** What a Manager proxy becomes on its way to a child. */
export interface ManagedDescriptor {
  readonly $skeinManaged: number;
  readonly kind: ManagedKind;
}

/** What a Connection becomes on its way to a child. */
export interface ConnectionDescriptor {
  readonly $skeinConnection: number;
  readonly readable: boolean;
  readonly writable: boolean;
  /** Lent to a pool task for its run (connection-lender.ts), rather than handed to a Process for good. */
  readonly lent?: true;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The descriptor a child gets for a threading primitive (kept by this process's broker), or the
 * primitive itself if it cannot be proxied (a SharedValue: the argument check refuses it).
 */
export function describePrimitive(primitive: SharedPrimitive): unknown {
  const kind = proxyKind(primitive);
  if (!kind) return primitive;
  const refused = refusalFor(primitive);
  if (refused) throw new TypeError(`${refused}`);
  return primitiveBroker.describe(primitive, kind);
}

/**
 * A copy of `value` with every Connection replaced by `replace(connection)`, every Manager
 * proxy by its descriptor, and every threading primitive by its broker descriptor (for another
 * process) or left as it is (`primitives: 'keep'`, for a thread, which shares its memory);
 * `value` itself is untouched. A proxy that cannot be passed on is refused here.
 */
export function mapConnections(
  value: unknown,
  replace: (connection: Connection) => unknown,
  primitives: 'describe' | 'keep' = 'describe',
): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Connection) return replace(value);
  if (value instanceof ManagedProxy) {
    const refused = value[NOT_FOR_POOL_TASKS]();
    if (refused !== undefined) throw new TypeError(`cannot pass ${refused}`);
    return { $skeinManaged: value.objectId, kind: value.kind } satisfies ManagedDescriptor;
  }
  if (value instanceof SharedPrimitive) return primitives === 'keep' ? value : describePrimitive(value);
  if (Array.isArray(value)) return value.map((item) => mapConnections(item, replace, primitives));
  if (!isPlainObject(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    copy[key] = mapConnections((value as Record<string, unknown>)[key], replace, primitives);
  }
  return copy;
}

function isDescriptor(value: object): value is ConnectionDescriptor {
  return typeof (value as { $skeinConnection?: unknown }).$skeinConnection === 'number';
}

/** How a child rebuilds what the parent replaced. */
export interface Revivers {
  connection(descriptor: ConnectionDescriptor): Connection;
  managed(descriptor: ManagedDescriptor): ManagedProxy;
  primitive(descriptor: PrimitiveDescriptor): PrimitiveProxy;
}

/** In the child: descriptors back to Connections and proxies. */
export function reviveConnections(value: unknown, revive: Revivers): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => reviveConnections(item, revive));
  if (!isPlainObject(value)) return value;
  if (isDescriptor(value)) return revive.connection(value);
  if (typeof (value as { $skeinManaged?: unknown }).$skeinManaged === 'number') {
    return revive.managed(value as ManagedDescriptor);
  }
  if (typeof (value as { $skeinPrimitive?: unknown }).$skeinPrimitive === 'number') {
    return revive.primitive(value as PrimitiveDescriptor);
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = reviveConnections((value as Record<string, unknown>)[key], revive);
  return copy;
}
