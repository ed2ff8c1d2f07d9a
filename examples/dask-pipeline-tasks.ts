/** The steps of examples/dask-pipeline.ts: exported, so that each worker imports them by reference. */
import { readFileSync } from 'node:fs';

export interface Reading {
  city: string;
  celsius: number;
}

export interface Summary {
  readings: number;
  byCity: Record<string, { count: number; sum: number; max: number }>;
}

/** Reads one file of `city,celsius` lines. */
export function load(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n');
}

/** Drops the header, blank lines and rows that do not parse. */
export function clean(lines: string[]): Reading[] {
  const rows: Reading[] = [];
  for (const line of lines.slice(1)) {
    const [city, value] = line.split(',');
    const celsius = Number(value);
    if (city && value !== undefined && value.trim() !== '' && Number.isFinite(celsius)) rows.push({ city, celsius });
  }
  return rows;
}

/** Count, sum and maximum per city for one file. */
export function summarise(rows: Reading[]): Summary {
  const byCity: Summary['byCity'] = {};
  for (const { city, celsius } of rows) {
    byCity[city] ??= { count: 0, sum: 0, max: Number.NEGATIVE_INFINITY };
    const s = byCity[city];
    s.count++;
    s.sum += celsius;
    s.max = Math.max(s.max, celsius);
  }
  return { readings: rows.length, byCity };
}

/** Merges the per-file summaries into one line per city. */
export function combine(parts: Summary[]): string[] {
  const total: Summary['byCity'] = {};
  for (const part of parts) {
    for (const [city, s] of Object.entries(part.byCity)) {
      total[city] ??= { count: 0, sum: 0, max: Number.NEGATIVE_INFINITY };
      const t = total[city];
      t.count += s.count;
      t.sum += s.sum;
      t.max = Math.max(t.max, s.max);
    }
  }
  return Object.keys(total)
    .sort()
    .map((city) => {
      const t = total[city] as { count: number; sum: number; max: number };
      return `${city}: ${t.count} readings, mean ${(t.sum / t.count).toFixed(2)}, max ${t.max.toFixed(1)}`;
    });
}
