/**
 * Parquet input for `loadEvents`, through hyparquet (pure JS; gzip, zstd, brotli and lz4 pages
 * through hyparquet-compressors, snappy built in). One file, or a directory of part files as data
 * lakes write them (`part-*.parquet`; `_SUCCESS`, `_committed_*`, hidden and `.crc` files ignored),
 * read one row group and one column at a time, so memory is bounded by the largest row group.
 * A column chunk is read page by page (parquet-pages.ts: hyparquet's page headers and
 * decompressors, our own decoding into typed arrays) when its type and encodings allow, else with
 * hyparquet's `parquetRead`; rows are assembled in parquet-rows.ts.
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
import { PageColumn, pagedDecoding, readChunkPages, type ColumnRole, type PagedDecoding } from './parquet-pages.js';
import { RowAdder, type RowGroupColumns } from './parquet-rows.js';
import { CANONICAL_COLUMNS, type CanonicalColumn, type EventReader } from './reader.js';
import { naturalCompare } from './vocab.js';

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
  const rows = new RowAdder(reader); // one for all part files: ids interned once per load, not once per file
  if (!info.isDirectory()) return readParquetFile(path, label, reader, rows, true);
  const names = await partFiles(path, label);
  // The row counts of all footers first, so the columns are allocated once at their final size.
  let total = 0;
  for (const name of names) total += await rowCount(join(path, name));
  reserve(reader, total);
  for (const name of names) await readParquetFile(join(path, name), `${label}/${name}`, reader, rows, false);
}

/** The rows a Parquet file's footer declares; 0 when it cannot be read (reading the file reports why). */
async function rowCount(path: string): Promise<number> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return 0;
  try {
    return Number((await parquetMetadataAsync(await fileSlices(fh))).num_rows);
  } catch {
    return 0;
  } finally {
    await fh.close();
  }
}

/** Room for `rows` more rows in the reader's columns, when that is a plausible count. */
function reserve(reader: EventReader, rows: number): void {
  if (!(rows > 0 && rows < 2 ** 31)) return;
  try {
    reader.b.reserve(reader.b.length + rows);
  } catch {
    // Too large to allocate at once: the columns grow as rows come.
  }
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

/** How one canonical column is stored: its name in the file, what its values are, how the paged reader decodes it. */
interface ColumnPlan {
  name: string;
  kind: ColumnRole;
  optional: boolean;
  /** Undefined: hyparquet reads this column. */
  paged: PagedDecoding | undefined;
}

/**
 * Which reader read each column chunk (for tests and benchmarks); `paged: false` makes hyparquet's
 * `parquetRead` read every chunk (the reader before the paged one), for comparisons.
 */
export const parquetChunkReads = { paged: true, pagedChunks: 0, hyparquetChunks: 0 };

/** One Parquet file: check the schema, then each row group. */
async function readParquetFile(path: string, label: string, reader: EventReader, rows: RowAdder, single: boolean): Promise<void> {
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
    if (single) reserve(reader, Number(metadata.num_rows));
    await readRowGroups(file, metadata, label, reader, rows);
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
async function readRowGroups(file: AsyncBuffer, metadata: FileMetaData, label: string, reader: EventReader, rows: RowAdder): Promise<void> {
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
    plan[k] = { name: c.element.name, kind, optional: c.element.repetition_type !== 'REQUIRED', paged: pagedDecoding(c.element, kind) };
  }
  const groups = metadata.row_groups;
  const fileNames: Partial<Record<CanonicalColumn, string>> = {};
  for (const k of CANONICAL_COLUMNS) if (plan[k]) fileNames[k] = plan[k].name;
  rows.startFile(label, fileNames);
  const slots: RowGroupColumns = {};
  let rowStart = 0;
  for (let g = 0; g < groups.length; g++) {
    const n = Number(groups[g].num_rows);
    const where = `${label}: row group ${g + 1} of ${groups.length} (rows ${rowStart + 1}-${rowStart + n})`;
    const data: RowGroupColumns = {};
    for (const k of CANONICAL_COLUMNS) {
      const p = plan[k];
      if (!p) continue;
      const col = (slots[k] ??= new PageColumn());
      if (!(await readPaged(file, metadata, g, p, n, col))) {
        col.setRaw(await readColumn(file, metadata, p.name, rowStart, rowStart + n, where));
        parquetChunkReads.hyparquetChunks++;
      }
      data[k] = col;
    }
    rows.add(data, rowStart, n);
    rowStart += n;
  }
}

/**
 * Read column `p` of row group `g` (`n` rows) page by page into `col`; false when the paged reader
 * does not handle it (its type, encodings, or anything it cannot make sense of, a corrupt page too),
 * and then hyparquet reads the chunk: as it did before the paged reader, it loads it or reports it.
 */
async function readPaged(file: AsyncBuffer, metadata: FileMetaData, g: number, p: ColumnPlan, n: number, col: PageColumn): Promise<boolean> {
  if (!p.paged || !parquetChunkReads.paged) return false;
  const chunk = metadata.row_groups[g].columns.find((c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === p.name);
  const meta = chunk?.meta_data;
  if (!meta || chunk.file_path) return false;
  try {
    const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
    const bytes = new Uint8Array(await file.slice(start, start + Number(meta.total_compressed_size)));
    readChunkPages(bytes, 0, meta, p.optional, p.paged, n, col, compressors);
  } catch {
    return false;
  }
  parquetChunkReads.pagedChunks++;
  return true;
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
