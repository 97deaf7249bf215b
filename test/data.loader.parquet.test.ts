/**
 * Parquet input (issue 14 item 7): a file or a data-lake directory of part files gives the same
 * rows, vocabularies and model as a CSV of the same rows; every kind of bad input is a DataError
 * saying what and where. Fixtures are written at test time with hyparquet-writer.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, Dataset, ItemKnn, loadEvents, type LoadedEvents, type LoadOptions } from '../src/index.js';
import { Rng } from '../src/random.js';
import { cli } from './helpers/cli.js';
import { caught, tempFiles } from './helpers/data.js';

const tmp = tempFiles('migrec-parquet-');
const { dir } = tmp;
const put = tmp.file;
afterAll(() => tmp.remove());

/** Everything but `line` (CSV lines count the header; Parquet rows do not) and `source`. */
function snapshot(t: LoadedEvents): Record<string, unknown> {
  const out: Record<string, unknown> = { length: t.length, skipped: t.skipped };
  for (const c of ['user', 'item', 'domain', 'behavior', 'weight', 'rating', 'timestamp'] as const) out[c] = Array.from(t[c]);
  out.users = t.vocab.users.list();
  out.domains = t.vocab.domains.list();
  out.behaviors = t.vocab.behaviors.list();
  out.items = Array.from({ length: t.vocab.domains.size }, (_, d) => t.vocab.items(d).list());
  return out;
}

interface Rows {
  user: string[];
  item: number[];
  domain: string[];
  behavior: string[];
  weight: number[];
  rating: number[];
  ts: number[];
}

function makeRows(n: number, seed: number): Rows {
  const rng = new Rng(seed);
  const r: Rows = { user: [], item: [], domain: [], behavior: [], weight: [], rating: [], ts: [] };
  for (let k = 0; k < n; k++) {
    r.user.push(`u${rng.int(40)}`);
    r.item.push(rng.int(30) * 1000 + 7);
    r.domain.push(['books', 'music', 'toys'][rng.int(3)]);
    r.behavior.push(['pv', 'Buy', 'cart', 'fav'][rng.int(4)]);
    r.weight.push([0.5, 1, 2, 3.25][rng.int(4)]);
    r.rating.push(1 + rng.int(9) / 2);
    r.ts.push(1_700_000_000 + rng.int(5_000_000) + (rng.int(2) ? 0.5 : 0));
  }
  return r;
}

function csvOf(r: Rows, from = 0, to = r.user.length): string {
  const lines = ['user,item,domain,behavior,weight,rating,timestamp'];
  for (let k = from; k < to; k++) lines.push([r.user[k], r.item[k], r.domain[k], r.behavior[k], r.weight[k], r.rating[k], r.ts[k]].join(','));
  return `${lines.join('\n')}\n`;
}

/** The same rows as Parquet: string users, INT64 items, TIMESTAMP (ms) times, FLOAT weights. */
function parquetOf(r: Rows, opts: { from?: number; to?: number; rowGroupSize?: number; codec?: 'SNAPPY' | 'GZIP' | 'BROTLI' | 'UNCOMPRESSED' } = {}): ArrayBuffer {
  const { from = 0, to = r.user.length, rowGroupSize = 13, codec = 'SNAPPY' } = opts;
  const s = <T>(a: T[]) => a.slice(from, to);
  return parquetWriteBuffer({
    columnData: [
      { name: 'User', data: s(r.user), type: 'STRING' }, // names match case-insensitively, like a CSV header
      { name: 'item', data: s(r.item).map(BigInt), type: 'INT64' },
      { name: 'domain', data: s(r.domain), type: 'STRING' },
      { name: 'behavior', data: s(r.behavior), type: 'STRING' },
      { name: 'weight', data: new Float32Array(s(r.weight)), type: 'FLOAT' },
      { name: 'rating', data: s(r.rating), type: 'DOUBLE' },
      { name: 'timestamp', data: s(r.ts).map((t) => new Date(t * 1000)), type: 'TIMESTAMP' },
      { name: 'extra', data: s(r.user).map((_, k) => k % 2 === 0), type: 'BOOLEAN' }, // ignored, like an extra CSV column
    ],
    rowGroupSize,
    codec,
    compressors: { GZIP: (b: Uint8Array) => gzipSync(b), BROTLI: (b: Uint8Array) => brotliCompressSync(b) },
  });
}

describe('Parquet input', () => {
  const rows = makeRows(300, 5);

  it('a file (several row groups, each codec) gives the same rows and vocabularies as the CSV', { timeout: 30_000 }, async () => {
    const csv = snapshot(await loadEvents(put('same.csv', csvOf(rows))));
    for (const codec of ['SNAPPY', 'GZIP', 'BROTLI', 'UNCOMPRESSED'] as const) {
      const t = await loadEvents(put(`same-${codec}.parquet`, parquetOf(rows, { codec })));
      expect(snapshot(t), codec).toEqual(csv);
    }
    // By magic bytes, whatever the name; and with --format parquet.
    const noExt = put('events-parquet.bin', parquetOf(rows));
    expect(snapshot(await loadEvents(noExt))).toEqual(csv);
    expect(snapshot(await loadEvents(noExt, { format: 'parquet' }))).toEqual(csv);
  });

  it('a data-lake directory of part files (in natural order, markers and checksums ignored) = one CSV of all rows', { timeout: 30_000 }, async () => {
    const lake = join(dir, 'lake');
    mkdirSync(lake);
    writeFileSync(join(lake, 'part-2.parquet'), new Uint8Array(parquetOf(rows, { from: 0, to: 120 })));
    writeFileSync(join(lake, 'part-10.parquet'), new Uint8Array(parquetOf(rows, { from: 120, to: 300, rowGroupSize: 50 })));
    writeFileSync(join(lake, '_SUCCESS'), '');
    writeFileSync(join(lake, '_committed_1234'), '{}');
    writeFileSync(join(lake, '.part-2.parquet.crc'), 'junk');
    writeFileSync(join(lake, '_started_1234'), 'junk');
    writeFileSync(join(lake, 'notes.txt'), 'not a part file');
    const fromLake = await loadEvents(lake);
    expect(snapshot(fromLake)).toEqual(snapshot(await loadEvents(put('all.csv', csvOf(rows)))));
    expect(Array.from(fromLake.line.subarray(118, 123))).toEqual([119, 120, 1, 2, 3]); // rows counted per part file

    // Same model, too.
    const fit = async (t: LoadedEvents) => {
      const m = new ItemKnn({ neighbors: 10 });
      await m.fit(Dataset.fromEvents(t));
      return ['u1', 'u7', 'u33'].map((u) => {
        const r = m.recommend(u, { k: 5, domain: 'music' });
        return [r.items, Array.from(r.scores)];
      });
    };
    expect(await fit(fromLake)).toEqual(await fit(await loadEvents(put('all2.csv', csvOf(rows)))));
  });

  it('integer ids become their decimal text; domainColumn and halfLifeDays apply as for CSV', async () => {
    const p = put('ints.parquet', parquetWriteBuffer({
      columnData: [
        { name: 'user', data: [3, 10, 2], type: 'INT32' },
        { name: 'item', data: [7n, 7n, 12345678901234567n], type: 'INT64' },
        { name: 'scene', data: ['a', 'b', 'a'], type: 'STRING' },
        { name: 'timestamp', data: [1700000000n, 1700086400n, 1700000000n], type: 'INT64' },
      ],
    }));
    const opts: LoadOptions = { domainColumn: 'scene', halfLifeDays: 1 };
    const t = await loadEvents(p, opts);
    const c = await loadEvents(put('ints.csv', 'user,item,scene,timestamp\n3,7,a,1700000000\n10,7,b,1700086400\n2,12345678901234567,a,1700000000\n'), opts);
    expect(snapshot(t)).toEqual(snapshot(c));
    expect(t.vocab.users.list()).toEqual(['2', '3', '10']);
  });

  it('bad files and bad values are DataErrors naming file, row and column', async () => {
    const e1 = await caught(() => loadEvents(put('fake.parquet', 'user,item\nu1,i1\n')));
    expect(e1).toBeInstanceOf(DataError);
    expect(e1.message).toMatch(/^fake\.parquet: not a Parquet file, or its footer is corrupt \(/);

    const good = new Uint8Array(parquetOf(rows, { rowGroupSize: 100 }));
    const e2 = await caught(() => loadEvents(put('cut.parquet', good.subarray(0, good.length - 100))));
    expect(e2.message).toMatch(/^cut\.parquet: not a Parquet file, or its footer is corrupt/);

    const bad = new Uint8Array(good);
    for (let k = 200; k < 1200; k++) bad[k] = (bad[k] * 7 + 13) & 255; // the data pages of the first row group
    const e3 = await caught(() => loadEvents(put('corrupt.parquet', bad)));
    expect(e3).toBeInstanceOf(DataError);
    expect(e3.message).toMatch(/^corrupt\.parquet: row group 1 of 3 \(rows 1-100\):\w+: corrupt or unreadable Parquet data \(/);

    const noUser = put('nouser.parquet', parquetWriteBuffer({ columnData: [{ name: 'item', data: ['i1'], type: 'STRING' }] }));
    expect((await caught(() => loadEvents(noUser))).message).toBe('nouser.parquet: missing required column "user" (header: item)');

    const wrong = put('wrong.parquet', parquetWriteBuffer({ columnData: [{ name: 'user', data: [1.5], type: 'DOUBLE' }, { name: 'item', data: ['i1'], type: 'STRING' }] }));
    expect((await caught(() => loadEvents(wrong))).message).toBe('wrong.parquet:user: column "user" has Parquet type DOUBLE; expected strings or integers');
    const wrongTs = put('wrongts.parquet', parquetWriteBuffer({ columnData: [{ name: 'user', data: ['u'], type: 'STRING' }, { name: 'item', data: ['i1'], type: 'STRING' }, { name: 'timestamp', data: [true], type: 'BOOLEAN' }] }));
    expect((await caught(() => loadEvents(wrongTs))).message).toBe('wrongts.parquet:timestamp: column "timestamp" has Parquet type BOOLEAN; expected unix seconds, a TIMESTAMP or DATE, or ISO-8601 strings');

    const values = put('values.parquet', parquetWriteBuffer({
      columnData: [
        { name: 'user', data: ['u1', null, 'u3', 'u4', 'u5'], type: 'STRING' },
        { name: 'item', data: ['i1', 'i2', 'i3', 'i4', ''], type: 'STRING' },
        { name: 'weight', data: [1, 2, NaN, 1, 1], type: 'DOUBLE' },
        { name: 'rating', data: [1, 2, 3, Infinity, 1], type: 'DOUBLE' },
      ],
    }));
    expect((await caught(() => loadEvents(values))).message).toBe('values.parquet:2:user: null user id');
    const skipped = await loadEvents(values, { skipInvalid: true });
    expect(skipped.length).toBe(1);
    expect(skipped.skipped).toBe(4);
    expect(skipped.firstSkipped!.message).toBe('values.parquet:2:user: null user id');
    const msgs: string[] = [];
    for (const k of [2, 3, 4]) {
      const one = put(`v${k}.parquet`, parquetWriteBuffer({
        columnData: [
          { name: 'user', data: ['u'], type: 'STRING' },
          { name: 'item', data: [k === 4 ? '' : 'i'], type: 'STRING' },
          { name: 'weight', data: [k === 2 ? NaN : 1], type: 'DOUBLE' },
          { name: 'rating', data: [k === 3 ? Infinity : 1], type: 'DOUBLE' },
        ],
      }));
      msgs.push((await caught(() => loadEvents(one))).message);
    }
    expect(msgs).toEqual([
      'v2.parquet:1:weight: malformed number "NaN" in column "weight" (expected a positive finite number)',
      'v3.parquet:1:rating: malformed number "Infinity" in column "rating" (expected a finite number)',
      'v4.parquet:1:item: empty item id',
    ]);

    const inv = put('inv.parquet', parquetWriteBuffer({
      columnData: [
        { name: 'user', data: [new Uint8Array([0x75, 0x31]), new Uint8Array([0x75, 0xff]), new Uint8Array([0x75, 0xfe])], type: 'BYTE_ARRAY' },
        { name: 'item', data: ['i1', 'i1', 'i1'], type: 'STRING' },
      ],
    }));
    expect((await caught(() => loadEvents(inv))).message).toBe('inv.parquet:2:user: invalid UTF-8 in column "user": Parquet strings must be UTF-8 (distinct ids would otherwise merge)');

    const empty = join(dir, 'emptylake');
    mkdirSync(empty);
    writeFileSync(join(empty, '_SUCCESS'), '');
    expect((await caught(() => loadEvents(empty))).message).toBe('emptylake: no Parquet part files (*.parquet) in this directory (found: _SUCCESS)');
    expect((await caught(() => loadEvents(join(dir, 'missing.parquet')))).message).toMatch(/^missing\.parquet: file not found: /);
    expect(readFileSync(values).subarray(0, 4).toString()).toBe('PAR1');
  });

  it('migrec fit reads Parquet (a directory too) and accepts --format parquet', async () => {
    const lake = join(dir, 'clilake');
    mkdirSync(lake);
    writeFileSync(join(lake, 'part-00000.parquet'), new Uint8Array(parquetOf(rows, { from: 0, to: 150 })));
    writeFileSync(join(lake, 'part-00001.parquet'), new Uint8Array(parquetOf(rows, { from: 150, to: 300 })));
    const fromLake = await cli('fit', '--train', lake, '--models', 'popularity', '--threads', '0', '--out', join(dir, 'lake.migrec'));
    expect(fromLake.stderr).toBe('');
    expect(fromLake.code).toBe(0);
    const one = put('cli.data', parquetOf(rows));
    expect((await cli('fit', '--train', one, '--format', 'parquet', '--models', 'popularity', '--threads', '0', '--out', join(dir, 'one.migrec'))).code).toBe(0);
    const bad = await cli('fit', '--train', one, '--format', 'xml', '--models', 'popularity', '--threads', '0', '--out', join(dir, 'x.migrec'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--format must be csv, tsv, jsonl or parquet \(got "xml"\)/);
  });
});
