/**
 * Rows of Parquet row groups for `loadEvents`: the columns of a row group (from the paged reader,
 * or hyparquet's values for a chunk it read) turned into rows of the `EventReader`. The common
 * values take a fast path (ids interned from bytes, each dictionary entry of a chunk looked up
 * once); any other row goes through the same `addRow` as the text formats, so a bad value gets the
 * message a CSV would get.
 */
import { isUtf8 } from 'node:buffer';
import { DataError, quoteInput } from '../errors.js';
import { ByteIdTable, decodeBytes, SmallNameCache } from './bytes.js';
import { NO_BEHAVIOR } from './events.js';
import type { PageColumn } from './parquet-pages.js';
import type { CanonicalColumn, EventReader } from './reader.js';
import type { Vocabulary } from './vocab.js';

/** The columns of one row group, by canonical name. */
export type RowGroupColumns = Partial<Record<CanonicalColumn, PageColumn>>;

/** A behaviour as cached: its index and weight. */
interface Behavior {
  index: number;
  weight: number;
}

const NONE: Int32Array = new Int32Array(0);

/** Adds the rows of each row group of the Parquet files of one load to an `EventReader`. */
export class RowAdder {
  private readonly behaviorCache = new SmallNameCache<Behavior>();
  private readonly domainCache = new SmallNameCache<number>();
  private readonly users: ByteIdTable;
  private readonly items: ByteIdTable[] = [];
  private readonly userInts = new Map<number | bigint, number>();
  private readonly itemInts: Map<number | bigint, number>[] = [];
  private readonly needTimestamp: boolean;
  // What each dictionary entry of the current row group's chunks resolved to (-1: not yet).
  private userMemo: Int32Array = NONE;
  private itemMemo: Int32Array[] = [];
  private domainMemo: Int32Array = NONE;
  private behaviorMemo: (Behavior | undefined)[] = [];
  /** The number `numAt` read. */
  private v = 0;
  /** The file being read (for messages). */
  private file = '';
  /** The name in the file of each canonical column it has. */
  private names: Partial<Record<CanonicalColumn, string>> = {};

  /** One for all the files of a load (its id tables serve them all). */
  constructor(private readonly r: EventReader) {
    this.needTimestamp = r.opts.halfLifeDays !== undefined;
    this.users = new ByteIdTable(r.vocab.users);
  }

  /** The rows that follow are from `file`, whose columns have these names. */
  startFile(file: string, names: Partial<Record<CanonicalColumn, string>>): void {
    this.file = file;
    this.names = names;
  }

  /** Add rows `rowStart + 1 .. rowStart + n` of the file (one row group). */
  add(cols: RowGroupColumns, rowStart: number, n: number): void {
    const r = this.r;
    r.sawLine = true;
    const { user: U, item: I, domain: D, behavior: B, weight: W, rating: R, timestamp: T } = cols;
    this.userMemo = memo(this.userMemo, U!.nDict);
    this.itemMemo = [];
    if (D) this.domainMemo = memo(this.domainMemo, D.nDict);
    if (B) this.behaviorMemo = new Array<Behavior | undefined>(B.nDict);
    for (let k = 0; k < n; k++) {
      let d = D ? this.domainAt(D, k) : r.defaultDomainIndex;
      let weight = 1;
      let bIndex = NO_BEHAVIOR;
      if (B) {
        const b = this.behaviorAt(B, k);
        if (b === undefined) d = -1; // first sight of this name, or not a name: the slow path checks and interns it
        else if (b !== null) {
          bIndex = b.index;
          weight = b.weight;
        }
      }
      if (W) {
        const s = this.numAt(W, k);
        if (s === 1) {
          weight = this.v;
          if (!(weight > 0 && weight <= 3.4e38 && weight >= 1.5e-45)) d = -1;
        } else if (s === 2) d = -1;
      }
      let rating = NaN;
      if (R) {
        const s = this.numAt(R, k);
        if (s === 1 && Math.abs(this.v) <= 3.4e38) rating = this.v;
        else if (s !== 0) d = -1;
      }
      let ts = NaN;
      if (T) {
        const s = this.numAt(T, k);
        if (s === 1 && Number.isFinite(this.v)) ts = this.v;
        else if (s !== 0) d = -1;
      }
      if (this.needTimestamp && Number.isNaN(ts)) d = -1;
      const ui = d >= 0 ? this.idAt(U!, k, this.users, r.vocab.users, this.userInts, this.userMemo) : -1;
      let ii = -1;
      if (ui >= 0) {
        const table = (this.items[d] ??= new ByteIdTable(r.vocab.items(d)));
        ii = this.idAt(I!, k, table, r.vocab.items(d), (this.itemInts[d] ??= new Map()), (this.itemMemo[d] ??= memo(NONE, I!.nDict)));
      }
      const row = rowStart + k + 1;
      if (ii >= 0) r.b.push(ui, ii, d, bIndex, weight, rating, ts, row);
      else this.slow(rawAt(U, k), rawAt(I, k), rawAt(D, k), rawAt(B, k), rawNumber(W, k), rawNumber(R, k), rawAt(T, k), row);
    }
  }

  /** The domain of row k, or -1 for one not yet known (or not a name). */
  private domainAt(c: PageColumn, k: number): number {
    if (c.kind === 'raw') {
      const dv = c.raw[k];
      if (dv instanceof Uint8Array) return this.domainOfBytes(dv, 0, dv.length);
      return typeof dv === 'number' || typeof dv === 'bigint' ? this.r.vocab.domains.get(String(dv)) : -1;
    }
    const e = c.code[k];
    if (e < 0) return -1;
    if (e < c.nDict && this.domainMemo[e] >= 0) return this.domainMemo[e];
    const d = c.kind === 'bytes' ? this.domainOfBytes(c.buf, c.start[e], c.end[e]) : this.r.vocab.domains.get(intText(c, e));
    if (e < c.nDict && d >= 0) this.domainMemo[e] = d;
    return d;
  }

  private domainOfBytes(buf: Uint8Array, s: number, e: number): number {
    const cached = this.domainCache.get(buf, s, e);
    if (cached !== undefined) return cached;
    const d = e > s && isUtf8(buf.subarray(s, e)) ? this.r.vocab.domains.get(decodeBytes(buf, s, e)) : -1; // new: the slow path interns it
    if (d >= 0) this.domainCache.set(buf, s, e, d);
    return d;
  }

  /** The behaviour of row k; null for none; undefined when the slow path must look (new, empty, or not a name). */
  private behaviorAt(c: PageColumn, k: number): Behavior | null | undefined {
    if (c.kind === 'raw') {
      const bv = c.raw[k];
      if (bv === null || bv === undefined) return null;
      return bv instanceof Uint8Array && bv.length > 0 ? this.behaviorCache.get(bv, 0, bv.length) : undefined;
    }
    const e = c.code[k];
    if (e < 0) return null;
    if (c.kind !== 'bytes') return undefined;
    if (e < c.nDict && this.behaviorMemo[e] !== undefined) return this.behaviorMemo[e];
    const s = c.start[e];
    const b = c.end[e] > s ? this.behaviorCache.get(c.buf, s, c.end[e]) : undefined;
    if (e < c.nDict) this.behaviorMemo[e] = b;
    return b;
  }

  /** Row k of a number column: 0 null, 1 a number (in this.v), 2 anything else. */
  private numAt(c: PageColumn, k: number): 0 | 1 | 2 {
    if (c.kind === 'num') {
      const e = c.code[k];
      if (e < 0) return 0;
      this.v = c.value[e];
      return 1;
    }
    if (c.kind === 'bytes') return c.code[k] < 0 ? 0 : 2;
    const x = c.raw[k];
    if (x === null || x === undefined) return 0;
    if (typeof x === 'bigint') this.v = Number(x);
    else if (typeof x === 'number') this.v = x;
    else return 2;
    return 1;
  }

  /** The index of row k's id (interned), or -1 for a null, an empty or invalid string, or anything else. */
  private id(v: unknown, table: ByteIdTable, vocab: Vocabulary, ints: Map<number | bigint, number>): number {
    if (v instanceof Uint8Array) return v.length === 0 ? -1 : table.intern(v, 0, v.length);
    if (typeof v === 'number' || typeof v === 'bigint') return intId(v, vocab, ints);
    return -1;
  }

  private idAt(c: PageColumn, k: number, table: ByteIdTable, vocab: Vocabulary, ints: Map<number | bigint, number>, memo: Int32Array): number {
    if (c.kind === 'raw') return this.id(c.raw[k], table, vocab, ints);
    const e = c.code[k];
    if (e < 0) return -1;
    if (e < c.nDict && memo[e] >= 0) return memo[e];
    let i: number;
    if (c.kind === 'bytes') {
      const s = c.start[e];
      i = c.end[e] === s ? -1 : table.intern(c.buf, s, c.end[e]);
    } else i = intId(c.exact?.get(e) ?? c.value[e], vocab, ints);
    if (e < c.nDict && i >= 0) memo[e] = i;
    return i;
  }

  /** Every other row: nulls are errors in id columns and absent values elsewhere; the rest as text. */
  private slow(u: unknown, it: unknown, dv: unknown, bv: unknown, wv: unknown, rv: unknown, tv: unknown, row: number): void {
    const r = this.r;
    const names = this.names;
    const file = this.file;
    // Strings arrive as bytes: decode them (invalid UTF-8 is an error, as in a CSV).
    const str = (k: CanonicalColumn, v: unknown): unknown => {
      if (!(v instanceof Uint8Array)) return v;
      if (!isUtf8(v)) throw new DataError({ file, line: row, column: names[k] }, `invalid UTF-8 in column ${quoteInput(names[k] ?? k)}: Parquet strings must be UTF-8 (distinct ids would otherwise merge)`);
      return decodeBytes(v, 0, v.length);
    };
    r.guard(() => {
      [u, it, dv, bv, wv, rv, tv] = [str('user', u), str('item', it), str('domain', dv), str('behavior', bv), str('weight', wv), str('rating', rv), str('timestamp', tv)];
      for (const [k, v] of [['user', u], ['item', it], ['domain', dv]] as const) {
        if ((v === null || v === undefined) && names[k] !== undefined) throw new DataError({ file, line: row, column: names[k] }, `null ${k === 'domain' ? 'domain' : `${k} id`}`);
      }
      const text = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
      r.addRow(String(u), String(it), text(dv), text(bv), text(wv), text(rv), typeof tv === 'string' ? tv : text(tv), row, (k) => names[k], file);
      if (typeof bv === 'string' && bv !== '') {
        const key = bv.toLowerCase();
        const index = r.vocab.behaviors.get(key);
        const bytes = Buffer.from(bv);
        if (index >= 0 && index < NO_BEHAVIOR) this.behaviorCache.set(bytes, 0, bytes.length, { index, weight: r.weights.get(key)! });
      }
    });
  }
}

/** `old` if it holds `n` entries, else a new array; all entries -1 (not yet resolved). */
function memo(old: Int32Array, n: number): Int32Array {
  const m = old.length >= n ? old : new Int32Array(n);
  m.fill(-1, 0, n);
  return m;
}

/** The decimal text of integer entry e. */
function intText(c: PageColumn, e: number): string {
  return String(c.exact?.get(e) ?? c.value[e]);
}

/** The index of an integer id, interned as its decimal text. */
function intId(v: number | bigint, vocab: Vocabulary, ints: Map<number | bigint, number>): number {
  let i = ints.get(v);
  if (i === undefined) ints.set(v, (i = vocab.intern(String(v))));
  return i;
}

/** Row k's value as hyparquet gives it (bytes, a number, a bigint beyond 2^53, or null), for the slow path. */
function rawAt(c: PageColumn | undefined, k: number): unknown {
  if (c === undefined) return undefined;
  if (c.kind === 'raw') return c.raw[k];
  const e = c.code[k];
  if (e < 0) return null;
  if (c.kind === 'bytes') return c.buf.slice(c.start[e], c.end[e]);
  return c.exact?.get(e) ?? c.value[e];
}

/** A weight or rating for the slow path: an INT64 as a number. */
function rawNumber(c: PageColumn | undefined, k: number): unknown {
  const v = rawAt(c, k);
  return typeof v === 'bigint' ? Number(v) : v;
}
