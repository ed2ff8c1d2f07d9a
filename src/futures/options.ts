/**
 * How every public entry point checks an options object and shows a bad value.
 *
 * Python raises `TypeError: f() got an unexpected keyword argument 'maxworker'`; a JavaScript
 * options object would silently ignore the misspelled key and run with the default. So each
 * entry point lists its option names once (`optionKeys`, which the compiler holds to the options
 * type, so a documented option cannot be forgotten) and `checkOptions` throws a TypeError naming
 * the unknown key, the closest known one and the whole list. Only the outer keys are checked:
 * objects handed through to Node (`resourceLimits`, `env`) keep theirs.
 */

/** The option names of one entry point, built by `optionKeys`. */
export interface OptionKeys {
  readonly names: readonly string[];
  readonly set: ReadonlySet<string>;
}

/**
 * The option names of an options type `T`, each listed once: the object must name every key of
 * `T` (a key missing here, or one `T` does not have, does not compile).
 */
export function optionKeys<T extends object>(keys: { readonly [K in keyof Required<T>]: true }): OptionKeys {
  const names = Object.keys(keys);
  return { names, set: new Set(names) };
}

/**
 * A value for an error message, so that it cannot be mistaken for another: a string is quoted
 * and named (`"4" (a string)` is not the number 4), a bigint keeps its `n`, an object says what
 * it is instead of `[object Object]`.
 */
export function shownValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `${JSON.stringify(value)} (a string)`;
    case 'bigint':
      return `${value}n (a bigint)`;
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'function':
      return value.name ? `a function (${value.name})` : 'a function';
    case 'symbol':
      return `${String(value)} (a symbol)`;
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `an array of length ${value.length}`;
      const name = Object.getPrototypeOf(value)?.constructor?.name;
      return name && name !== 'Object' ? `a ${name}` : 'an object';
    }
    default:
      return String(value); // undefined, booleans
  }
}

/** Edit distance (insert, delete, replace, swap of neighbours), case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const width = y.length + 1;
  // One flat row-major table: at(i, j) is the distance between x's first i and y's first j characters.
  const table = new Uint16Array((x.length + 1) * width);
  const at = (i: number, j: number): number => table[i * width + j] as number;
  for (let i = 0; i <= x.length; i++) table[i * width] = i;
  for (let j = 0; j <= y.length; j++) table[j] = j;
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      table[i * width + j] = best;
    }
  }
  return at(x.length, y.length);
}

/** The known name closest to `key`, if one is close enough to be a likely misspelling. */
export function closestName(key: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of names) {
    const d = distance(key, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  // Two edits in five, at least 2: 'maxWorker' → 'maxWorkers', 'retry' → 'retries', 'process' →
  // 'processes'; a key further than that from every name is not taken for a misspelling.
  const limit = Math.max(2, Math.round(Math.max(key.length, best?.length ?? 0) * 0.4));
  return bestDistance <= limit ? best : undefined;
}

/**
 * Throws a TypeError unless `options` is undefined or an object whose own keys are all in
 * `known`. `where` names the call as the user wrote it, e.g. `new ThreadPoolExecutor(options)`.
 */
export function checkOptions(where: string, options: unknown, known: OptionKeys): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${shownValue(options)}`);
  }
  for (const key in options) {
    if (!known.set.has(key) && Object.hasOwn(options, key)) throw unknownOption(where, key, known);
  }
}

function unknownOption(where: string, key: string, known: OptionKeys): TypeError {
  const suggestion = closestName(key, known.names);
  const hint = suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`;
  const list = known.names.length === 0 ? 'it takes none' : `the options are ${known.names.join(', ')}`;
  return new TypeError(`${where}: unknown option '${key}'${hint}; ${list}`);
}

/**
 * The error for a callback that is not a function, e.g. `withLock(5)`: what was expected and what
 * came, instead of `fn is not a function` from deep inside once the lock is taken.
 */
export function notAFunction(where: string, value: unknown): TypeError {
  return new TypeError(`${where} expects a function to run, got ${shownValue(value)}`);
}
