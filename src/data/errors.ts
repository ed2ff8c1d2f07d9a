/**
 * The error a malformed CSV gives: it names the file, the line (1-based, physical lines, as an
 * editor counts them) and the column (1-based field number, and its name when known).
 *
 * A worker knows lines only from the start of its byte range; it throws with `line` counted from
 * there and `lineIsLocal` set, and compute.ts rewrites the message with the file's line number once
 * it has counted the lines before the range (only when an error happens: no counting otherwise).
 */
export class CsvParseError extends Error {
  /** Always 'CsvParseError'. */
  override name = 'CsvParseError';
  /** The file the bad row is in. */
  readonly file: string;
  /** 1-based line of the row's first byte. */
  line: number;
  /** 1-based field number of the bad value, when one field is at fault. */
  readonly column: number | undefined;
  /** The column's name, when known. */
  readonly columnName: string | undefined;
  /** What was wrong, without the location. */
  readonly reason: string;
  /** Internal: `line` still counts from `rangeStart`, not from the top of the file. */
  lineIsLocal: boolean;
  /** Internal: the byte offset `line` counts from while `lineIsLocal`. */
  readonly rangeStart: number;

  constructor(fields: {
    file: string;
    line: number;
    column?: number | undefined;
    columnName?: string | undefined;
    reason: string;
    lineIsLocal?: boolean;
    rangeStart?: number;
  }) {
    super(CsvParseError.describe(fields.file, fields.line, fields.column, fields.columnName, fields.reason));
    this.file = fields.file;
    this.line = fields.line;
    this.column = fields.column;
    this.columnName = fields.columnName;
    this.reason = fields.reason;
    this.lineIsLocal = fields.lineIsLocal ?? false;
    this.rangeStart = fields.rangeStart ?? 0;
  }

  /** The message for a location and a reason: `FILE line N, column C ("NAME"): REASON`. */
  static describe(file: string, line: number, column: number | undefined, name: string | undefined, reason: string) {
    const where = column === undefined ? '' : `, column ${column}${name === undefined ? '' : ` ("${name}")`}`;
    return `${file} line ${line}${where}: ${reason}`;
  }
}

/** Thrown for a file, path or glob that gives nothing to read. */
export class DataSourceError extends Error {
  /** Always 'DataSourceError'. */
  override name = 'DataSourceError';
}

/**
 * The error a malformed JSON lines file gives: it names the file, the line (1-based) and, when one
 * field is at fault, the field. Its line is counted from the start of a byte range in the worker
 * and made the file's line by compute.ts, as for CsvParseError.
 */
export class JsonlParseError extends Error {
  /** Always 'JsonlParseError'. */
  override name = 'JsonlParseError';
  /** The file the bad line is in. */
  readonly file: string;
  /** 1-based line. */
  line: number;
  /** The field (column name) at fault, when one is. */
  readonly field: string | undefined;
  /** What was wrong, without the location. */
  readonly reason: string;
  /** Internal: `line` still counts from the start of the range, not from the top of the file. */
  lineIsLocal: boolean;

  constructor(fields: {
    file: string;
    line: number;
    field?: string | undefined;
    reason: string;
    lineIsLocal?: boolean;
  }) {
    super(JsonlParseError.describe(fields.file, fields.line, fields.field, fields.reason));
    this.file = fields.file;
    this.line = fields.line;
    this.field = fields.field;
    this.reason = fields.reason;
    this.lineIsLocal = fields.lineIsLocal ?? false;
  }

  /** The message for a location and a reason: `FILE line N, field "NAME": REASON`. */
  static describe(file: string, line: number, field: string | undefined, reason: string): string {
    return `${file} line ${line}${field === undefined ? '' : `, field "${field}"`}: ${reason}`;
  }
}

/**
 * A parse error thrown in a worker with its line counted from its range (`lineIsLocal`), given
 * again with the file's line: `linesBefore` is the count of lines before the range. Other errors
 * come back as they are. Errors cross threads and processes as plain fields with their name, so
 * they are told apart by name.
 */
export function locateParseError(error: unknown, linesBefore: () => number): unknown {
  if (!(error instanceof Error)) return error;
  let located: Error;
  if (error.name === 'CsvParseError') {
    const e = error as CsvParseError;
    if (!e.lineIsLocal) return error;
    located = new CsvParseError({
      file: e.file,
      line: e.line + linesBefore(),
      column: e.column,
      columnName: e.columnName,
      reason: e.reason,
    });
  } else if (error.name === 'JsonlParseError') {
    const e = error as JsonlParseError;
    if (!e.lineIsLocal) return error;
    located = new JsonlParseError({ file: e.file, line: e.line + linesBefore(), field: e.field, reason: e.reason });
  } else return error;
  // The worker's stack says nothing the message does not; the main thread's would mislead.
  located.stack = `${located.name}: ${located.message}`;
  return located;
}
