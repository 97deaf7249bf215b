/**
 * The row reader behind `loadEvents`: turns CSV/TSV/JSON Lines text (and values from Parquet) into
 * rows of an `EventTableBuilder`, checking every field; a bad row is a `DataError` naming file,
 * line and column, unless the caller asked for `skipInvalid` (then it is counted in `skipped`).
 */
import { DataError, escapeInput, quoteInput } from '../errors.js';
import { EventTableBuilder, NO_BEHAVIOR } from './events.js';
import { parseTimestamp, splitFields } from './lines.js';
import type { LoadedEvents, ResolvedLoadOptions } from './read.js';
import { Vocabularies } from './vocab.js';
import { decayFactor, resolveBehaviorWeights } from './weights.js';

/** The canonical columns (README "Input format"). Other columns are ignored. */
export const CANONICAL_COLUMNS = ['user', 'item', 'domain', 'behavior', 'timestamp', 'rating', 'weight'] as const;
/** One canonical column name. */
export type CanonicalColumn = (typeof CANONICAL_COLUMNS)[number];

/** Parse state shared by the CSV/TSV and JSONL paths. */
interface RowSink {
  /** Consume one data line (without its line terminator). */
  line(text: string, lineNo: number): void;
}

/** Turns lines into rows of an `EventTableBuilder`. */
export class EventReader implements RowSink {
  /** The rows read so far (the fast paths append to it directly). */
  readonly b: EventTableBuilder;
  readonly vocab: Vocabularies;
  readonly weights: Map<string, number>;
  readonly delim: string;
  private readonly usersBefore: number;
  private readonly itemsBefore: number[] = [];
  /** Index of `options.domain` once interned, else -1. */
  defaultDomainIndex = -1;
  /** Field position (0-based) of each canonical column, -1 when absent. */
  col: Record<CanonicalColumn, number> | undefined;
  /** Field position of the domain column (`options.domainColumn`, default `domain`), -1 when absent. */
  domainCol = -1;
  nFields = 0;
  private skipped = 0;
  private firstSkipped: DataError | undefined;
  /** A non-blank line (or a Parquet row) was seen. */
  sawLine = false;

  constructor(
    readonly file: string,
    private readonly format: 'csv' | 'tsv' | 'jsonl' | 'parquet',
    readonly opts: ResolvedLoadOptions,
  ) {
    this.vocab = opts.vocab ?? new Vocabularies();
    this.b = new EventTableBuilder(this.vocab, file);
    this.weights = resolveBehaviorWeights(opts.behaviorWeights);
    this.delim = format === 'tsv' ? '\t' : ',';
    this.usersBefore = this.vocab.users.size;
    for (let d = 0; d < this.vocab.domains.size; d++) this.itemsBefore[d] = this.vocab.items(d).size;
    if (opts.columns) this.setHeader(opts.columns.slice(), 0);
  }

  line(text: string, lineNo: number): void {
    if (text.trim() === '') return; // blank lines carry nothing
    this.sawLine = true;
    if (this.format !== 'jsonl' && this.col === undefined) {
      this.setHeader(splitFields(text, this.delim, { file: this.file, line: lineNo }), lineNo);
      return;
    }
    this.guard(() => (this.format === 'jsonl' ? this.jsonRow(text, lineNo) : this.delimitedRow(text, lineNo)));
  }

  /** Run `addOne` (which adds a row or throws); with `skipInvalid`, a `DataError` counts as a skipped row. */
  guard(addOne: () => void): void {
    try {
      addOne();
    } catch (e) {
      if (!(e instanceof DataError) || !this.opts.skipInvalid) throw e;
      this.skipped++;
      this.firstSkipped ??= e;
    }
  }

  /** Map the header's (or a Parquet schema's) column names to the canonical columns. @throws {DataError} */
  setHeader(names: string[], lineNo: number): void {
    const col = Object.create(null) as Record<CanonicalColumn, number>;
    for (const c of CANONICAL_COLUMNS) col[c] = -1;
    names.forEach((raw, i) => {
      const name = raw.trim().toLowerCase();
      if ((CANONICAL_COLUMNS as readonly string[]).includes(name)) {
        const c = name as CanonicalColumn;
        if (col[c] >= 0) throw new DataError({ file: this.file, line: lineNo || undefined, column: i + 1 }, `duplicate column "${c}"`);
        col[c] = i;
      }
    });
    const domainName = (this.opts.domainColumn ?? 'domain').trim().toLowerCase();
    this.domainCol = names.findIndex((n) => n.trim().toLowerCase() === domainName);
    if (this.domainCol < 0 && this.opts.domainColumn !== undefined) {
      throw new DataError(
        { file: this.file, line: lineNo || undefined },
        `missing domain column ${quoteInput(this.opts.domainColumn)} (header: ${headerExcerpt(names, this.delim)})`,
      );
    }
    for (const req of ['user', 'item'] as const) {
      if (col[req] < 0) {
        throw new DataError(
          { file: this.file, line: lineNo || undefined },
          `missing required column "${req}" (header: ${headerExcerpt(names, this.delim)})`,
        );
      }
    }
    this.col = col;
    this.nFields = names.length;
  }

  private delimitedRow(text: string, lineNo: number): void {
    const where = { file: this.file, line: lineNo };
    const f = splitFields(text, this.delim, where);
    if (f.length !== this.nFields) {
      throw new DataError({ ...where, column: Math.min(f.length, this.nFields) + 1 }, `expected ${this.nFields} fields, found ${f.length}`);
    }
    const c = this.col!;
    const get = (k: CanonicalColumn): string | undefined => (c[k] >= 0 ? f[c[k]] : undefined);
    const dc = this.domainCol;
    this.addRow(get('user')!, get('item')!, dc >= 0 ? f[dc] : undefined, get('behavior'), get('weight'), get('rating'), get('timestamp'), lineNo, (k) => {
      const i = k === 'domain' ? dc : c[k];
      return i >= 0 ? i + 1 : undefined; // a column the file lacks has no position
    });
  }

  private jsonRow(text: string, lineNo: number): void {
    const where = { file: this.file, line: lineNo };
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new DataError({ ...where, column: 1 }, `invalid JSON (${escapeInput((e as Error).message, 100)})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new DataError({ ...where, column: 1 }, 'expected a JSON object per line');
    const o = obj as Record<string, unknown>;
    // Own keys only: a missing "constructor" or "__proto__" key must not find Object.prototype's.
    const get = (k: string, id = false): string | undefined => {
      const v = Object.hasOwn(o, k) ? o[k] : undefined;
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'string') return v;
      if (typeof v === 'number') {
        if (id && !Number.isSafeInteger(v)) {
          throw new DataError(
            { ...where, column: k },
            `numeric id ${String(v)} in ${quoteInput(k)} is not an integer of at most 2^53 - 1, so distinct ids could merge: quote ids as strings (e.g. "${k}": "12345678901234567890")`,
          );
        }
        return String(v);
      }
      if (typeof v === 'boolean') return String(v);
      throw new DataError({ ...where, column: k }, `${quoteInput(k)} must be a string or a number (got ${Array.isArray(v) ? 'array' : typeof v})`);
    };
    const user = get('user', true);
    const item = get('item', true);
    if (user === undefined) throw new DataError({ ...where, column: 'user' }, 'missing required key "user"');
    if (item === undefined) throw new DataError({ ...where, column: 'item' }, 'missing required key "item"');
    const dk = this.opts.domainColumn ?? 'domain';
    const domain = get(dk, true);
    if (this.opts.domainColumn !== undefined && domain === undefined) throw new DataError({ ...where, column: dk }, `missing domain key ${quoteInput(dk)}`);
    this.addRow(user, item, domain, get('behavior'), get('weight'), get('rating'), get('timestamp'), lineNo, (k) => (k === 'domain' ? dk : k));
  }

  /** Check one row's fields (as text) and add it; `file` names a part file in messages. @throws {DataError} */
  addRow(
    user: string,
    item: string,
    domain: string | undefined,
    behavior: string | undefined,
    weightText: string | undefined,
    ratingText: string | undefined,
    tsText: string | undefined,
    lineNo: number,
    colOf: (k: CanonicalColumn) => number | string | undefined,
    file = this.file,
  ): void {
    const err = (k: CanonicalColumn, msg: string) => new DataError({ file, line: lineNo, column: colOf(k) }, msg);
    if (user === '') throw err('user', 'empty user id');
    if (item === '') throw err('item', 'empty item id');
    let d: number;
    if (domain === undefined) d = this.defaultDomain();
    else {
      if (domain === '') throw err('domain', 'empty domain');
      const known = this.vocab.domains.get(domain);
      if (known >= 0) d = known;
      else {
        if (this.vocab.domains.size >= 65535) throw err('domain', 'more than 65535 domains');
        d = this.vocab.domains.intern(domain);
        this.itemsBefore[d] = 0;
      }
    }
    let weight = 1;
    let bIndex = NO_BEHAVIOR;
    if (behavior !== undefined && behavior !== '') {
      const key = behavior.toLowerCase();
      const w = this.weights.get(key);
      if (w === undefined) {
        throw err('behavior', `unknown behaviour ${quoteInput(behavior)} (known: ${escapeInput([...this.weights.keys()].join(', '), 200)}; add it with behaviorWeights)`);
      }
      weight = w;
      bIndex = this.vocab.behaviors.intern(key);
      if (bIndex >= NO_BEHAVIOR) throw err('behavior', `more than ${NO_BEHAVIOR - 1} behaviour types`);
    }
    if (weightText !== undefined && weightText !== '') {
      const w = Number(weightText);
      if (!Number.isFinite(w) || w <= 0 || weightText.trim() === '') {
        throw err('weight', `malformed number ${quoteInput(weightText)} in column "weight" (expected a positive finite number)`);
      }
      const w32 = Math.fround(w);
      if (w32 === Infinity) throw err('weight', `weight ${quoteInput(weightText)} is too large: weights are stored as float32 (at most ${FLOAT32_MAX}); rescale the weights`);
      if (w32 === 0) throw err('weight', `weight ${quoteInput(weightText)} is too small: it would be stored as 0 in float32 (at least ${FLOAT32_MIN}); rescale the weights`);
      weight = w;
    }
    let rating = NaN;
    if (ratingText !== undefined && ratingText !== '') {
      rating = Number(ratingText);
      if (!Number.isFinite(rating) || ratingText.trim() === '') {
        throw err('rating', `malformed number ${quoteInput(ratingText)} in column "rating" (expected a finite number)`);
      }
      if (!Number.isFinite(Math.fround(rating))) {
        throw err('rating', `rating ${quoteInput(ratingText)} is too large: ratings are stored as float32 (at most ${FLOAT32_MAX} in absolute value)`);
      }
    }
    let ts = NaN;
    if (tsText !== undefined && tsText !== '') {
      ts = parseTimestamp(tsText);
      if (!Number.isFinite(ts)) {
        throw err('timestamp', `malformed timestamp ${quoteInput(tsText)} (expected unix seconds or ISO-8601)`);
      }
    }
    if (this.opts.halfLifeDays !== undefined && Number.isNaN(ts)) {
      throw err('timestamp', tsText === undefined ? 'halfLifeDays needs a timestamp on every row, and the file has no timestamp column' : 'halfLifeDays needs a timestamp on every row');
    }
    const u = this.vocab.users.intern(user);
    const i = this.vocab.items(d).intern(item);
    this.b.push(u, i, d, bIndex, weight, rating, ts, lineNo);
  }

  /** The index of `options.domain`, interned on first use (only files without a domain column need it). */
  defaultDomain(): number {
    if (this.defaultDomainIndex < 0) {
      const known = this.vocab.domains.get(this.opts.domain);
      this.defaultDomainIndex = known >= 0 ? known : this.vocab.domains.intern(this.opts.domain);
      if (known < 0) this.itemsBefore[this.defaultDomainIndex] = 0;
    }
    return this.defaultDomainIndex;
  }

  finish(): LoadedEvents {
    if (!this.sawLine) throw new DataError({ file: this.file }, 'empty file (expected a header row and at least one data row)');
    if (this.b.length === 0) {
      throw new DataError(
        { file: this.file },
        this.skipped > 0 ? `no valid rows (${this.skipped} skipped; first: ${this.firstSkipped!.message})` : 'no data rows after the header',
      );
    }
    this.renumberNewIds();
    if (this.opts.halfLifeDays !== undefined) this.applyDecay(this.opts.halfLifeDays);
    const t = this.b.finish();
    return { ...t, skipped: this.skipped, firstSkipped: this.firstSkipped };
  }

  /** Give the ids this file added indices in natural order, so row order does not matter. */
  private renumberNewIds(): void {
    const b = this.b;
    const up = this.vocab.users.sortFrom(this.usersBefore);
    if (up) {
      const from = this.usersBefore;
      for (let r = 0; r < b.length; r++) if (b.user[r] >= from) b.user[r] = up[b.user[r] - from];
    }
    for (let d = 0; d < this.vocab.domains.size; d++) {
      const from = this.itemsBefore[d] ?? this.vocab.items(d).size;
      const ip = this.vocab.items(d).sortFrom(from);
      if (!ip) continue;
      for (let r = 0; r < b.length; r++) if (b.domain[r] === d && b.item[r] >= from) b.item[r] = ip[b.item[r] - from];
    }
  }

  /**
   * Multiply each weight by its decay factor. A row whose decayed weight would be 0 in float32 is a
   * `DataError` naming the row and the reference time (and, when that is the file's latest
   * timestamp, its line): one far-future outlier would otherwise zero every other weight silently.
   */
  private applyDecay(halfLifeDays: number): void {
    const b = this.b;
    let ref = this.opts.now;
    let refLine = 0;
    if (ref === undefined) {
      ref = -Infinity;
      for (let r = 0; r < b.length; r++) {
        if (b.timestamp[r] > ref) {
          ref = b.timestamp[r];
          refLine = b.line[r];
        }
      }
    }
    for (let r = 0; r < b.length; r++) {
      b.weight[r] *= decayFactor(ref - b.timestamp[r], halfLifeDays);
      if (b.weight[r] === 0) {
        const days = (ref - b.timestamp[r]) / 86400;
        const refText = `${isoOrSeconds(ref)}${refLine > 0 ? ` (the latest timestamp in the file, line ${refLine})` : ' (options.now)'}`;
        throw new DataError(
          { file: this.file, line: b.line[r], column: this.timestampColumn() },
          `with halfLifeDays ${halfLifeDays}, this row's weight decays to 0: its timestamp ${isoOrSeconds(b.timestamp[r])} is ${days.toPrecision(4)} days before the reference time ${refText}; ` +
            'check the timestamps (a far-future one moves the reference time), pass now, or use a longer halfLifeDays',
        );
      }
    }
  }

  /** Position of the timestamp column for messages: field number (CSV/TSV) or key (JSON Lines). */
  private timestampColumn(): number | string | undefined {
    if (this.format === 'jsonl') return 'timestamp';
    const i = this.col?.timestamp ?? -1;
    return i >= 0 ? i + 1 : undefined;
  }
}

/** Largest finite float32 (weights and ratings are stored as float32). */
const FLOAT32_MAX = 3.4028234663852886e38;
/** Smallest positive float32 (a subnormal). */
const FLOAT32_MIN = 1.401298464324817e-45;

/** A timestamp for messages: ISO-8601 when representable, else unix seconds. */
function isoOrSeconds(ts: number): string {
  const d = new Date(ts * 1000);
  return Number.isNaN(d.getTime()) ? `${ts} s` : d.toISOString();
}

/** The header row for messages: joined, control characters escaped, at most 120 characters. */
function headerExcerpt(names: readonly string[], delim: string): string {
  let s = '';
  for (let i = 0; i < names.length && s.length <= 120; i++) s += (i === 0 ? '' : delim) + names[i]; // a 50 MB header is never joined whole
  return escapeInput(s, 120);
}
