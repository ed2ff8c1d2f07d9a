/**
 * joblib's `Memory`: `new Memory(dir).cache(fn)` gives `fn`'s signature, async, with results
 * kept on disk. Layout and keys:
 *
 *   <dir>/<module path relative to its project, '/' → '--'>/<export>/<code>-<args>.entry
 *
 *   code  a hash of the module file's bytes and of every `depends` module's bytes: editing the
 *         module (or a helper named in `depends`, which joblib misses: #1287, #1621) gives new
 *         keys; the first call of the function after that removes its entries of other versions
 *         (and only its own: editing one module never wipes another's, joblib #1533, #1710).
 *   args  stableHash of the arguments not in `ignore`: objects by content, whatever the key
 *         order; Map, Set, typed arrays and Date by content.
 *
 * A function defined in the entry script (not importable) is keyed by its own source text under
 * `__main__/`, as joblib does. Entries are written atomically and checked on read (cache-entry.ts).
 * The function runs in the calling thread; to fill a cache from workers, export the cached
 * function from a module (`export const slow = memory.cache(slowImpl)`) and pass it to
 * `parallel` or `compute`: each worker imports the module and shares the same folder.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TaskFunction, TaskResult } from '../futures/base.js';
import { checkOptions, optionKeys, shownValue } from '../futures/options.js';
import type { TaskReference } from '../pool/protocol.js';
import { parseFunctionSource } from '../wire/free-variables.js';
import { resolveTaskReference } from '../wire/task-reference.js';
import { readEntry, writeEntry } from './cache-entry.js';
import { stableHash } from './stable-hash.js';

/** Options of `new Memory(location, ...)`: when entries expire, and how big the folder may grow. */
export interface MemoryOptions {
  /** Entries older than this (ms since written) are computed again (joblib's `expires_after`). */
  maxAgeMs?: number;
  /** After writes, the oldest entries are removed until the folder holds at most this many bytes. */
  maxBytes?: number;
}

/** Options of `memory.cache(fn, ...)`: what is left out of the key, and what else is in it. */
export interface CacheOptions {
  /** Arguments left out of the key: by position (0-based) or by parameter name. */
  ignore?: readonly (number | string)[];
  /** Other modules whose source is part of the key (helpers the function calls): paths, file URLs, or functions exported from them. */
  depends?: readonly (string | URL | Function)[];
}

/** The option names of `new Memory(location, options)` (an unknown one is a TypeError, as in Python). */
export const MEMORY_OPTION_KEYS = optionKeys<MemoryOptions>({ maxAgeMs: true, maxBytes: true });
/** The option names of `memory.cache(fn, options)`. */
export const CACHE_OPTION_KEYS = optionKeys<CacheOptions>({ ignore: true, depends: true });

/** `fn`, cached: the same parameters, the result as a promise. */
export interface CachedFunction<F extends TaskFunction> {
  (...args: Parameters<F>): Promise<TaskResult<F>>;
  /** The function being cached. */
  readonly fn: F;
  /** True if a valid entry for these arguments is on disk (joblib's `check_call_in_cache`). */
  check(...args: Parameters<F>): Promise<boolean>;
  /** Removes every entry of this function. */
  clear(): Promise<void>;
}

/** Where a cached function's entries go. */
export interface Identity {
  /** The function's folder. */
  folder: string;
  /** Hash of its code (module + depends). */
  version: string;
}

function projectRoot(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return dirname(file);
  }
}

function safeName(text: string): string {
  return text.replace(/[\\/]/g, '--').replace(/[^\w.@+-]/g, '_');
}

function fileOf(dependency: string | URL | Function): Promise<string> | string {
  if (typeof dependency === 'function') {
    const ref = resolveTaskReference(dependency);
    const toFile = (r: TaskReference): string => {
      if (r.kind !== 'module' || !r.url.startsWith('file:')) {
        throw new TypeError(
          `depends: ${dependency.name || 'a function'} is not exported from a module file, so it has no module to watch; name the file instead`,
        );
      }
      return fileURLToPath(r.url);
    };
    return ref instanceof Promise ? ref.then(toFile) : toFile(ref);
  }
  if (dependency instanceof URL || dependency.startsWith('file:')) return fileURLToPath(dependency);
  if (typeof dependency !== 'string') {
    throw new TypeError(`depends: expected a path, a file URL or a function, got ${typeof dependency}`);
  }
  return isAbsolute(dependency) ? dependency : resolve(dependency);
}

function parameterNames(fn: Function): string[] {
  try {
    const { node } = parseFunctionSource(Function.prototype.toString.call(fn));
    return (
      node.params as { type: string; name?: string; left?: { name?: string }; argument?: { name?: string } }[]
    ).map((p) => p.name ?? p.left?.name ?? p.argument?.name ?? '');
  } catch {
    return [];
  }
}

/**
 * A cached function made by `Memory.cache` carries, under this symbol, a function giving what is
 * needed to make the same cached function in a worker (folder, limits, ignored positions, and the
 * key's folder and code version, computed here once). `parallel` and `compute` use it: the worker
 * imports the plain function by reference and wraps it itself, so a cached function runs in the
 * workers and shares the folder, although the wrapper itself is no module's export.
 */
export const CACHE_SPEC = Symbol.for('skein.memory.cacheSpec');

export interface CacheSpec {
  readonly location: string;
  readonly maxAgeMs: number | undefined;
  readonly maxBytes: number | undefined;
  readonly ignore: readonly number[];
  readonly identity: Identity;
}

/** In a worker: `fn` cached as `spec` says (the same entries as the caller's cached function). */
export function cachedFromSpec(fn: TaskFunction, spec: CacheSpec): TaskFunction {
  const memory = new Memory(spec.location, {
    ...(spec.maxAgeMs === undefined ? {} : { maxAgeMs: spec.maxAgeMs }),
    ...(spec.maxBytes === undefined ? {} : { maxBytes: spec.maxBytes }),
  });
  const identity = Promise.resolve(spec.identity);
  return memory.wrap(fn, new Set(spec.ignore), () => identity);
}

/** The spec of a cached function (undefined for any other function). */
export function cacheSpecOf(fn: Function): (() => Promise<CacheSpec>) | undefined {
  return (fn as unknown as Record<symbol, (() => Promise<CacheSpec>) | undefined>)[CACHE_SPEC];
}

/**
 * joblib's `Memory`: `new Memory(folder).cache(fn)` keeps `fn`'s results on disk, keyed by the
 * module's code and the arguments, so a later call (or another process) gets them without
 * running `fn` again. Throws TypeError for an empty folder path, RangeError for a negative option.
 */
export class Memory {
  /** The cache folder (absolute). */
  readonly location: string;
  private readonly maxAgeMs: number | undefined;
  private readonly maxBytes: number | undefined;
  private lastReduce = 0;

  constructor(location: string, options: MemoryOptions = {}) {
    if (typeof location !== 'string' || location === '') {
      throw new TypeError(`Memory needs a folder path for its entries, got ${shownValue(location)}`);
    }
    checkOptions('new Memory(location, options)', options, MEMORY_OPTION_KEYS);
    for (const [name, value] of Object.entries(options)) {
      if (value !== undefined && !(typeof value === 'number' && value >= 0)) {
        throw new RangeError(`${name} must be a number >= 0, got ${shownValue(value)}`);
      }
    }
    this.location = resolve(location);
    this.maxAgeMs = options.maxAgeMs;
    this.maxBytes = options.maxBytes;
  }

  /** `fn` with its results kept in this folder. */
  cache<F extends TaskFunction>(fn: F, options: CacheOptions = {}): CachedFunction<F> {
    if (typeof fn !== 'function') throw new TypeError(`Memory.cache takes a function, got ${shownValue(fn)}`);
    checkOptions('memory.cache(fn, options)', options, CACHE_OPTION_KEYS);
    const ignored = this.ignoredPositions(fn, options.ignore ?? []);
    let identity: Promise<Identity> | undefined;
    const identify = () => {
      identity ??= this.identify(fn, options.depends ?? []);
      identity.catch(() => {
        identity = undefined; // a missing file is reported, then looked for again on the next call
      });
      return identity;
    };
    const cached = this.wrap(fn, ignored, identify);
    // What a worker needs to make the same cached function (graph/runner.ts): see CACHE_SPEC.
    Object.defineProperty(cached, CACHE_SPEC, {
      value: async (): Promise<CacheSpec> => ({
        location: this.location,
        maxAgeMs: this.maxAgeMs,
        maxBytes: this.maxBytes,
        ignore: [...ignored],
        identity: await identify(),
      }),
    });
    return cached;
  }

  /** @internal the cached function, its key's folder and version given by `identify`. */
  wrap<F extends TaskFunction>(fn: F, ignored: Set<number>, identify: () => Promise<Identity>): CachedFunction<F> {
    const pending = new Map<string, Promise<unknown>>();
    const entryFile = async (args: unknown[]): Promise<string> => {
      const { folder, version } = await identify();
      const kept = ignored.size === 0 ? args : args.filter((_, i) => !ignored.has(i));
      return join(folder, `${version}-${stableHash(kept).slice(0, 32)}.entry`);
    };

    const cached = (async (...args: unknown[]) => {
      const file = await entryFile(args);
      const hit = readEntry(file, this.maxAgeMs);
      if (hit) return hit.value;
      // Calls with the same key at once in this thread compute once.
      const running = pending.get(file);
      if (running) return running;
      const computing = (async () => {
        const value = await fn(...args);
        try {
          await writeEntry(file, value);
          await this.maybeReduce();
        } catch (error) {
          if (error instanceof TypeError) throw error;
          process.emitWarning(
            `skein Memory could not write ${file}: ${(error as Error).message}`,
            'MemoryCacheWarning',
          );
        }
        return value;
      })();
      pending.set(file, computing);
      try {
        return await computing;
      } finally {
        pending.delete(file);
      }
    }) as unknown as CachedFunction<F>;
    Object.defineProperties(cached, {
      fn: { value: fn },
      name: { value: fn.name },
      check: {
        value: async (...args: unknown[]) => readEntry(await entryFile(args), this.maxAgeMs) !== undefined,
      },
      clear: { value: async () => rm((await identify()).folder, { recursive: true, force: true }) },
    });
    return cached;
  }

  /** Removes every entry of every function. */
  async clear(): Promise<void> {
    await rm(this.location, { recursive: true, force: true });
  }

  /** Removes the oldest entries until the folder holds at most `maxBytes` (called after writes when set). */
  async reduceSize(maxBytes = this.maxBytes): Promise<void> {
    if (maxBytes === undefined) return;
    const files: { path: string; size: number; mtimeMs: number }[] = [];
    const entries = await readdir(this.location, { recursive: true }).catch(() => [] as string[]);
    for (const name of entries) {
      if (!name.endsWith('.entry')) continue;
      const path = join(this.location, name);
      const info = await stat(path).catch(() => undefined);
      if (info) files.push({ path, size: info.size, mtimeMs: info.mtimeMs });
    }
    let total = files.reduce((sum, f) => sum + f.size, 0);
    files.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const file of files) {
      if (total <= maxBytes) break;
      await rm(file.path, { force: true });
      total -= file.size;
    }
  }

  private async maybeReduce(): Promise<void> {
    // A scan of the folder costs far more than one write: at most one per second.
    if (this.maxBytes === undefined || Date.now() - this.lastReduce < 1000) return;
    this.lastReduce = Date.now();
    await this.reduceSize();
  }

  private ignoredPositions(fn: Function, ignore: readonly (number | string)[]): Set<number> {
    const positions = new Set<number>();
    let names: string[] | undefined;
    for (const item of ignore) {
      if (typeof item === 'number' && Number.isInteger(item) && item >= 0) positions.add(item);
      else if (typeof item === 'string') {
        names ??= parameterNames(fn);
        const at = names.indexOf(item);
        if (at < 0) {
          throw new RangeError(
            `ignore: ${fn.name || 'the function'} has no parameter "${item}" (its parameters: ${names.filter(Boolean).join(', ') || 'none found'}); name one of them or give its position`,
          );
        }
        positions.add(at);
      } else
        throw new TypeError(`ignore: expected parameter names or positions (integers >= 0), got ${shownValue(item)}`);
    }
    return positions;
  }

  private async identify(fn: Function, depends: readonly (string | URL | Function)[]): Promise<Identity> {
    // The function runs here, not in a worker: one that uses outer variables (refused by
    // submit) is fine, and is keyed by its source like any function of the entry script.
    const ref: TaskReference | undefined = await Promise.resolve()
      .then(() => resolveTaskReference(fn))
      .catch(() => undefined);
    const code = createHash('sha256');
    let folder: string;
    if (ref?.kind === 'module' && ref.url.startsWith('file:')) {
      const file = fileURLToPath(ref.url);
      code.update(readFileSync(file));
      folder = join(
        this.location,
        safeName(relative(projectRoot(file), file).split(sep).join('/')),
        safeName(ref.path.join('.')),
      );
    } else {
      // The entry script or an inline function: its own source is its code.
      const source = Function.prototype.toString.call(fn);
      code.update(source);
      folder = join(
        this.location,
        '__main__',
        `${safeName(fn.name || 'anonymous')}-${stableHash(source).slice(0, 12)}`,
      );
    }
    for (const dependency of depends) {
      const file = await fileOf(dependency);
      try {
        code.update(readFileSync(file));
      } catch (error) {
        throw new Error(
          `depends: cannot read ${file} (${(error as Error).message}); give a path to an existing module`,
        );
      }
    }
    const version = code.digest('hex').slice(0, 16);
    await removeOtherVersions(folder, version);
    return { folder, version };
  }
}

/** The function's entries of other code versions are stale forever: remove them once, when first used. */
async function removeOtherVersions(folder: string, version: string): Promise<void> {
  const names = await readdir(folder).catch(() => [] as string[]);
  await Promise.all(
    names.filter((n) => !n.startsWith(`${version}-`)).map((n) => rm(join(folder, n), { force: true, recursive: true })),
  );
}
