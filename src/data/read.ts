/**
 * Streaming readers for events: CSV and TSV with a header row, JSON Lines, and MovieLens `u.data`.
 * Rows go straight into typed-array columns; a bad row is a `DataError` naming file, line and
 * column, unless the caller asked for `skipInvalid` (then it is counted in `skipped`).
 */
import { basename } from 'node:path';
import { DataError, escapeInput, OptionRangeError, OptionTypeError, quoteInput } from '../errors.js';
import { EventTableBuilder, NO_BEHAVIOR, type EventTable } from './events.js';
import { lineTooLong, MAX_LINE_BYTES, overLimit, parseTimestamp, splitFields, streamLines, stripLine } from './lines.js';
import { Vocabularies } from './vocab.js';
import { decayFactor, resolveBehaviorWeights } from './weights.js';

/** The canonical columns (README "Input format"). Other columns are ignored. */
export const CANONICAL_COLUMNS = ['user', 'item', 'domain', 'behavior', 'timestamp', 'rating', 'weight'] as const;
/** One canonical column name. */
export type CanonicalColumn = (typeof CANONICAL_COLUMNS)[number];

/** Options of `loadEvents`. */
export interface LoadOptions {
  /** File format. @default 'auto' (by extension: .tsv/.tab -> tsv, .jsonl/.ndjson -> jsonl, else csv) */
  format?: 'auto' | 'csv' | 'tsv' | 'jsonl';
  /** Domain of rows when the file has no domain column. @default 'default' */
  domain?: string;
  /**
   * The column that names each row's domain: any column can stand for a scene or a channel (for
   * example `behavior`, or a `channel` column the file has). @default 'domain'
   */
  domainColumn?: string;
  /** Column names for a file without a header row (CSV/TSV only). @default undefined (the first row is the header) */
  columns?: readonly string[];
  /** Behaviour name -> weight (an object or a `Map`), merged over `DEFAULT_BEHAVIOR_WEIGHTS`. */
  behaviorWeights?: Readonly<Record<string, number>> | ReadonlyMap<string, number>;
  /** Half-life of time decay in days; each weight is multiplied by 2^(-age / half-life). @default undefined (no decay) */
  halfLifeDays?: number;
  /** Reference time for decay, unix seconds. @default the latest timestamp in the file */
  now?: number;
  /** Add to these vocabularies (e.g. load a test file against the training file's ids). @default new vocabularies */
  vocab?: Vocabularies;
  /** Skip malformed rows and count them instead of failing. @default false */
  skipInvalid?: boolean;
  /** Label used in error messages. @default the file's base name */
  label?: string;
}

/** Events read from one file. */
export interface LoadedEvents extends EventTable {
  /** Rows skipped because they were malformed (only with `skipInvalid`). */
  readonly skipped: number;
  /** The first skipped row's error, for the report. */
  readonly firstSkipped?: DataError;
}

/** Parse state shared by the CSV/TSV and JSONL paths. */
interface RowSink {
  /** Consume one data line (without its line terminator). */
  line(text: string, lineNo: number): void;
}

/**
 * Read an events file into columns. Ids new to `options.vocab` are numbered in natural id order.
 * @param path a CSV, TSV or JSON Lines file.
 * @throws {DataError} for an empty file, a missing required column, or a malformed row (file:line:column).
 * @throws {TypeError|RangeError} for invalid options.
 * @example
 * const train = await loadEvents('train.csv');
 * const test = await loadEvents('test.csv', { vocab: train.vocab });
 */
export async function loadEvents(path: string, options: LoadOptions = {}): Promise<LoadedEvents> {
  const opts = validateLoadOptions(options);
  const label = opts.label ?? basename(path);
  const format = opts.format === 'auto' ? formatFromPath(path) : opts.format;
  const reader = new EventReader(label, format, opts);
  await streamLines(path, label, (text, lineNo) => reader.line(text, lineNo));
  return reader.finish();
}

/**
 * Read MovieLens 100K `u.data` (or `u1.base`, `ua.test`, ...): tab-separated
 * `user item rating timestamp`, no header. Ratings are kept for MAE/RMSE; each row counts as one
 * implicit interaction (weight 1).
 * @throws {DataError} for malformed rows.
 */
export async function loadMovieLens(path: string, options: Omit<LoadOptions, 'format' | 'columns'> = {}): Promise<LoadedEvents> {
  return loadEvents(path, { ...options, format: 'tsv', columns: ['user', 'item', 'rating', 'timestamp'] });
}

/** Read events from an in-memory string (same rules as `loadEvents`). */
export function parseEvents(text: string, options: LoadOptions = {}): LoadedEvents {
  const opts = validateLoadOptions(options);
  const label = opts.label ?? '<memory>';
  const format = opts.format === 'auto' ? 'csv' : opts.format;
  const reader = new EventReader(label, format, opts);
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((l, i) => {
    if (l.length > MAX_LINE_BYTES / 3 && overLimit(l)) throw lineTooLong(label, i + 1);
    reader.line(stripLine(l, i === 0), i + 1);
  });
  return reader.finish();
}

function formatFromPath(path: string): 'csv' | 'tsv' | 'jsonl' {
  const p = path.toLowerCase();
  if (p.endsWith('.tsv') || p.endsWith('.tab') || p.endsWith('.data') || p.endsWith('.base') || p.endsWith('.test')) return 'tsv';
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson') || p.endsWith('.json')) return 'jsonl';
  return 'csv';
}

type ResolvedLoadOptions = Required<Pick<LoadOptions, 'format' | 'domain' | 'skipInvalid'>> & LoadOptions;

function validateLoadOptions(o: LoadOptions): ResolvedLoadOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  const format = o.format ?? 'auto';
  if (!['auto', 'csv', 'tsv', 'jsonl'].includes(format)) {
    throw new OptionRangeError('format', `options.format must be one of auto, csv, tsv, jsonl (got ${JSON.stringify(format)})`);
  }
  const domain = o.domain ?? 'default';
  if (typeof domain !== 'string' || domain === '') throw new OptionTypeError('domain', `options.domain must be a non-empty string (got ${JSON.stringify(domain)})`);
  if (o.halfLifeDays !== undefined && !(typeof o.halfLifeDays === 'number' && Number.isFinite(o.halfLifeDays) && o.halfLifeDays > 0)) {
    throw new OptionRangeError('halfLifeDays', `options.halfLifeDays must be a positive number of days (got ${String(o.halfLifeDays)})`);
  }
  if (o.now !== undefined && !(typeof o.now === 'number' && Number.isFinite(o.now))) {
    throw new OptionRangeError('now', `options.now must be unix seconds (got ${String(o.now)})`);
  }
  if (o.columns !== undefined && (!Array.isArray(o.columns) || o.columns.some((c) => typeof c !== 'string'))) {
    throw new OptionTypeError('columns', 'options.columns must be an array of column names');
  }
  if (o.vocab !== undefined && !(o.vocab instanceof Vocabularies)) throw new OptionTypeError('vocab', 'options.vocab must be a Vocabularies instance');
  if (o.domainColumn !== undefined && (typeof o.domainColumn !== 'string' || o.domainColumn.trim() === '')) {
    throw new OptionTypeError('domainColumn', `options.domainColumn must be a non-empty column name (got ${JSON.stringify(o.domainColumn)})`);
  }
  return { ...o, format, domain, skipInvalid: o.skipInvalid ?? false };
}

/** Turns lines into rows of an `EventTableBuilder`. */
class EventReader implements RowSink {
  private readonly b: EventTableBuilder;
  private readonly vocab: Vocabularies;
  private readonly weights: Map<string, number>;
  private readonly delim: string;
  private readonly usersBefore: number;
  private readonly itemsBefore: number[] = [];
  private defaultDomainIndex = -1;
  /** Field position (0-based) of each canonical column, -1 when absent. */
  private col: Record<CanonicalColumn, number> | undefined;
  /** Field position of the domain column (`options.domainColumn`, default `domain`), -1 when absent. */
  private domainCol = -1;
  private nFields = 0;
  private skipped = 0;
  private firstSkipped: DataError | undefined;
  private sawLine = false;

  constructor(
    private readonly file: string,
    private readonly format: 'csv' | 'tsv' | 'jsonl',
    private readonly opts: ResolvedLoadOptions,
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
    try {
      if (this.format === 'jsonl') this.jsonRow(text, lineNo);
      else this.delimitedRow(text, lineNo);
    } catch (e) {
      if (!(e instanceof DataError) || !this.opts.skipInvalid) throw e;
      this.skipped++;
      this.firstSkipped ??= e;
    }
  }

  private setHeader(names: string[], lineNo: number): void {
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

  private addRow(
    user: string,
    item: string,
    domain: string | undefined,
    behavior: string | undefined,
    weightText: string | undefined,
    ratingText: string | undefined,
    tsText: string | undefined,
    lineNo: number,
    colOf: (k: CanonicalColumn) => number | string | undefined,
  ): void {
    const err = (k: CanonicalColumn, msg: string) => new DataError({ file: this.file, line: lineNo, column: colOf(k) }, msg);
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
  private defaultDomain(): number {
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
