/**
 * Dictionary-encoding a string column straight from the bytes: a field is looked up by a hash of
 * its bytes (open addressing, compared byte by byte), so a value seen before costs no JS string;
 * only each distinct value is decoded once. A key column of 100 values over millions of rows
 * then allocates 100 strings, not millions.
 */

const EMPTY = 0;
export const HASH_SEED = 0x811c9dc5;
export const HASH_PRIME = 0x01000193;

export class ByteDictionary {
  /** The distinct values, decoded, in first-seen order: `values[code]`. */
  readonly values: string[] = [];
  /** code + 1 per slot (0: empty). */
  private slots: Int32Array = new Int32Array(256);
  private hashes: Int32Array = new Int32Array(64);
  private starts: Int32Array = new Int32Array(64);
  private ends: Int32Array = new Int32Array(64);
  /** The bytes of every distinct value, back to back. */
  private arena: Uint8Array = new Uint8Array(4096);
  private used = 0;

  /** The code of bytes [a, b) of `bytes`, adding the value if new. */
  code(bytes: Uint8Array, a: number, b: number): number {
    let hash = HASH_SEED;
    for (let i = a; i < b; i++) hash = Math.imul(hash ^ (bytes[i] as number), HASH_PRIME);
    return this.codeHashed(bytes, a, b, hash);
  }

  /** `code`, for a caller that computed the bytes' hash (HASH_SEED, HASH_PRIME: FNV-1a) while finding them. */
  codeHashed(bytes: Uint8Array, a: number, b: number, hash: number): number {
    const mask = this.slots.length - 1;
    const length = b - a;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot] as number;
      if (entry === EMPTY) return this.add(bytes, a, b, hash, slot);
      const code = entry - 1;
      if (this.hashes[code] !== hash) continue;
      const start = this.starts[code] as number;
      if ((this.ends[code] as number) - start !== length) continue;
      let same = true;
      for (let i = 0; i < length; i++) {
        if (this.arena[start + i] !== bytes[a + i]) {
          same = false;
          break;
        }
      }
      if (same) return code;
    }
  }

  private add(bytes: Uint8Array, a: number, b: number, hash: number, slot: number): number {
    const code = this.values.length;
    const length = b - a;
    if (this.used + length > this.arena.length) {
      const bigger = new Uint8Array(Math.max(this.arena.length * 2, this.used + length));
      bigger.set(this.arena.subarray(0, this.used));
      this.arena = bigger;
    }
    this.arena.set(bytes.subarray(a, b), this.used);
    if (code === this.hashes.length) {
      this.hashes = grow(this.hashes);
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
    }
    this.hashes[code] = hash;
    this.starts[code] = this.used;
    this.ends[code] = this.used + length;
    this.used += length;
    this.values.push(Buffer.from(bytes.buffer, bytes.byteOffset + a, length).toString('utf8'));
    this.slots[slot] = code + 1;
    if (this.values.length * 2 > this.slots.length) this.rehash();
    return code;
  }

  /** Doubles the slot table when half full, keeping probes short. */
  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let code = 0; code < this.values.length; code++) {
      let slot = (this.hashes[code] as number) & mask;
      while (slots[slot] !== EMPTY) slot = (slot + 1) & mask;
      slots[slot] = code + 1;
    }
    this.slots = slots;
  }
}

function grow(array: Int32Array): Int32Array {
  const bigger = new Int32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
