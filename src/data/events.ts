/**
 * Events as columns of typed arrays: one slot per row, never one object per row. 10M rows take
 * about 26 bytes each (user u32, item u32, domain u16, behaviour u8, weight f32, rating f32,
 * timestamp f64).
 */
import type { Vocabularies } from './vocab.js';

/** Sentinel behaviour index for rows without a behaviour column. */
export const NO_BEHAVIOR = 255;

/** Columnar events sharing one set of vocabularies. */
export interface EventTable {
  /** Vocabularies the indices below refer to. */
  readonly vocab: Vocabularies;
  /** Number of rows. */
  readonly length: number;
  /** User index per row (into `vocab.users`). */
  readonly user: Uint32Array;
  /** Item index per row (into `vocab.items(domain[row])`). */
  readonly item: Uint32Array;
  /** Domain index per row (into `vocab.domains`). */
  readonly domain: Uint16Array;
  /** Behaviour index per row (into `vocab.behaviors`), or `NO_BEHAVIOR`. */
  readonly behavior: Uint8Array;
  /** Interaction weight per row (behaviour weight or explicit weight, after time decay). */
  readonly weight: Float32Array;
  /** Explicit rating per row, NaN when absent. */
  readonly rating: Float32Array;
  /** Unix seconds per row, NaN when absent. */
  readonly timestamp: Float64Array;
  /** 1-based source line of each row (for error messages), 0 when not from a file. */
  readonly line: Uint32Array;
  /** Where the rows came from (a path or a label). */
  readonly source: string;
}

/** Append-only column builder that grows by doubling; `finish` trims to length. */
export class EventTableBuilder {
  private cap: number;
  length = 0;
  user: Uint32Array;
  item: Uint32Array;
  domain: Uint16Array;
  behavior: Uint8Array;
  weight: Float32Array;
  rating: Float32Array;
  timestamp: Float64Array;
  line: Uint32Array;

  constructor(
    readonly vocab: Vocabularies,
    readonly source: string,
    capacity = 1024,
  ) {
    this.cap = Math.max(16, capacity);
    this.user = new Uint32Array(this.cap);
    this.item = new Uint32Array(this.cap);
    this.domain = new Uint16Array(this.cap);
    this.behavior = new Uint8Array(this.cap);
    this.weight = new Float32Array(this.cap);
    this.rating = new Float32Array(this.cap);
    this.timestamp = new Float64Array(this.cap);
    this.line = new Uint32Array(this.cap);
  }

  /** Append one row. */
  push(user: number, item: number, domain: number, behavior: number, weight: number, rating: number, ts: number, line: number): void {
    if (this.length === this.cap) this.grow();
    const i = this.length++;
    this.user[i] = user;
    this.item[i] = item;
    this.domain[i] = domain;
    this.behavior[i] = behavior;
    this.weight[i] = weight;
    this.rating[i] = rating;
    this.timestamp[i] = ts;
    this.line[i] = line;
  }

  /** Make room for `n` rows in all (an estimate from the file size saves the doublings). */
  reserve(n: number): void {
    if (n > this.cap) this.grow(Math.ceil(n));
  }

  private grow(to = this.cap * 2): void {
    this.cap = to;
    const g = <T extends { length: number; set(a: ArrayLike<number>): void }>(a: T, make: (n: number) => T): T => {
      const b = make(this.cap);
      b.set(a as unknown as ArrayLike<number>);
      return b;
    };
    this.user = g(this.user, (n) => new Uint32Array(n));
    this.item = g(this.item, (n) => new Uint32Array(n));
    this.domain = g(this.domain, (n) => new Uint16Array(n));
    this.behavior = g(this.behavior, (n) => new Uint8Array(n));
    this.weight = g(this.weight, (n) => new Float32Array(n));
    this.rating = g(this.rating, (n) => new Float32Array(n));
    this.timestamp = g(this.timestamp, (n) => new Float64Array(n));
    this.line = g(this.line, (n) => new Uint32Array(n));
  }

  /**
   * The finished table (arrays trimmed to length). When the columns are at least 90% full (a
   * capacity reserved from the file size) they are handed over as views, not copied: a copy of
   * every column would cost time and, for a moment, twice their memory. Do not push after it.
   */
  finish(): EventTable {
    const n = this.length;
    const view = n >= this.cap * 0.9;
    const trim = <T extends Uint32Array | Uint16Array | Uint8Array | Float32Array | Float64Array>(a: T): T => (view ? a.subarray(0, n) : a.slice(0, n)) as T;
    return {
      vocab: this.vocab,
      source: this.source,
      length: n,
      user: trim(this.user),
      item: trim(this.item),
      domain: trim(this.domain),
      behavior: trim(this.behavior),
      weight: trim(this.weight),
      rating: trim(this.rating),
      timestamp: trim(this.timestamp),
      line: trim(this.line),
    };
  }
}

/** The rows of `t` whose index is listed in `rows` (in that order), as a new table. */
export function selectRows(t: EventTable, rows: ArrayLike<number>, source = t.source): EventTable {
  const n = rows.length;
  const pick = <T extends Uint32Array | Uint16Array | Uint8Array | Float32Array | Float64Array>(a: T): T => {
    const out = new (a.constructor as new (n: number) => T)(n);
    for (let i = 0; i < n; i++) out[i] = a[rows[i]];
    return out;
  };
  return {
    vocab: t.vocab,
    source,
    length: n,
    user: pick(t.user),
    item: pick(t.item),
    domain: pick(t.domain),
    behavior: pick(t.behavior),
    weight: pick(t.weight),
    rating: pick(t.rating),
    timestamp: pick(t.timestamp),
    line: pick(t.line),
  };
}

/** Indices of the rows of `t` whose (domain, user, item) is not in `held` (domain -> user -> items), in order. */
export function keptRows(t: EventTable, held: ReadonlyMap<number, ReadonlyMap<number, ReadonlySet<number>>>): Uint32Array {
  const keep = new Uint32Array(t.length);
  let n = 0;
  for (let r = 0; r < t.length; r++) {
    const items = held.get(t.domain[r])?.get(t.user[r]);
    if (!items || !items.has(t.item[r])) keep[n++] = r;
  }
  return keep.slice(0, n);
}

/** Row indices where `keep(row)` is true. */
export function filterRows(t: EventTable, keep: (row: number) => boolean): Uint32Array {
  const out = new Uint32Array(t.length);
  let m = 0;
  for (let i = 0; i < t.length; i++) if (keep(i)) out[m++] = i;
  return out.slice(0, m);
}

/** Concatenate tables that share one `Vocabularies`. @throws {RangeError} if they do not. */
export function concatTables(tables: readonly EventTable[], source: string): EventTable {
  if (tables.length === 0) throw new RangeError('concatTables needs at least one table');
  const vocab = tables[0].vocab;
  for (const t of tables) if (t.vocab !== vocab) throw new RangeError('concatTables: tables must share one Vocabularies');
  const b = new EventTableBuilder(vocab, source, tables.reduce((s, t) => s + t.length, 0));
  for (const t of tables) {
    for (let i = 0; i < t.length; i++) {
      b.push(t.user[i], t.item[i], t.domain[i], t.behavior[i], t.weight[i], t.rating[i], t.timestamp[i], t.line[i]);
    }
  }
  return b.finish();
}
