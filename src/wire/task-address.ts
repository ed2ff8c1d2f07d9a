/**
 * How a task is named between a DistributedExecutor and the `skein worker`s: never by code,
 * always by (module, version, export).
 *
 *   module   the module file's path relative to its project root (the nearest folder above it
 *            with a package.json), with '/' separators: the same on every machine that has a
 *            checkout of the project, wherever the checkout is;
 *   version  the first 16 hex digits of the SHA-256 of the file's bytes: a worker whose copy
 *            differs refuses the task instead of running other code under the same name;
 *   export   the export path (`square`, or `default.square`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TaskReference } from '../pool/protocol.js';
import { resolveTaskReference } from './task-reference.js';

export interface TaskAddress {
  readonly module: string;
  readonly version: string;
  readonly export: string;
}

export interface ModuleIdentity {
  readonly module: string;
  readonly version: string;
}

const identities = new Map<string, ModuleIdentity>();

function projectRoot(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return dirname(file);
  }
}

/** The identity of the module file at `path` (absolute path or file URL). */
export function moduleIdentity(path: string): ModuleIdentity {
  const file = path.startsWith('file:') ? fileURLToPath(path) : path;
  let identity = identities.get(file);
  if (!identity) {
    const version = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);
    identity = { module: relative(projectRoot(file), file).split(sep).join('/'), version };
    identities.set(file, identity);
  }
  return identity;
}

const addresses = new WeakMap<Function, TaskAddress>();

/**
 * Where `fn` lives, as workers will look it up. Throws (or rejects) if it is not an export of a
 * module file. Known functions answer synchronously: submit's hot path makes no promise for them.
 */
export function addressOf(fn: Function): TaskAddress | Promise<TaskAddress> {
  const known = addresses.get(fn);
  if (known) return known;
  const ref = resolveTaskReference(fn);
  return ref instanceof Promise ? ref.then((r) => addressOfReference(fn, r)) : addressOfReference(fn, ref);
}

function addressOfReference(fn: Function, ref: TaskReference): TaskAddress {
  if (ref.kind !== 'module' || !ref.url.startsWith('file:')) {
    throw new TypeError(
      `${fn.name || 'the task'} cannot run on a DistributedExecutor: a distributed task must be exported ` +
        'from a module file that the workers load too (skein worker --module PATH); no code travels ' +
        'through Redis, so a function defined in the entry script, or not exported, cannot be run there',
    );
  }
  const address = { ...moduleIdentity(ref.url), export: ref.path.join('.') };
  addresses.set(fn, address);
  return address;
}
