// The task functions of bench/graph.mjs (plain JavaScript: no system pays for a TypeScript loader).

export function inc(x) {
  return x + 1;
}

export function total(values) {
  let sum = 0;
  for (const v of values) sum += v;
  return sum;
}
