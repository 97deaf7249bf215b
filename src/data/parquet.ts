/**
 * Parquet input for `loadEvents`, through hyparquet (pure JS; gzip, zstd, brotli and lz4 pages
 * through hyparquet-compressors, snappy built in). One file, or a directory of part files as data
 * lakes write them (`part-*.parquet`; `_SUCCESS`, `_committed_*`, hidden and `.crc` files ignored),
 * read one row group and one column at a time, so memory is bounded by the largest row group.
 *
 * Columns are matched by name like a CSV header. Ids may be strings or integers (an integer becomes
 * its decimal text, as in a CSV); timestamps may be integers or floats of unix seconds, Parquet
 * TIMESTAMP (any unit) or DATE, or strings (unix seconds or ISO-8601). Locations in messages are
 * `file:row:column`, the row counted from 1 in that file.
 */
import type { Dirent } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetMetadataAsync, parquetRead, parquetSchema, type AsyncBuffer, type FileMetaData, type SchemaElement } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DataError, escapeInput, quoteInput } from '../errors.js';
import { isUtf8 } from 'node:buffer';
import { ByteIdTable, decodeBytes, SmallNameCache } from './bytes.js';
import { NO_BEHAVIOR } from './events.js';
import { CANONICAL_COLUMNS, type CanonicalColumn, type EventReader } from './reader.js';
import { naturalCompare, type Vocabulary } from './vocab.js';

/** Timestamps and dates as unix seconds, not `Date` objects; strings kept as UTF-8 bytes (interned from bytes). */
const PARSERS = {
  stringFromBytes: (b: Uint8Array) => b,
  timestampFromMilliseconds: (v: bigint) => Number(v) / 1e3,
  timestampFromMicroseconds: (v: bigint) => Number(v) / 1e6,
  timestampFromNanoseconds: (v: bigint) => Number(v) / 1e9,
  dateFromDays: (days: number) => days * 86400,
};

/**
 * Read a Parquet file, or every part file of a directory (in natural order of their names), into
 * `reader`.
 * @throws {DataError} for a missing path, an empty directory, a file that is not Parquet or is
 *   corrupt (naming the row group and column), a missing user/item column, a column of the wrong
 *   type, and bad values (null ids, NaN, ...), at file:row:column.
 */
export async function readParquet(path: string, label: string, reader: EventReader): Promise<void> {
  const info = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new DataError({ file: label }, e.code === 'ENOENT' ? `file not found: ${path}` : `cannot read: ${e.message}`);
  });
  if (!info.isDirectory()) return readParquetFile(path, label, reader);
  for (const name of await partFiles(path, label)) await readParquetFile(join(path, name), `${label}/${name}`, reader);
}

/** The Parquet part files of a data-lake directory, in natural order. */
async function partFiles(dir: string, label: string): Promise<string[]> {
  const entries: Dirent[] = await readdir(dir, { withFileTypes: true });
  const skip = (n: string) => n.startsWith('.') || n.startsWith('_') || n.toLowerCase().endsWith('.crc');
  const parts = entries.filter((e) => e.isFile() && !skip(e.name) && /\.(parquet|pq)$/i.test(e.name)).map((e) => e.name);
  if (parts.length === 0) {
    const seen = entries.map((e) => e.name).slice(0, 10).join(', ');
    throw new DataError({ file: label }, `no Parquet part files (*.parquet) in this directory (found: ${escapeInput(seen || 'nothing', 200)})`);
  }
  return parts.sort(naturalCompare);
}

/** How one canonical column is stored: its name in the file, and what its values are. */
interface ColumnPlan {
  name: string;
  kind: 'id' | 'number' | 'time';
}

/** One Parquet file: check the schema, then each row group. */
async function readParquetFile(path: string, label: string, reader: EventReader): Promise<void> {
  const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new DataError({ file: label }, e.code === 'ENOENT' ? `file not found: ${path}` : `cannot read: ${e.message}`);
  });
  try {
    const file = await fileSlices(fh);
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(file);
    } catch (e) {
      throw new DataError({ file: label }, `not a Parquet file, or its footer is corrupt (${escapeInput(String((e as Error).message), 200)})`);
    }
    await readRowGroups(file, metadata, label, reader);
  } finally {
    await fh.close();
  }
}

/** A Parquet file as hyparquet's `AsyncBuffer`: each slice read from the open file when asked for. */
async function fileSlices(fh: FileHandle): Promise<AsyncBuffer> {
  const { size } = await fh.stat();
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const out = new Uint8Array(Math.max(0, end - start));
      for (let got = 0; got < out.length; ) {
        const { bytesRead } = await fh.read(out, got, out.length - got, start + got);
        if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${start + got}`);
        got += bytesRead;
      }
      return out.buffer;
    },
  };
}

/** Check the schema, then add the rows of each row group. */
async function readRowGroups(file: AsyncBuffer, metadata: FileMetaData, label: string, reader: EventReader): Promise<void> {
  const top = parquetSchema(metadata).children;
  const names = top.map((c) => c.element.name);
  reader.setHeader(names, 0); // the CSV header rules: duplicates, user and item required, domainColumn
  reader.sawLine = true;
  const col = reader.col!;
  const plan: Partial<Record<CanonicalColumn | 'domain', ColumnPlan>> = {};
  for (const k of CANONICAL_COLUMNS) {
    const i = k === 'domain' ? reader.domainCol : col[k];
    if (i < 0) continue;
    const kind = k === 'user' || k === 'item' || k === 'domain' || k === 'behavior' ? 'id' : k === 'timestamp' ? 'time' : 'number';
    const c = top[i];
    checkType(label, c.element, c.children.length, kind);
    plan[k] = { name: c.element.name, kind };
  }
  const groups = metadata.row_groups;
  const rows = new RowAdder(reader, label, plan);
  let rowStart = 0;
  for (let g = 0; g < groups.length; g++) {
    const n = Number(groups[g].num_rows);
    const data: Partial<Record<CanonicalColumn, ArrayLike<unknown>>> = {};
    for (const k of CANONICAL_COLUMNS) {
      const p = plan[k];
      if (p) data[k] = await readColumn(file, metadata, p.name, rowStart, rowStart + n, `${label}: row group ${g + 1} of ${groups.length} (rows ${rowStart + 1}-${rowStart + n})`);
    }
    rows.add(data, rowStart, n);
    rowStart += n;
  }
}

/** One column of one row group, exactly rows [rowStart, rowEnd). */
async function readColumn(file: AsyncBuffer, metadata: FileMetaData, name: string, rowStart: number, rowEnd: number, where: string): Promise<ArrayLike<unknown>> {
  const chunks: { data: ArrayLike<unknown>; start: number; end: number }[] = [];
  try {
    await parquetRead({
      file,
      metadata,
      columns: [name],
      rowStart,
      rowEnd,
      compressors,
      parsers: PARSERS,
      onChunk: (c) => chunks.push({ data: c.columnData as ArrayLike<unknown>, start: c.rowStart, end: c.rowEnd }),
    });
  } catch (e) {
    throw new DataError({ file: where, column: name }, `corrupt or unreadable Parquet data (${escapeInput(String((e as Error).message), 200)})`);
  }
  if (chunks.length === 1 && chunks[0].start === rowStart && chunks[0].end === rowEnd) return chunks[0].data;
  const out = new Array<unknown>(rowEnd - rowStart);
  let filled = 0;
  for (const c of chunks) {
    for (let r = Math.max(c.start, rowStart); r < Math.min(c.end, rowEnd); r++) {
      out[r - rowStart] = c.data[r - c.start];
      filled++;
    }
  }
  if (filled !== rowEnd - rowStart) throw new DataError({ file: where, column: name }, `the file holds ${filled} values of this column for ${rowEnd - rowStart} rows`);
  return out;
}

/** A `DataError` unless the column's Parquet type can hold `kind` values. */
function checkType(label: string, e: SchemaElement, children: number, kind: ColumnPlan['kind']): void {
  const lt = e.logical_type?.type;
  const desc = `${e.type ?? 'a group'}${lt ? ` (${lt})` : e.converted_type ? ` (${e.converted_type})` : ''}`;
  const fail = (expected: string) => {
    throw new DataError({ file: label, column: e.name }, `column ${quoteInput(e.name)} has Parquet type ${desc}; expected ${expected}`);
  };
  if (children > 0 || e.repetition_type === 'REPEATED') fail('a flat column, not a nested or repeated one');
  const t = e.type;
  const text = t === 'BYTE_ARRAY' && (lt === undefined || lt === 'STRING' || lt === 'ENUM') && (e.converted_type === undefined || e.converted_type === 'UTF8' || e.converted_type === 'ENUM');
  const integer = (t === 'INT32' || t === 'INT64') && (lt === undefined || lt === 'INTEGER') && (e.converted_type === undefined || /^U?INT_/.test(e.converted_type));
  if (kind === 'id') {
    if (!text && !integer) fail('strings or integers');
  } else if (kind === 'number') {
    const numeric = integer || t === 'FLOAT' || t === 'DOUBLE' || lt === 'DECIMAL' || e.converted_type === 'DECIMAL';
    if (!text && !numeric) fail('numbers');
  } else {
    const time = integer || t === 'FLOAT' || t === 'DOUBLE' || t === 'INT96' || lt === 'TIMESTAMP' || lt === 'DATE' || /^(TIMESTAMP_|DATE)/.test(e.converted_type ?? '');
    if (!text && !time) fail('unix seconds, a TIMESTAMP or DATE, or ISO-8601 strings');
  }
}

/**
 * Turns the columns of a row group into rows: a fast path for the common values (non-empty
 * strings and integers as ids, finite numbers), and for anything else the same `addRow` the text
 * formats use, so a bad value gets the message a CSV would get.
 */
class RowAdder {
  private readonly behaviorCache = new SmallNameCache<{ index: number; weight: number }>();
  private readonly domainCache = new SmallNameCache<number>();
  private readonly users: ByteIdTable;
  private readonly items: ByteIdTable[] = [];
  private readonly userInts = new Map<number | bigint, number>();
  private readonly itemInts: Map<number | bigint, number>[] = [];
  private readonly needTimestamp: boolean;

  constructor(
    private readonly r: EventReader,
    private readonly file: string,
    private readonly plan: Partial<Record<CanonicalColumn | 'domain', ColumnPlan>>,
  ) {
    this.needTimestamp = r.opts.halfLifeDays !== undefined;
    this.users = new ByteIdTable(r.vocab.users);
  }

  add(data: Partial<Record<CanonicalColumn, ArrayLike<unknown>>>, rowStart: number, n: number): void {
    const r = this.r;
    r.sawLine = true;
    const { user: U, item: I, domain: D, behavior: B, weight: W, rating: R, timestamp: T } = data;
    for (let k = 0; k < n; k++) {
      const row = rowStart + k + 1;
      const u = U![k];
      const it = I![k];
      let d = r.defaultDomainIndex;
      if (D) {
        const dv = D[k];
        if (dv instanceof Uint8Array) {
          const cached = this.domainCache.get(dv, 0, dv.length);
          d = cached ?? (dv.length > 0 && isUtf8(dv) ? r.vocab.domains.get(decodeBytes(dv, 0, dv.length)) : -1); // new: the slow path interns it
          if (cached === undefined && d >= 0) this.domainCache.set(dv, 0, dv.length, d);
        } else d = typeof dv === 'number' || typeof dv === 'bigint' ? r.vocab.domains.get(String(dv)) : -1;
      }
      let weight = 1;
      let bIndex = NO_BEHAVIOR;
      const bv = B ? B[k] : undefined;
      if (bv instanceof Uint8Array && bv.length > 0) {
        const cached = this.behaviorCache.get(bv, 0, bv.length);
        if (cached === undefined) d = -1; // first sight of this name: the slow path checks and interns it
        else {
          bIndex = cached.index;
          weight = cached.weight;
        }
      } else if (bv !== undefined && bv !== null) d = -1;
      const wv = W ? num(W[k]) : undefined;
      if (typeof wv === 'number') {
        weight = wv;
        if (!(wv > 0 && wv <= 3.4e38 && wv >= 1.5e-45)) d = -1;
      } else if (wv !== undefined && wv !== null) d = -1;
      const rv = R ? num(R[k]) : undefined;
      let rating = NaN;
      if (typeof rv === 'number' && Math.abs(rv) <= 3.4e38) rating = rv;
      else if (rv !== undefined && rv !== null) d = -1;
      const tv = T ? T[k] : undefined;
      let ts = NaN;
      if (typeof tv === 'number' && Number.isFinite(tv)) ts = tv;
      else if (typeof tv === 'bigint') ts = Number(tv);
      else if (tv !== undefined && tv !== null) d = -1;
      if (this.needTimestamp && Number.isNaN(ts)) d = -1;
      const ui = d >= 0 ? this.id(u, this.users, r.vocab.users, this.userInts) : -1;
      const ii = ui >= 0 ? this.id(it, (this.items[d] ??= new ByteIdTable(r.vocab.items(d))), r.vocab.items(d), (this.itemInts[d] ??= new Map())) : -1;
      if (ii >= 0) r.b.push(ui, ii, d, bIndex, weight, rating, ts, row);
      else this.slow(u, it, D?.[k], bv, wv, rv, tv, row);
    }
  }

  /** The index of a string (as bytes) or integer id (interned), or -1 for anything else. */
  private id(v: unknown, table: ByteIdTable, vocab: Vocabulary, ints: Map<number | bigint, number>): number {
    if (v instanceof Uint8Array) return v.length === 0 ? -1 : table.intern(v, 0, v.length);
    if (typeof v === 'number' || typeof v === 'bigint') {
      let i = ints.get(v);
      if (i === undefined) ints.set(v, (i = vocab.intern(String(v))));
      return i;
    }
    return -1;
  }

  /** Every other row: nulls are errors in id columns and absent values elsewhere; the rest as text. */
  private slow(u: unknown, it: unknown, dv: unknown, bv: unknown, wv: unknown, rv: unknown, tv: unknown, row: number): void {
    const r = this.r;
    const p = this.plan;
    const file = this.file;
    // Strings arrive as bytes: decode them (invalid UTF-8 is an error, as in a CSV).
    const str = (k: CanonicalColumn, v: unknown): unknown => {
      if (!(v instanceof Uint8Array)) return v;
      if (!isUtf8(v)) throw new DataError({ file, line: row, column: p[k]?.name }, `invalid UTF-8 in column ${quoteInput(p[k]?.name ?? k)}: Parquet strings must be UTF-8 (distinct ids would otherwise merge)`);
      return decodeBytes(v, 0, v.length);
    };
    r.guard(() => {
      [u, it, dv, bv, wv, rv, tv] = [str('user', u), str('item', it), str('domain', dv), str('behavior', bv), str('weight', wv), str('rating', rv), str('timestamp', tv)];
      for (const [k, v] of [['user', u], ['item', it], ['domain', dv]] as const) {
        if ((v === null || v === undefined) && p[k]) throw new DataError({ file: this.file, line: row, column: p[k].name }, `null ${k === 'domain' ? 'domain' : `${k} id`}`);
      }
      const text = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
      r.addRow(String(u), String(it), text(dv), text(bv), text(wv), text(rv), typeof tv === 'string' ? tv : text(tv), row, (k) => p[k]?.name, this.file);
      if (typeof bv === 'string' && bv !== '') {
        const key = bv.toLowerCase();
        const index = r.vocab.behaviors.get(key);
        const bytes = Buffer.from(bv);
        if (index >= 0 && index < NO_BEHAVIOR) this.behaviorCache.set(bytes, 0, bytes.length, { index, weight: r.weights.get(key)! });
      }
    });
  }
}

/** An INT64 value as a number (weights, ratings); anything else unchanged. */
function num(v: unknown): unknown {
  return typeof v === 'bigint' ? Number(v) : v;
}
