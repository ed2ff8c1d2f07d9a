/**
 * A result as an Apache Arrow table. `apache-arrow` is an optional peer dependency: it is imported
 * here, by `toArrow()` only, so that `import 'skein'` and `import 'skein/data'` never load it (a
 * user who does not want Arrow does not install it; test/entry-points.test.ts checks).
 *
 * Types: a Float64Array column becomes Float64, NaN as null (as pyarrow's `Table.from_pandas`
 * reads pandas' missing values); an Int32Array column Int32; a string column Utf8, null for missing.
 * The numbers are not copied when no value is missing: the vector wraps the same memory.
 */
import type { Table } from 'apache-arrow';

type Arrow = typeof import('apache-arrow');

let loading: Promise<Arrow> | undefined;

function loadArrow(): Promise<Arrow> {
  loading ??= import('apache-arrow').catch((error: unknown) => {
    loading = undefined;
    throw new Error(
      'toArrow() needs the optional package apache-arrow: install it with `npm install apache-arrow` ' +
        `(${(error as Error).message})`,
      { cause: error },
    );
  });
  return loading;
}

/** Bit i set when values[i] is not NaN (Arrow's validity bitmap, least significant bit first). */
function validity(values: Float64Array): { bitmap: Uint8Array; nulls: number } | undefined {
  let nulls = 0;
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i] as number)) nulls++;
  if (nulls === 0) return undefined;
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  for (let i = 0; i < values.length; i++) {
    if (!Number.isNaN(values[i] as number)) bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7));
  }
  return { bitmap, nulls };
}

/** Named columns (a result's) as an Arrow Table. */
export async function toArrowTable(
  names: readonly string[],
  columns: readonly (Float64Array | Int32Array | readonly (string | null)[])[],
): Promise<Table> {
  const arrow = await loadArrow();
  const vectors: Record<string, InstanceType<Arrow['Vector']>> = {};
  names.forEach((name, c) => {
    const column = columns[c];
    if (column instanceof Int32Array) vectors[name] = arrow.makeVector(column);
    else if (column instanceof Float64Array) {
      const valid = validity(column);
      vectors[name] = valid
        ? arrow.makeVector(
            arrow.makeData({
              type: new arrow.Float64(),
              length: column.length,
              nullCount: valid.nulls,
              nullBitmap: valid.bitmap,
              data: column,
            }),
          )
        : arrow.makeVector(column);
    } else vectors[name] = arrow.vectorFromArray(column as (string | null)[], new arrow.Utf8());
  });
  return new arrow.Table(vectors);
}

/** The Arrow IPC bytes of a table: the stream format (or the file format, with its footer). */
export async function toArrowIpc(table: Table, format: 'stream' | 'file'): Promise<Uint8Array> {
  const arrow = await loadArrow();
  return arrow.tableToIPC(table, format);
}
