/**
 * Streaming readers for events: CSV and TSV with a header row (plain or gzip), JSON Lines, Parquet
 * files and directories of Parquet part files, and MovieLens `u.data`. Rows go straight into
 * typed-array columns; a bad row is a `DataError` naming file, line (or row) and column, unless the
 * caller asked for `skipInvalid` (then it is counted in `skipped`).
 */
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { DataError } from '../errors.js';
import { OptionRangeError, OptionTypeError } from '../errors.js';
import type { EventTable } from './events.js';
import { DelimitedFastPath } from './fastcsv.js';
import { lineTooLong, MAX_LINE_BYTES, overLimit, streamBlocks, streamLines, stripLine } from './lines.js';
import { readParquet } from './parquet.js';
import { EventReader } from './reader.js';
import { Vocabularies } from './vocab.js';

export { CANONICAL_COLUMNS, type CanonicalColumn } from './reader.js';

/** Options of `loadEvents`. */
export interface LoadOptions {
  /**
   * File format. @default 'auto': a directory or a `.parquet` file (or one that starts with the
   * Parquet magic bytes) -> parquet; else by extension, after dropping `.gz`: .tsv/.tab -> tsv,
   * .jsonl/.ndjson -> jsonl, else csv. Gzip data (a `.gz` name or the gzip magic bytes) is
   * decompressed as it streams, whatever the format (not for Parquet, which compresses inside).
   */
  format?: 'auto' | 'csv' | 'tsv' | 'jsonl' | 'parquet';
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
  const format = opts.format === 'auto' ? await detectFormat(path) : opts.format;
  const reader = new EventReader(label, format, opts);
  if (format === 'parquet') await readParquet(path, label, reader);
  else if (format === 'jsonl') await streamLines(path, label, (text, lineNo) => reader.line(text, lineNo));
  else {
    const size = (await stat(path).catch(() => undefined))?.size ?? 0;
    await streamBlocks(path, label, new DelimitedFastPath(reader, label, size)); // gzip: too low an estimate, harmless
  }
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
  if (format === 'parquet') throw new OptionRangeError('format', 'options.format "parquet" needs a file: use loadEvents');
  const reader = new EventReader(label, format, opts);
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((l, i) => {
    if (l.length > MAX_LINE_BYTES / 3 && overLimit(l)) throw lineTooLong(label, i + 1);
    reader.line(stripLine(l, i === 0), i + 1);
  });
  return reader.finish();
}

/** The format of `path` for `format: 'auto'` (see `LoadOptions.format`). */
async function detectFormat(path: string): Promise<'csv' | 'tsv' | 'jsonl' | 'parquet'> {
  const p = path.toLowerCase();
  if (p.endsWith('.parquet') || p.endsWith('.pq')) return 'parquet';
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) return 'parquet';
  if (info?.isFile() && info.size >= 12) {
    const fh = await open(path, 'r');
    try {
      const head = Buffer.alloc(4);
      await fh.read(head, 0, 4, 0);
      if (head.toString('latin1') === 'PAR1') return 'parquet';
    } finally {
      await fh.close();
    }
  }
  return formatFromPath(p.endsWith('.gz') ? p.slice(0, -3) : p);
}

function formatFromPath(path: string): 'csv' | 'tsv' | 'jsonl' {
  const p = path.toLowerCase();
  if (p.endsWith('.tsv') || p.endsWith('.tab') || p.endsWith('.data') || p.endsWith('.base') || p.endsWith('.test')) return 'tsv';
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson') || p.endsWith('.json')) return 'jsonl';
  return 'csv';
}

/** Options after validation (defaults filled in). */
export type ResolvedLoadOptions = Required<Pick<LoadOptions, 'format' | 'domain' | 'skipInvalid'>> & LoadOptions;

function validateLoadOptions(o: LoadOptions): ResolvedLoadOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  const format = o.format ?? 'auto';
  if (!['auto', 'csv', 'tsv', 'jsonl', 'parquet'].includes(format)) {
    throw new OptionRangeError('format', `options.format must be one of auto, csv, tsv, jsonl, parquet (got ${JSON.stringify(format)})`);
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

