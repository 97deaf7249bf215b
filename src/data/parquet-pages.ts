/**
 * The paged reader behind `loadEvents` for Parquet: one flat column chunk of a row group read page
 * by page with hyparquet's page-header parser and decompressors, the values decoded here into typed
 * arrays, with no object per value. A row of the chunk becomes an entry index: its position in the
 * chunk's dictionary (so the loader looks each distinct id up once per chunk), or the position of a
 * plain value; -1 marks a null.
 *
 * Handled: dictionary pages; data pages v1 and v2, PLAIN or RLE_DICTIONARY / PLAIN_DICTIONARY; the
 * physical types BYTE_ARRAY, INT32, INT64, FLOAT and DOUBLE; required columns and optional ones (at
 * most one definition level). Anything else throws, and parquet.ts reads that column chunk with
 * hyparquet's `parquetRead` instead (which reads it as before, or reports what is wrong with it).
 */
import type { ColumnMetaData, Compressors, PageHeader, SchemaElement } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { decompressPage } from 'hyparquet/src/datapage.js';

/** What a canonical column holds: ids (and domain and behaviour names), numbers, or times. */
export type ColumnRole = 'id' | 'number' | 'time';

/** How the physical values of a column become the loader's values. */
export interface PagedDecoding {
  type: 'BYTE_ARRAY' | 'INT32' | 'INT64' | 'FLOAT' | 'DOUBLE';
  /** Times: a TIMESTAMP's unit per second (1e3, 1e6, 1e9), else 1. */
  div: number;
  /** Times: 86400 for a DATE (days), else 1. */
  mul: number;
  /** INT64 ids beyond 2^53 keep their exact value (for their decimal text). */
  exact: boolean;
}

/**
 * The decoding of a column the paged reader can read with the same values as hyparquet gives
 * through parquet.ts's parsers, or undefined (then hyparquet reads it): text ids as bytes, signed
 * integers and floats as numbers, TIMESTAMP (any unit) as seconds, DATE as days times 86400.
 */
export function pagedDecoding(e: SchemaElement, role: ColumnRole): PagedDecoding | undefined {
  const t = e.type;
  const ct = e.converted_type;
  const lt = e.logical_type;
  const plain = (type: PagedDecoding['type'], div = 1, mul = 1): PagedDecoding => ({ type, div, mul, exact: role === 'id' && type === 'INT64' });
  if (t === 'BYTE_ARRAY') return role === 'id' ? plain(t) : undefined; // parquet.ts checked that it is text
  if (t === 'FLOAT' || t === 'DOUBLE') return role === 'id' || lt !== undefined || ct !== undefined ? undefined : plain(t);
  if (t !== 'INT32' && t !== 'INT64') return undefined;
  const signed = (ct === undefined || /^INT_(8|16|32|64)$/.test(ct)) && (lt === undefined || (lt.type === 'INTEGER' && lt.isSigned));
  if (signed) return plain(t);
  if (role !== 'time') return undefined;
  // The order of hyparquet's conversion: converted type first, then the logical type.
  if (ct === 'DATE') return t === 'INT32' ? plain(t, 1, 86400) : undefined;
  if (ct === 'TIMESTAMP_MILLIS') return plain(t, 1e3);
  if (ct === 'TIMESTAMP_MICROS') return plain(t, 1e6);
  if (ct === undefined && lt?.type === 'TIMESTAMP') return plain(t, lt.unit === 'MILLIS' ? 1e3 : lt.unit === 'MICROS' ? 1e6 : 1e9);
  return undefined;
}

/**
 * One column of one row group. `kind` 'bytes': entry e is `buf[start[e], end[e])`; 'num': entry e
 * is `value[e]` (and `exact.get(e)` for an INT64 id beyond 2^53); 'raw': hyparquet's values in `raw`.
 * The arrays are reused from row group to row group (grown when needed).
 */
export class PageColumn {
  kind: 'bytes' | 'num' | 'raw' = 'raw';
  /** Rows read so far. */
  n = 0;
  /** Per row: its entry, or -1 for a null. */
  code = new Int32Array(0);
  /** Entries [0, nDict) are the chunk's dictionary. */
  nDict = 0;
  nEntries = 0;
  buf = new Uint8Array(1 << 16);
  bufLen = 0;
  start = new Int32Array(0);
  end = new Int32Array(0);
  value = new Float64Array(0);
  exact: Map<number, bigint> | undefined;
  raw: ArrayLike<unknown> = [];
  private hasDict = false;

  /** Start a chunk of `rows` rows. */
  reset(kind: 'bytes' | 'num', rows: number): void {
    this.kind = kind;
    this.n = 0;
    this.nDict = 0;
    this.nEntries = 0;
    this.bufLen = 0;
    this.exact = undefined;
    this.raw = [];
    this.hasDict = false;
    if (this.code.length < rows) this.code = new Int32Array(rows);
  }

  /** The chunk as read by hyparquet. */
  setRaw(data: ArrayLike<unknown>): void {
    this.kind = 'raw';
    this.raw = data;
    this.n = data.length;
    this.nDict = 0;
  }

  /** Room for `more` entries. */
  growEntries(more: number): void {
    const need = this.nEntries + more;
    const cap = this.kind === 'bytes' ? this.start.length : this.value.length;
    if (need <= cap) return;
    const size = Math.max(need, cap * 2, 1024);
    if (this.kind === 'bytes') {
      const s = new Int32Array(size);
      s.set(this.start.subarray(0, this.nEntries));
      const e = new Int32Array(size);
      e.set(this.end.subarray(0, this.nEntries));
      this.start = s;
      this.end = e;
    } else {
      const v = new Float64Array(size);
      v.set(this.value.subarray(0, this.nEntries));
      this.value = v;
    }
  }

  /** Copy `bytes` to the end of `buf`; returns where they start. */
  append(bytes: Uint8Array): number {
    const at = this.bufLen;
    if (at + bytes.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, at + bytes.length));
      grown.set(this.buf.subarray(0, at));
      this.buf = grown;
    }
    this.buf.set(bytes, at);
    this.bufLen = at + bytes.length;
    return at;
  }

  /** Mark the dictionary read (a second one is not expected). */
  takeDictionary(): void {
    if (this.hasDict || this.n > 0) throw new Error('a dictionary page after the first page');
    this.hasDict = true;
    this.nDict = this.nEntries;
  }

  get dictionaryRead(): boolean {
    return this.hasDict;
  }
}

/** Scratch space of the page decoder, shared by all columns. */
const scratch = { levels: new Uint8Array(0), index: new Int32Array(0) };

/**
 * Read the column chunk `meta` (of a row group of `rows` rows) from `bytes` (the file's bytes from
 * `offset` on, covering the chunk) into `col`.
 * @throws {Error} for anything this reader does not handle or cannot make sense of.
 */
export function readChunkPages(bytes: Uint8Array, offset: number, meta: ColumnMetaData, optional: boolean, dec: PagedDecoding, rows: number, col: PageColumn, compressors: Compressors): void {
  if (meta.type !== dec.type) throw new Error(`chunk type ${meta.type} is not the schema's ${dec.type}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = { view, offset };
  col.reset(dec.type === 'BYTE_ARRAY' ? 'bytes' : 'num', rows);
  if (scratch.levels.length < rows) scratch.levels = new Uint8Array(rows);
  const inflate = (b: Uint8Array, size: number) => decompressPage(b, size, meta.codec, compressors);
  while (col.n < rows) {
    if (reader.offset >= bytes.length) throw new Error(`the chunk ends after ${col.n} of ${rows} rows`);
    const h: PageHeader = parquetHeader(reader);
    const at = reader.offset;
    if (!(h.compressed_page_size >= 0) || at + h.compressed_page_size > bytes.length) throw new Error('a page runs past the chunk');
    const body = bytes.subarray(at, at + h.compressed_page_size);
    reader.offset = at + h.compressed_page_size;
    if (h.type === 'DICTIONARY_PAGE') {
      const page = inflate(body, h.uncompressed_page_size);
      plainValues(page, 0, page.length, h.dictionary_page_header!.num_values, dec, col);
      col.takeDictionary();
    } else if (h.type === 'DATA_PAGE') {
      const d = h.data_page_header!;
      const page = inflate(body, h.uncompressed_page_size);
      let p = 0;
      let present = d.num_values;
      if (optional) {
        if (d.definition_level_encoding !== 'RLE') throw new Error(`definition levels encoded ${d.definition_level_encoding}`);
        const len = u32(page, p);
        p += 4;
        present = readLevels(page, p, p + len, d.num_values);
        p += len;
      }
      dataValues(page, p, d.num_values, present, optional, d.encoding, dec, col, rows);
    } else if (h.type === 'DATA_PAGE_V2') {
      const d = h.data_page_header_v2!;
      if (d.num_rows !== d.num_values) throw new Error('a repeated column');
      const rep = d.repetition_levels_byte_length;
      const def = d.definition_levels_byte_length;
      let present = d.num_values;
      if (optional) present = readLevels(body, rep, rep + def, d.num_values);
      else if (def !== 0) throw new Error('definition levels in a required column');
      if (present !== d.num_values - d.num_nulls) throw new Error(`the page counts ${d.num_nulls} nulls, its levels ${d.num_values - present}`);
      let values = body.subarray(rep + def);
      const size = h.uncompressed_page_size - rep - def;
      if (d.is_compressed !== false && size > 0) values = inflate(values, size);
      dataValues(values, 0, d.num_values, present, optional, d.encoding, dec, col, rows);
    } else throw new Error(`page type ${h.type}`);
  }
}

/** Decode `count` definition levels (0: null, 1: a value) into scratch.levels; returns how many are 1. */
function readLevels(src: Uint8Array, p: number, end: number, count: number): number {
  if (end > src.length) throw new Error('definition levels run past the page');
  const levels = scratch.levels;
  readHybrid(src, p, end, 1, count, levels);
  let present = 0;
  for (let i = 0; i < count; i++) {
    if (levels[i] > 1) throw new Error(`definition level ${levels[i]} in a flat column`);
    present += levels[i];
  }
  return present;
}

/** The values of a data page: `count` rows of which `present` are not null (scratch.levels says which, when optional). */
function dataValues(src: Uint8Array, p: number, count: number, present: number, optional: boolean, encoding: string, dec: PagedDecoding, col: PageColumn, rows: number): void {
  const base = col.n;
  if (base + count > rows) throw new Error(`a page of ${count} values after ${base} of ${rows} rows`);
  const code = col.code;
  if (encoding === 'RLE_DICTIONARY' || encoding === 'PLAIN_DICTIONARY') {
    if (!col.dictionaryRead) throw new Error('a dictionary-encoded page without a dictionary');
    if (scratch.index.length < present) scratch.index = new Int32Array(Math.max(present, scratch.index.length * 2));
    const index = scratch.index;
    if (present > 0) {
      if (p >= src.length) throw new Error('an empty dictionary-encoded page');
      const width = src[p];
      if (width > 24) throw new Error(`dictionary indices of ${width} bits`);
      if (width === 0) index.fill(0, 0, present);
      else readHybrid(src, p + 1, src.length, width, present, index);
      const nd = col.nDict;
      for (let j = 0; j < present; j++) if (index[j] >= nd) throw new Error(`dictionary index ${index[j]} of a dictionary of ${nd}`);
    }
    if (!optional || present === count) code.set(index.subarray(0, count), base);
    else {
      const levels = scratch.levels;
      for (let r = 0, j = 0; r < count; r++) code[base + r] = levels[r] === 0 ? -1 : index[j++];
    }
  } else if (encoding === 'PLAIN') {
    const first = col.nEntries;
    plainValues(src, p, src.length, present, dec, col);
    if (!optional || present === count) for (let r = 0; r < count; r++) code[base + r] = first + r;
    else {
      const levels = scratch.levels;
      for (let r = 0, e = first; r < count; r++) code[base + r] = levels[r] === 0 ? -1 : e++;
    }
  } else throw new Error(`encoding ${encoding}`);
  col.n = base + count;
}

/** Append `count` PLAIN values from `src[p, end)` as entries of `col`. */
function plainValues(src: Uint8Array, p: number, end: number, count: number, dec: PagedDecoding, col: PageColumn): void {
  col.growEntries(count);
  let e = col.nEntries;
  if (dec.type === 'BYTE_ARRAY') {
    // Copy the page's values once; entries point into the copy (a 4-byte length before each value).
    let q = col.append(src.subarray(p, end));
    const lim = col.bufLen;
    const buf = col.buf;
    const { start, end: stop } = col;
    for (let j = 0; j < count; j++, e++) {
      if (q + 4 > lim) throw new Error('byte array values run past the page');
      const len = (buf[q] | (buf[q + 1] << 8) | (buf[q + 2] << 16) | (buf[q + 3] << 24)) >>> 0;
      q += 4;
      if (q + len > lim) throw new Error('a byte array value runs past the page');
      start[e] = q;
      stop[e] = q + len;
      q += len;
    }
  } else {
    const width = dec.type === 'INT32' || dec.type === 'FLOAT' ? 4 : 8;
    if (p + count * width > end) throw new Error(`${count} ${dec.type} values run past the page`);
    const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const value = col.value;
    const { div, mul } = dec;
    for (let j = 0; j < count; j++, e++, p += width) {
      let x: number;
      if (dec.type === 'INT32') x = v.getInt32(p, true);
      else if (dec.type === 'INT64') {
        // hi * 2^32 + lo is exact below 2^53 and otherwise rounded once, as Number(bigint) is.
        x = v.getInt32(p + 4, true) * 4294967296 + v.getUint32(p, true);
        if (dec.exact && !Number.isSafeInteger(x)) (col.exact ??= new Map()).set(e, v.getBigInt64(p, true));
      } else if (dec.type === 'FLOAT') x = v.getFloat32(p, true);
      else x = v.getFloat64(p, true);
      value[e] = mul !== 1 ? x * mul : div !== 1 ? x / div : x;
    }
  }
  col.nEntries = e;
}

/** A little-endian uint32 at `p`. */
function u32(src: Uint8Array, p: number): number {
  if (p + 4 > src.length) throw new Error('a length runs past the page');
  return (src[p] | (src[p + 1] << 8) | (src[p + 2] << 16) | (src[p + 3] << 24)) >>> 0;
}

/**
 * Decode `count` values of `width` bits (at most 24) of Parquet's RLE / bit-packing hybrid from
 * `src[p, end)` into `out`: runs of one repeated value, and groups of eight bit-packed values
 * (least significant bit first).
 */
export function readHybrid(src: Uint8Array, p: number, end: number, width: number, count: number, out: Uint8Array | Int32Array): void {
  const mask = (1 << width) - 1;
  const valueBytes = (width + 7) >> 3;
  let k = 0;
  while (k < count) {
    let header = 0;
    let scale = 1;
    for (;;) {
      if (p >= end) throw new Error(`RLE data ends after ${k} of ${count} values`);
      const b = src[p++];
      header += (b & 127) * scale;
      if (b < 128) break;
      scale *= 128;
      if (scale > 2 ** 35) throw new Error('an RLE run header is too long');
    }
    const half = Math.floor(header / 2);
    if (header % 2 === 1) {
      const bytes = half * width;
      if (p + bytes > end) throw new Error('bit-packed values run past the data');
      const take = Math.min(half * 8, count - k);
      for (let i = 0, bit = 0; i < take; i++, bit += width) {
        const q = p + (bit >>> 3);
        const w = src[q] | (src[q + 1] << 8) | (src[q + 2] << 16) | (src[q + 3] << 24); // bytes past the group are masked off
        out[k + i] = (w >>> (bit & 7)) & mask;
      }
      p += bytes;
      k += take;
    } else {
      if (p + valueBytes > end) throw new Error('an RLE run runs past the data');
      let v = 0;
      for (let i = 0; i < valueBytes; i++) v |= src[p + i] << (8 * i);
      p += valueBytes;
      const take = Math.min(half, count - k);
      out.fill(v, k, k + take);
      k += take;
    }
  }
}
