/**
 * What travels through Redis: job data is JSON, so values and errors go inside it as base64 of
 * their structured-clone bytes (v8.serialize), keeping what a local pool keeps (Maps, Dates,
 * typed arrays, bigints, undefined; an error's class, message, cause and properties).
 *
 * A failed job carries its error in BullMQ's `failedReason`, a string: FAILURE_MARK, then the
 * encoded error. A reason without the mark is BullMQ's own (a stalled job, say).
 */
import { deserialize, serialize } from 'node:v8';
import { deserializeError, serializeError } from '../wire/errors.js';

export const FAILURE_MARK = 'skein-error:';

export function encodeValue(value: unknown): string {
  return serialize(value).toString('base64');
}

export function decodeValue(text: string): unknown {
  return deserialize(Buffer.from(text, 'base64'));
}

export function encodeFailure(error: unknown): string {
  return FAILURE_MARK + encodeValue(serializeError(error));
}

export function decodeFailure(reason: string | undefined): unknown {
  if (reason?.startsWith(FAILURE_MARK)) {
    try {
      // skein's own classes come back as themselves (wire/errors.ts)
      return deserializeError(decodeValue(reason.slice(FAILURE_MARK.length)));
    } catch {
      // fall through: report the raw reason
    }
  }
  return new Error(reason ?? 'the job failed without a reason');
}

/** Throws a clear RangeError if an encoded payload is over the limit. */
export function checkPayload(what: string, encoded: string, limit: number): void {
  if (encoded.length > limit) {
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    throw new RangeError(
      `${what} is ${mb(encoded.length)} once encoded, over the ${mb(limit)} limit of a distributed job ` +
        '(maxPayloadBytes): put large data where the workers can read it (a file, an object store) and pass its name',
    );
  }
}
