/**
 * One `Memory` cache entry on disk: how it is written (atomically) and read (never half).
 *
 *   "SKC1" | payload length (u64 LE) | SHA-256 of payload (32 bytes) | payload = v8.serialize(value)
 *
 * A reader checks the magic, the length and the checksum before deserialising, so a truncated
 * file (a crash mid-write on a filesystem without atomic rename, a full disk) or a corrupted one
 * is a miss, never a wrong value. A writer writes a temporary file in the same folder and
 * renames it over the entry: rename is atomic, so two processes filling the same entry at once
 * each put a whole file there, and the last one wins.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { threadId } from 'node:worker_threads';

const MAGIC = Buffer.from('SKC1');
const HEADER = MAGIC.length + 8 + 32;

/** The value in `file` (read synchronously), or undefined if there is none, it is older than `maxAgeMs`, or it is not whole. */
export function readEntry(file: string, maxAgeMs: number | undefined): { value: unknown } | undefined {
  let bytes: Buffer;
  try {
    if (maxAgeMs !== undefined) {
      const info = statSync(file);
      if (Date.now() - info.mtimeMs > maxAgeMs) return undefined;
    }
    // Synchronous on purpose: a hit is the common case and must be cheap. fs/promises' readFile
    // takes four thread-pool round trips (open, stat, read, close): ~300 µs per hit on a busy
    // machine against ~30 µs here. The price is that reading a very large entry blocks the event
    // loop while it is read, as joblib's reads block its caller.
    bytes = readFileSync(file);
  } catch {
    return undefined; // no entry (or unreadable): compute it
  }
  if (bytes.length < HEADER || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const length = bytes.readBigUInt64LE(MAGIC.length);
  if (length !== BigInt(bytes.length - HEADER)) return undefined; // truncated, or trailing garbage
  const payload = bytes.subarray(HEADER);
  const sum = createHash('sha256').update(payload).digest();
  if (!sum.equals(bytes.subarray(MAGIC.length + 8, HEADER))) return undefined;
  try {
    return { value: deserialize(payload) };
  } catch {
    return undefined;
  }
}

/** Writes `value` to `file` atomically (temporary file in the same folder, then rename). */
export async function writeEntry(file: string, value: unknown): Promise<void> {
  let payload: Buffer;
  try {
    payload = serialize(value);
  } catch (error) {
    throw new TypeError(
      `the result cannot be stored in the cache: v8.serialize refused it (${(error as Error).message}); return plain data (objects, arrays, Map, Set, Date, typed arrays)`,
    );
  }
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header.writeBigUInt64LE(BigInt(payload.length), MAGIC.length);
  createHash('sha256')
    .update(payload)
    .digest()
    .copy(header, MAGIC.length + 8);
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}-${threadId}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, Buffer.concat([header, payload]));
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
