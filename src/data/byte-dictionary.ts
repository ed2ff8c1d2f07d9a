/**
 * Dictionary-encoding a string column straight from the bytes: a field is looked up by a hash of
 * its bytes (open addressing), so a value seen before costs no JS string; only each distinct value
 * is decoded once. A key column of 100 values over millions of rows then allocates 100 strings,
 * not millions.
 *
 * Short values (at most 8 bytes: most keys) are keyed by their bytes packed into two int32s, which
 * a parser builds as it reads them (`hi = (hi << 8) | (lo >>> 24); lo = (lo << 8) | byte`): a
 * lookup compares two numbers and the length, no byte loop. Longer values are hashed with FNV-1a
 * and compared byte by byte. A value always takes the same way (by its length), whichever method
 * looks it up.
 */

const EMPTY = 0;
export const HASH_SEED = 0x811c9dc5;
export const HASH_PRIME = 0x01000193;
/** The longest value keyed by its packed bytes. */
export const SHORT = 8;

export class ByteDictionary {
  /** The distinct values, decoded, in first-seen order: `values[code]`. */
  readonly values: string[] = [];
  /** code + 1 per slot (0: empty). */
  private slots: Int32Array = new Int32Array(256);
  private hashes: Int32Array = new Int32Array(64);
  /** A short value's packed bytes (see above); 0 for a long one. */
  private his: Int32Array = new Int32Array(64);
  private los: Int32Array = new Int32Array(64);
  private starts: Int32Array = new Int32Array(64);
  private ends: Int32Array = new Int32Array(64);
  /** The bytes of every distinct value, back to back. */
  private arena: Uint8Array = new Uint8Array(4096);
  private used = 0;

  /** The code of bytes [a, b) of `bytes`, adding the value if new. */
  code(bytes: Uint8Array, a: number, b: number): number {
    if (b - a <= SHORT) {
      let hi = 0;
      let lo = 0;
      for (let i = a; i < b; i++) {
        hi = (hi << 8) | (lo >>> 24);
        lo = (lo << 8) | (bytes[i] as number);
      }
      return this.codeShort(bytes, a, b, hi, lo);
    }
    let hash = HASH_SEED;
    for (let i = a; i < b; i++) hash = Math.imul(hash ^ (bytes[i] as number), HASH_PRIME);
    return this.codeLong(bytes, a, b, hash);
  }

  /** `code`, for a caller that computed the bytes' FNV-1a hash (HASH_SEED, HASH_PRIME) while finding them. */
  codeHashed(bytes: Uint8Array, a: number, b: number, hash: number): number {
    return b - a <= SHORT ? this.code(bytes, a, b) : this.codeLong(bytes, a, b, hash);
  }

  /** `code` of a value of at most 8 bytes, for a caller that packed them (hi, lo) while finding them. */
  codeShort(bytes: Uint8Array, a: number, b: number, hi: number, lo: number): number {
    const length = b - a;
    let hash = Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi + length, 0x85ebca6b);
    hash ^= hash >>> 15;
    hash = Math.imul(hash, 0x2c1b3c6d);
    hash ^= hash >>> 12;
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot] as number;
      if (entry === EMPTY) return this.add(bytes, a, b, hash, slot, hi, lo);
      const code = entry - 1;
      if (
        this.los[code] === lo &&
        this.his[code] === hi &&
        (this.ends[code] as number) - (this.starts[code] as number) === length
      )
        return code;
    }
  }

  private codeLong(bytes: Uint8Array, a: number, b: number, hash: number): number {
    const mask = this.slots.length - 1;
    const length = b - a;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot] as number;
      if (entry === EMPTY) return this.add(bytes, a, b, hash, slot, 0, 0);
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

  private add(bytes: Uint8Array, a: number, b: number, hash: number, slot: number, hi: number, lo: number): number {
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
      this.his = grow(this.his);
      this.los = grow(this.los);
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
    }
    this.hashes[code] = hash;
    this.his[code] = hi;
    this.los[code] = lo;
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
