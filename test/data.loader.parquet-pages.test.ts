/**
 * The paged Parquet reader (src/data/parquet-pages.ts): for every page layout it handles (data
 * pages v1 and v2, dictionary and plain pages, required and optional columns, string and integer
 * ids, snappy and uncompressed, several pages, row groups and part files) it gives the same rows,
 * vocabularies, errors and skipped rows as hyparquet's reader (`parquetChunkReads.paged = false`,
 * the reader before it) and as a CSV of the same rows, and it reads every chunk itself. Columns it
 * does not handle go to hyparquet; a corrupt page is a DataError naming the row group and column.
 * hyparquet-writer writes data pages v2 only: `toPageV1` rewrites a file's pages as v1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetMetadata, snappyUncompress, type ColumnChunk, type PageHeader } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { ByteWriter, parquetWriteBuffer, type ColumnSource } from 'hyparquet-writer';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { snappyCompress } from 'hyparquet-writer/src/snappy.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DataError, Dataset, ItemKnn, loadEvents, type LoadedEvents, type LoadOptions } from '../src/index.js';
import { parquetChunkReads } from '../src/data/parquet.js';
import { readHybrid } from '../src/data/parquet-pages.js';
import { Rng } from '../src/random.js';
import { caught, tempFiles } from './helpers/data.js';

const tmp = tempFiles('migrec-parquet-pages-');
const put = tmp.file;
afterAll(() => tmp.remove());
afterEach(() => {
  parquetChunkReads.paged = true;
});

/** Everything of a load but `line` (CSV lines count the header) and `source`. */
function snapshot(t: LoadedEvents): Record<string, unknown> {
  const out: Record<string, unknown> = { length: t.length, skipped: t.skipped, firstSkipped: t.firstSkipped?.message };
  for (const c of ['user', 'item', 'domain', 'behavior', 'weight', 'rating', 'timestamp'] as const) out[c] = Array.from(t[c]);
  out.users = t.vocab.users.list();
  out.domains = t.vocab.domains.list();
  out.behaviors = t.vocab.behaviors.list();
  out.items = Array.from({ length: t.vocab.domains.size }, (_, d) => t.vocab.items(d).list());
  return out;
}

/** Rows as columns; null is a missing value (an empty CSV field). */
interface Rows {
  user: (string | null)[];
  item: (number | null)[];
  domain: string[];
  behavior: (string | null)[];
  weight: (number | null)[];
  rating: (number | null)[];
  ts: (number | null)[];
}

/** `n` rows; with `nulls`, about one value in six of the optional columns is null. */
function makeRows(n: number, seed: number, nulls = false): Rows {
  const rng = new Rng(seed);
  const maybe = <T>(v: T): T | null => (nulls && rng.int(6) === 0 ? null : v);
  const r: Rows = { user: [], item: [], domain: [], behavior: [], weight: [], rating: [], ts: [] };
  for (let k = 0; k < n; k++) {
    r.user.push(`u${rng.int(70)}`);
    r.item.push(rng.int(300) * 1000 + 7);
    r.domain.push(['books', 'music', 'toys'][rng.int(3)]);
    r.behavior.push(maybe(['pv', 'Buy', 'cart', 'fav'][rng.int(4)]));
    r.weight.push(maybe([0.5, 1, 2, 3.25][rng.int(4)]));
    r.rating.push(maybe(1 + rng.int(9) / 2));
    r.ts.push(maybe(1_700_000_000 + rng.int(5_000_000) + (rng.int(2) ? 0.5 : 0)));
  }
  return r;
}

function csvOf(r: Rows, from = 0, to = r.user.length): string {
  const lines = ['user,item,domain,behavior,weight,rating,timestamp'];
  const f = (v: unknown) => (v === null ? '' : String(v));
  for (let k = from; k < to; k++) lines.push([r.user[k], r.item[k], r.domain[k], r.behavior[k], r.weight[k], r.rating[k], r.ts[k]].map(f).join(','));
  return `${lines.join('\n')}\n`;
}

interface Layout {
  version: 1 | 2;
  codec: 'SNAPPY' | 'UNCOMPRESSED';
  /** Columns REQUIRED (no definition levels) rather than OPTIONAL. */
  required: boolean;
  /** Pages of indices into a dictionary, plain values, or the writer's choice per column. */
  encoding: 'RLE_DICTIONARY' | 'PLAIN' | 'auto';
  /** User ids as INT64 (with one beyond 2^53) and items as INT32, rather than strings. */
  intIds: boolean;
  /** timestamp as TIMESTAMP (ms), INT64 seconds or DOUBLE seconds. */
  time: 'TIMESTAMP' | 'INT64' | 'DOUBLE';
}

/** hyparquet-writer's `PageHeader` (from its own copy of hyparquet's types). */
type WriterPageHeader = Parameters<typeof writePageHeader>[1];

const BIG = 12345678901234567n; // an INT64 id beyond 2^53: its decimal text must survive

/** Rows [from, to) as Parquet in `layout`: row groups of 97 rows, pages of about 200 bytes. */
function parquetOf(r: Rows, layout: Layout, from = 0, to = r.user.length): Uint8Array {
  const s = <T>(a: T[]) => a.slice(from, to);
  const { required, encoding } = layout;
  const col = (c: ColumnSource): ColumnSource => ({ ...c, nullable: !required, ...(encoding === 'auto' ? {} : { encoding }) });
  const users = s(r.user).map((u) => (u === null ? null : layout.intIds ? (u === 'u3' ? BIG : BigInt(u.slice(1))) : u));
  const ts = s(r.ts);
  const columnData = [
    col({ name: 'user', data: users, type: layout.intIds ? 'INT64' : 'STRING' }),
    col({ name: 'item', data: s(r.item).map((i) => (i === null || layout.intIds ? i : `${i}`)), type: layout.intIds ? 'INT32' : 'STRING' }),
    col({ name: 'domain', data: s(r.domain), type: 'STRING' }),
    col({ name: 'behavior', data: s(r.behavior), type: 'STRING' }),
    col({ name: 'weight', data: s(r.weight), type: 'FLOAT' }),
    col({ name: 'rating', data: s(r.rating), type: 'DOUBLE' }),
    layout.time === 'TIMESTAMP'
      ? col({ name: 'timestamp', data: ts.map((t) => (t === null ? null : new Date(t * 1000))), type: 'TIMESTAMP' })
      : layout.time === 'INT64'
        ? col({ name: 'timestamp', data: ts.map((t) => (t === null ? null : BigInt(Math.floor(t)))), type: 'INT64' })
        : col({ name: 'timestamp', data: ts, type: 'DOUBLE' }),
  ];
  const file = new Uint8Array(parquetWriteBuffer({ columnData, rowGroupSize: 97, pageSize: 200, codec: layout.codec }));
  return layout.version === 1 ? toPageV1(file) : file;
}

/** The CSV text of `parquetOf(r, layout)`'s rows (integer users and whole-second times as written). */
function csvFor(r: Rows, layout: Layout, from = 0, to = r.user.length): string {
  const user = r.user.map((u) => (u === null || !layout.intIds ? u : u === 'u3' ? String(BIG) : String(Number(u.slice(1)))));
  const ts = r.ts.map((t) => (t === null || layout.time !== 'INT64' ? t : Math.floor(t)));
  return csvOf({ ...r, user, ts }, from, to);
}

/** The chunk of `column` in row group `g` of a Parquet file. */
function chunkOf(file: Uint8Array, g: number, column: string): ColumnChunk {
  const md = parquetMetadata(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer);
  return md.row_groups[g].columns.find((c) => c.meta_data!.path_in_schema[0] === column)!;
}

/**
 * The same file with each data page v2 rewritten as a data page v1: the definition levels (with
 * their 4-byte length) and the values compressed together. SNAPPY or UNCOMPRESSED files only.
 */
function toPageV1(file: Uint8Array): Uint8Array {
  const ab = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
  const md = parquetMetadata(ab);
  const view = new DataView(ab);
  const w = new ByteWriter();
  w.appendBytes(new TextEncoder().encode('PAR1'));
  for (const rg of md.row_groups) {
    for (const c of rg.columns) {
      const m = c.meta_data!;
      const optional = md.schema.find((e) => e.name === m.path_in_schema[0])!.repetition_type === 'OPTIONAL';
      const start = Number(m.dictionary_page_offset || m.data_page_offset);
      const reader = { view, offset: start };
      const chunkStart = w.offset;
      let dataStart = -1;
      let dictStart = -1;
      let raw = 0;
      while (reader.offset < start + Number(m.total_compressed_size)) {
        const h: PageHeader = parquetHeader(reader);
        const body = file.subarray(reader.offset, reader.offset + h.compressed_page_size);
        reader.offset += h.compressed_page_size;
        if (h.type !== 'DATA_PAGE_V2') {
          if (h.type === 'DICTIONARY_PAGE') dictStart = w.offset;
          writePageHeader(w, h as WriterPageHeader);
          w.appendBytes(body);
          raw += h.uncompressed_page_size;
          continue;
        }
        if (dataStart < 0) dataStart = w.offset;
        const d = h.data_page_header_v2!;
        const lv = d.repetition_levels_byte_length + d.definition_levels_byte_length;
        let values = body.subarray(lv);
        if (m.codec === 'SNAPPY' && d.is_compressed !== false && h.uncompressed_page_size > lv) {
          const out = new Uint8Array(h.uncompressed_page_size - lv);
          snappyUncompress(values, out);
          values = out;
        }
        const levels = body.subarray(d.repetition_levels_byte_length, lv);
        const page = new Uint8Array((optional ? 4 + levels.length : 0) + values.length);
        if (optional) {
          new DataView(page.buffer).setUint32(0, levels.length, true);
          page.set(levels, 4);
        }
        page.set(values, optional ? 4 + levels.length : 0);
        const packed = m.codec === 'SNAPPY' ? snappyCompress(page) : page;
        writePageHeader(w, {
          type: 'DATA_PAGE',
          uncompressed_page_size: page.length,
          compressed_page_size: packed.length,
          data_page_header: { num_values: d.num_values, encoding: d.encoding, definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' },
        } as WriterPageHeader);
        w.appendBytes(packed);
        raw += page.length;
      }
      m.data_page_offset = BigInt(dataStart);
      m.dictionary_page_offset = dictStart >= 0 ? BigInt(dictStart) : undefined;
      m.total_compressed_size = BigInt(w.offset - chunkStart);
      m.total_uncompressed_size = BigInt(raw);
      m.statistics = undefined;
      m.encoding_stats = undefined;
      Object.assign(c, { file_offset: BigInt(chunkStart), offset_index_offset: undefined, offset_index_length: undefined, column_index_offset: undefined, column_index_length: undefined });
    }
  }
  const footer = w.offset;
  writeMetadata(w, md as Parameters<typeof writeMetadata>[1]); // hyparquet-writer's own hyparquet types: the same shape
  w.appendUint32(w.offset - footer);
  w.appendBytes(new TextEncoder().encode('PAR1'));
  return w.getBytes();
}

/** Load `path` with the paged reader and with hyparquet's; both snapshots, and the paged run's chunk counts. */
async function bothReaders(path: string, opts: LoadOptions = {}): Promise<{ paged: Record<string, unknown>; hyparquet: Record<string, unknown>; pagedChunks: number; hyparquetChunks: number }> {
  parquetChunkReads.pagedChunks = parquetChunkReads.hyparquetChunks = 0;
  const paged = snapshot(await loadEvents(path, opts));
  const { pagedChunks, hyparquetChunks } = parquetChunkReads;
  parquetChunkReads.paged = false;
  const hyparquet = snapshot(await loadEvents(path, opts));
  parquetChunkReads.paged = true;
  return { paged, hyparquet, pagedChunks, hyparquetChunks };
}

describe('paged Parquet reader', () => {
  const rows = makeRows(300, 11);

  it('every page layout it handles: the same rows as hyparquet and the CSV, every chunk read by pages', { timeout: 120_000 }, async () => {
    const csvs = new Map<string, Record<string, unknown>>();
    let n = 0;
    for (const version of [1, 2] as const) {
      for (const codec of ['SNAPPY', 'UNCOMPRESSED'] as const) {
        for (const encoding of ['RLE_DICTIONARY', 'PLAIN', 'auto'] as const) {
          for (const required of [false, true]) {
            const intIds = Math.floor(n / 2) % 2 === 1; // each with required and optional columns
            const time = (['TIMESTAMP', 'INT64', 'DOUBLE'] as const)[n % 3];
            const layout: Layout = { version, codec, encoding, required, intIds, time };
            const name = `v${version}-${codec}-${encoding}-${required ? 'req' : 'opt'}-${intIds ? 'int' : 'str'}-${time}`;
            const file = parquetOf(rows, layout);
            const csvKey = `${intIds}-${time}`;
            if (!csvs.has(csvKey)) csvs.set(csvKey, snapshot(await loadEvents(put(`${csvKey}.csv`, csvFor(rows, layout)))));
            const r = await bothReaders(put(`${name}.parquet`, file));
            expect(r.paged, name).toEqual(csvs.get(csvKey));
            expect(r.hyparquet, name).toEqual(r.paged);
            expect([r.pagedChunks, r.hyparquetChunks], name).toEqual([4 * 7, 0]); // 4 row groups x 7 columns
            n++;
          }
        }
      }
    }
    // The layouts really differ: dictionary and plain pages, several pages per chunk, v1 and v2 pages.
    const pages = (file: Uint8Array, column: string) => {
      const m = chunkOf(file, 0, column).meta_data!;
      const ab = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
      const reader = { view: new DataView(ab), offset: Number(m.dictionary_page_offset || m.data_page_offset) };
      const seen: string[] = [];
      while (reader.offset < Number(m.dictionary_page_offset || m.data_page_offset) + Number(m.total_compressed_size)) {
        const h = parquetHeader(reader);
        reader.offset += h.compressed_page_size;
        seen.push(`${h.type}:${h.data_page_header?.encoding ?? h.data_page_header_v2?.encoding ?? ''}`);
      }
      return seen;
    };
    const base: Layout = { version: 1, codec: 'SNAPPY', encoding: 'RLE_DICTIONARY', required: false, intIds: false, time: 'DOUBLE' };
    expect(pages(parquetOf(rows, base), 'user')).toEqual(['DICTIONARY_PAGE:', 'DATA_PAGE:RLE_DICTIONARY', 'DATA_PAGE:RLE_DICTIONARY']);
    expect(pages(parquetOf(rows, { ...base, version: 2, encoding: 'PLAIN' }), 'user')).toEqual(['DATA_PAGE_V2:PLAIN', 'DATA_PAGE_V2:PLAIN']);
  });

  it('nulls: absent values where a CSV has empty fields; a null id is a DataError at file:row:column, skipped like hyparquet skips it', { timeout: 60_000 }, async () => {
    const withNulls = makeRows(300, 12, true);
    for (const version of [1, 2] as const) {
      for (const encoding of ['RLE_DICTIONARY', 'PLAIN'] as const) {
        const layout: Layout = { version, codec: 'SNAPPY', encoding, required: false, intIds: false, time: 'TIMESTAMP' };
        const name = `nulls-v${version}-${encoding}`;
        const r = await bothReaders(put(`${name}.parquet`, parquetOf(withNulls, layout)));
        expect(r.paged, name).toEqual(snapshot(await loadEvents(put(`${name}.csv`, csvFor(withNulls, layout)))));
        expect(r.hyparquet, name).toEqual(r.paged);
        expect(r.hyparquetChunks, name).toBe(0);

        // A null user in row 150 (row group 2), a null item in row 260 (row group 3).
        const bad = { ...withNulls, user: withNulls.user.map((u, k) => (k === 149 ? null : u)), item: withNulls.item.map((i, k) => (k === 259 ? null : i)) };
        const path = put(`${name}-badid.parquet`, parquetOf(bad, layout));
        const e = await caught(() => loadEvents(path));
        expect(e).toBeInstanceOf(DataError);
        expect(e.message).toBe(`${name}-badid.parquet:150:user: null user id`);
        const skipped = await bothReaders(path, { skipInvalid: true });
        expect(skipped.paged.skipped).toBe(2);
        expect(skipped.paged.firstSkipped).toBe(`${name}-badid.parquet:150:user: null user id`);
        expect(skipped.hyparquet).toEqual(skipped.paged);
        expect(skipped.hyparquetChunks).toBe(0);
      }
    }
  });

  it('a directory of part files with v1 and v2 pages = one CSV of all rows, with the same model', { timeout: 60_000 }, async () => {
    const lake = join(tmp.dir, 'lake');
    mkdirSync(lake);
    const layout: Layout = { version: 1, codec: 'SNAPPY', encoding: 'auto', required: false, intIds: false, time: 'TIMESTAMP' };
    writeFileSync(join(lake, 'part-00000.parquet'), parquetOf(rows, layout, 0, 130));
    writeFileSync(join(lake, 'part-00001.parquet'), parquetOf(rows, { ...layout, version: 2, encoding: 'PLAIN' }, 130, 300));
    writeFileSync(join(lake, '_SUCCESS'), '');
    parquetChunkReads.pagedChunks = parquetChunkReads.hyparquetChunks = 0;
    const fromLake = await loadEvents(lake);
    expect([parquetChunkReads.pagedChunks, parquetChunkReads.hyparquetChunks]).toEqual([(2 + 2) * 7, 0]);
    const fromCsv = await loadEvents(put('lake.csv', csvFor(rows, layout)));
    expect(snapshot(fromLake)).toEqual(snapshot(fromCsv));
    expect(Array.from(fromLake.line.subarray(128, 132))).toEqual([129, 130, 1, 2]); // rows counted per part file
    const fit = async (t: LoadedEvents) => {
      const m = new ItemKnn({ neighbors: 10 });
      await m.fit(Dataset.fromEvents(t));
      return ['u1', 'u7', 'u33'].map((u) => {
        const r = m.recommend(u, { k: 5, domain: 'music' });
        return [r.items, Array.from(r.scores)];
      });
    };
    expect(await fit(fromLake)).toEqual(await fit(fromCsv));
  });

  it('encodings it does not handle go to hyparquet, chunk by chunk, with the same rows', async () => {
    const file = parquetWriteBuffer({
      columnData: [
        { name: 'user', data: rows.user, type: 'STRING', encoding: 'DELTA_BYTE_ARRAY' },
        { name: 'item', data: rows.item.map((i) => `${i}`), type: 'STRING' },
        { name: 'domain', data: rows.domain, type: 'STRING' },
        { name: 'timestamp', data: rows.ts.map((t) => BigInt(Math.floor(t!))), type: 'INT64', encoding: 'DELTA_BINARY_PACKED' },
      ],
      rowGroupSize: 100,
    });
    const r = await bothReaders(put('delta.parquet', file));
    const csv = ['user,item,domain,timestamp', ...rows.user.map((u, k) => `${u},${rows.item[k]},${rows.domain[k]},${Math.floor(rows.ts[k]!)}`)].join('\n');
    expect(r.paged).toEqual(snapshot(await loadEvents(put('delta.csv', csv))));
    expect(r.hyparquet).toEqual(r.paged);
    expect([r.pagedChunks, r.hyparquetChunks]).toEqual([3 * 2, 3 * 2]); // item and domain by pages; user and timestamp by hyparquet
  });

  it('a corrupt page is a DataError naming the file, row group and column', async () => {
    // Uncompressed plain values: the length of row group 2's first item made absurd.
    const layout: Layout = { version: 2, codec: 'UNCOMPRESSED', encoding: 'PLAIN', required: false, intIds: false, time: 'DOUBLE' };
    const plain = parquetOf(rows, layout);
    const at = (file: Uint8Array, g: number, column: string) => {
      const m = chunkOf(file, g, column).meta_data!;
      const ab = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
      const reader = { view: new DataView(ab), offset: Number(m.data_page_offset) };
      const h = parquetHeader(reader);
      const d = h.data_page_header_v2!;
      return reader.offset + d.repetition_levels_byte_length + d.definition_levels_byte_length; // the first value
    };
    const cut = new Uint8Array(plain);
    new DataView(cut.buffer).setUint32(at(cut, 1, 'item'), 0x7fffffff, true);
    const e1 = await caught(() => loadEvents(put('cut.parquet', cut)));
    expect(e1).toBeInstanceOf(DataError);
    expect(e1.message).toMatch(/^cut\.parquet: row group 2 of 4 \(rows 98-194\):item: corrupt or unreadable Parquet data \(/);

    // Snappy: row group 3's first page of domain no longer decompresses to its size.
    const snappy = parquetOf(rows, { ...layout, codec: 'SNAPPY', encoding: 'RLE_DICTIONARY' });
    const bad = new Uint8Array(snappy);
    const p = at(bad, 2, 'domain');
    bad[p] = bad[p] + 5; // the snappy preamble: the uncompressed length
    const e2 = await caught(() => loadEvents(put('snap.parquet', bad)));
    expect(e2).toBeInstanceOf(DataError);
    expect(e2.message).toMatch(/^snap\.parquet: row group 3 of 4 \(rows 195-291\):domain: corrupt or unreadable Parquet data \(/);
    // The same message as hyparquet's reader gives.
    parquetChunkReads.paged = false;
    expect((await caught(() => loadEvents(put('snap.parquet', bad)))).message).toBe(e2.message);
    expect((await caught(() => loadEvents(put('cut.parquet', cut)))).message).toBe(e1.message);
  });

  it('readHybrid: RLE runs and bit-packed groups of 1 to 24 bits', () => {
    // A run of 5 threes (width 2), then one bit-packed group of 0..7 (width 3, LSB first).
    const src = new Uint8Array([5 << 1, 3, (1 << 1) | 1, 0b10001000, 0b11000110, 0b11111010]);
    const out = new Int32Array(13);
    readHybrid(src, 0, 2, 2, 5, out);
    readHybrid(src, 2, src.length, 3, 8, out.subarray(5));
    expect(Array.from(out)).toEqual([3, 3, 3, 3, 3, 0, 1, 2, 3, 4, 5, 6, 7]);
    // Width 20: eight values bit-packed, read back.
    const rng = new Rng(3);
    const vals = Array.from({ length: 8 }, () => rng.int(1 << 20));
    let bits = 0n;
    vals.forEach((v, i) => (bits |= BigInt(v) << BigInt(20 * i)));
    const packed = new Uint8Array(1 + 20);
    packed[0] = (1 << 1) | 1;
    for (let i = 0; i < 20; i++) packed[1 + i] = Number((bits >> BigInt(8 * i)) & 255n);
    const got = new Int32Array(8);
    readHybrid(packed, 0, packed.length, 20, 8, got);
    expect(Array.from(got)).toEqual(vals);
    expect(() => readHybrid(packed, 0, packed.length - 1, 20, 8, got)).toThrow(/past the data/);
    expect(() => readHybrid(src, 0, 1, 2, 5, out)).toThrow(/past the data/);
  });
});
