/**
 * Byte-level helpers of the fast loader: ids interned straight from the bytes of a file (a string
 * is decoded only for an id not seen before in this load), and plain decimal numbers parsed from
 * bytes with the same result as `Number()`.
 */
import { isUtf8 } from 'node:buffer';
import type { Vocabulary } from './vocab.js';

/** Powers of ten that a double holds exactly (10^0 .. 10^22). */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * Parse `-?\d+(\.\d+)?` with at most 15 digits from `buf[s, e)`; NaN for anything else (other
 * forms go to the exact slow path). The result equals `Number(text)`: the digits form an integer
 * below 2^53 and the scale is an exact power of ten, so the one division rounds correctly.
 */
export function parsePlainNumber(buf: Uint8Array, s: number, e: number): number {
  let i = s;
  const neg = i < e && buf[i] === 45;
  if (neg) i++;
  let v = 0;
  let digits = 0;
  let frac = -1;
  for (; i < e; i++) {
    const c = buf[i];
    if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      digits++;
      if (frac >= 0) frac++;
    } else if (c === 46 && frac < 0 && digits > 0) frac = 0;
    else return NaN;
  }
  if (digits === 0 || digits > 15 || frac === 0) return NaN;
  if (frac > 0) v /= POW10[frac];
  return neg ? -v : v;
}

/** FNV-1a over `buf[s, e)`. */
export function hashBytes(buf: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h;
}

/** A byte string decoded as UTF-8 (latin1 is the same and faster for ASCII). */
export function decodeBytes(buf: Uint8Array, s: number, e: number): string {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = s; i < e; i++) if (b[i] >= 0x80) return b.toString('utf8', s, e);
  return b.toString('latin1', s, e);
}

/**
 * Slot layout of `ByteIdTable`, four int32 per slot (16 bytes, four slots per cache line):
 * [tag, a, b, index + 1]; index + 1 = 0 marks an empty slot. An id of at most 8 bytes: tag = its
 * length, a and b = its bytes packed (0-3, 4-7). A longer id: tag = -length, a = its hash,
 * b = the offset of its bytes in the arena.
 */
const STRIDE = 4;

/**
 * An open-addressing hash table (linear probing, at most half full) from the bytes of an id to its
 * index in a `Vocabulary`: a cache in front of the vocabulary's string map for one load. A hit on
 * an id of at most 8 bytes reads one slot and nothing else. The table holds typed arrays, not a
 * string per id; a string is decoded only for an id the table has not seen.
 */
export class ByteIdTable {
  private slots = new Int32Array(1024 * STRIDE);
  private mask = 1023;
  private arena = new Uint8Array(1 << 12);
  private arenaLen = 0;
  private count = 0;

  constructor(private readonly vocab: Vocabulary) {
    vocab.fillIndex(); // ids appended by an earlier load become visible to getIndexed
  }

  /**
   * The vocabulary index of the id in `buf[s, e)`, adding it to the vocabulary when new; -1 when
   * the bytes are not UTF-8 (checked for new ids only: two such ids would decode to one string).
   */
  intern(buf: Uint8Array, s: number, e: number): number {
    const len = e - s;
    let h = 0x811c9dc5 | 0;
    let a = 0;
    let b = 0;
    let tag = len;
    if (len <= 8) {
      // Hash and pack in one pass: bytes 0-3 into a, 4-7 into b.
      for (let i = 0; i < len; i++) {
        const c = buf[s + i];
        h = Math.imul(h ^ c, 0x01000193);
        if (i < 4) a |= c << (i << 3);
        else b |= c << ((i - 4) << 3);
      }
    } else {
      h = hashBytes(buf, s, e);
      tag = -len;
      a = h;
    }
    const slots = this.slots;
    const mask = this.mask;
    let p = (mix(h) & mask) * STRIDE;
    for (;;) {
      const v = slots[p + 3];
      if (v === 0) break;
      if (slots[p] === tag && slots[p + 1] === a && (tag >= 0 ? slots[p + 2] === b : this.same(slots[p + 2], buf, s, len))) return v - 1;
      p = (p + STRIDE) & (mask * STRIDE + STRIDE - 1);
    }
    if (!isUtf8(buf.subarray(s, e))) return -1;
    const id = decodeBytes(buf, s, e);
    const known = this.vocab.getIndexed(id); // an id from an earlier load, or from a line the string path read
    const index = known >= 0 ? known : this.vocab.appendNew(id);
    if (tag < 0) b = this.store(buf, s, len);
    slots[p] = tag;
    slots[p + 1] = a;
    slots[p + 2] = b;
    slots[p + 3] = index + 1;
    if (++this.count * 2 > mask + 1) this.rehash();
    return index;
  }

  private same(o: number, buf: Uint8Array, s: number, len: number): boolean {
    const a = this.arena;
    for (let i = 0; i < len; i++) if (a[o + i] !== buf[s + i]) return false;
    return true;
  }

  /** Copy an id's bytes into the arena; returns their offset. */
  private store(buf: Uint8Array, s: number, len: number): number {
    const o = this.arenaLen;
    if (o + len > this.arena.length) {
      const grown = new Uint8Array(Math.max(this.arena.length * 2, o + len));
      grown.set(this.arena.subarray(0, o));
      this.arena = grown;
    }
    const arena = this.arena;
    for (let i = 0; i < len; i++) arena[o + i] = buf[s + i];
    this.arenaLen = o + len;
    return o;
  }

  /** Double the slots (quadruple while small), re-placing every entry. */
  private rehash(): void {
    const old = this.slots;
    const n = (this.mask + 1) * (this.count < 1 << 16 ? 4 : 2);
    const slots = new Int32Array(n * STRIDE);
    const wrap = n * STRIDE - 1;
    for (let q = 0; q < old.length; q += STRIDE) {
      if (old[q + 3] === 0) continue;
      const tag = old[q];
      let h = tag < 0 ? old[q + 1] : 0x811c9dc5 | 0;
      for (let i = 0; i < tag; i++) h = Math.imul(h ^ ((i < 4 ? old[q + 1] >>> (i << 3) : old[q + 2] >>> ((i - 4) << 3)) & 255), 0x01000193);
      let p = (mix(h) & (n - 1)) * STRIDE;
      while (slots[p + 3] !== 0) p = (p + STRIDE) & wrap;
      slots[p] = tag;
      slots[p + 1] = old[q + 1];
      slots[p + 2] = old[q + 2];
      slots[p + 3] = old[q + 3];
    }
    this.slots = slots;
    this.mask = n - 1;
  }
}

/** Spread the high bits of a hash into the low ones (the table uses the low bits). */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x45d9f3b);
  return h ^ (h >>> 16);
}

/**
 * A small byte-keyed cache for names with a handful of distinct values (domains, behaviours): a
 * linear scan over the last few names seen, compared byte by byte.
 */
export class SmallNameCache<T> {
  private readonly keys: Uint8Array[] = [];
  private readonly vals: T[] = [];

  /** The value cached for `buf[s, e)`, or undefined. */
  get(buf: Uint8Array, s: number, e: number): T | undefined {
    const len = e - s;
    const keys = this.keys;
    outer: for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (key.length !== len) continue;
      for (let i = 0; i < len; i++) if (key[i] !== buf[s + i]) continue outer;
      return this.vals[k];
    }
    return undefined;
  }

  /** Cache `value` for `buf[s, e)` (at most 64 names are kept; later ones are simply not cached). */
  set(buf: Uint8Array, s: number, e: number, value: T): void {
    if (this.keys.length >= 64) return;
    this.keys.push(Uint8Array.prototype.slice.call(buf, s, e));
    this.vals.push(value);
  }
}
