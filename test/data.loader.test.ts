/**
 * The byte-level loader (issue 14 item 7): `loadEvents` on a CSV/TSV file parses bytes, and must give
 * exactly what the string path gives (`parseEvents` reads the same text line by line as strings):
 * the same rows, vocabularies, skipped counts and error messages, on random files full of quotes,
 * CRLF, blank lines, odd numbers and bad rows. Plus `.gz` input and the natural order of new ids.
 */
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, loadEvents, parseEvents, type LoadedEvents, type LoadOptions } from '../src/index.js';
import { Rng } from '../src/random.js';
import { caught, tempFiles } from './helpers/data.js';

const tmp = tempFiles('migrec-loader-');
const { dir } = tmp;
const file = tmp.file;
afterAll(() => tmp.remove());

const COLUMNS = ['user', 'item', 'domain', 'behavior', 'weight', 'rating', 'timestamp', 'line'] as const;

/** Everything a load yields, as plain data (NaN and -0 kept apart by Object.is in toEqual). */
function snapshot(t: LoadedEvents): Record<string, unknown> {
  const out: Record<string, unknown> = { length: t.length, skipped: t.skipped, firstSkipped: t.firstSkipped?.message };
  for (const c of COLUMNS) out[c] = Array.from(t[c]);
  out.users = t.vocab.users.list();
  out.domains = t.vocab.domains.list();
  out.behaviors = t.vocab.behaviors.list();
  out.items = Array.from({ length: t.vocab.domains.size }, (_, d) => t.vocab.items(d).list());
  return out;
}

/** A random CSV (or TSV) text with every kind of line the string path knows. */
function randomFile(rng: Rng, delim: string, rows: number, bad: boolean): string {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];
  const id = (p: string) =>
    pick([
      () => `${p}${rng.int(50)}`,
      () => String(rng.int(40)),
      () => `0${rng.int(9)}`,
      () => `${p}-${rng.int(5)}x`,
      () => `张${rng.int(4)}`,
      () => `${p}${'9'.repeat(16)}`,
      () => `${p}_${rng.int(3)}_long_identifier_${rng.int(3)}`,
    ])();
  const cell = (v: string) => (rng.int(25) === 0 ? `"${v.replace(/"/g, '""')}"` : v);
  const good = {
    domain: ['books', 'music', 'Toys', 'é'],
    behavior: ['pv', 'PV', 'Buy', 'cart', 'fav', '', 'click'],
    weight: ['', '', '2', '0.5', '1e3', '3.25', '007', '0.000001', '123456789012345678', '98765432109876543', '0.98765432109876543'],
    rating: ['', '4', '3.5', '-0', '-2.75', '1.', '-9876543210987.6543', '0.30000000000000004'],
    timestamp: ['1700000000', '1700000000.5', '2024-01-02T03:04:05Z', '', '1700000000.123456789012', '-5', '1700000000.1234567', '9876543.210987654', '1.7000000000000001'],
  };
  const wrong = {
    domain: [''],
    behavior: ['zap'],
    weight: ['-1', 'abc', '0', ' 2', '1e39'],
    rating: ['x', '1e39'],
    timestamp: ['bad', '2024-13-45'],
  };
  const lines: string[] = [['user', 'item', 'domain', 'behavior', 'weight', 'rating', 'timestamp'].join(delim)];
  for (let r = 0; r < rows; r++) {
    const k = rng.int(40);
    if (k === 0) lines.push('');
    else if (k === 1) lines.push(pick(['  ', '\t', ' \u3000 ']));
    else if (k === 2 && bad) lines.push(['u1', 'i1'].join(delim)); // too few fields
    else if (k === 3 && bad) lines.push(`"u1${delim}i1`); // unterminated quote
    else {
      const f: Record<string, string> = {};
      for (const key of ['domain', 'behavior', 'weight', 'rating', 'timestamp'] as const) {
        f[key] = bad && rng.int(60) === 0 ? pick(wrong[key]) : pick(good[key]);
      }
      const user = bad && rng.int(80) === 0 ? '' : id('u');
      lines.push([cell(user), cell(id('i')), cell(f.domain), cell(f.behavior), cell(f.weight), cell(f.rating), cell(f.timestamp)].join(delim));
    }
  }
  const eol = () => (rng.int(5) === 0 ? '\r\n' : '\n');
  return (rng.int(2) === 0 ? '\uFEFF' : '') + lines.map((l) => l + eol()).join('').replace(/\r?\n$/, rng.int(2) === 0 ? '' : '\n');
}

describe('byte-level CSV/TSV loader = string path', () => {
  it('gives the same rows, vocabularies and skipped counts on random files (quotes, CRLF, BOM, blanks, bad rows)', async () => {
    const rng = new Rng(714);
    for (let round = 0; round < 24; round++) {
      const tsv = round % 3 === 2;
      const text = randomFile(rng, tsv ? '\t' : ',', 50 + rng.int(400), true);
      const opts: LoadOptions = { skipInvalid: true, format: tsv ? 'tsv' : 'csv', label: 'r.csv' };
      const fast = await loadEvents(file(`r${round}.csv`, text), opts);
      const slow = parseEvents(text.replace(/^\uFEFF/, ''), opts);
      expect(snapshot(fast)).toEqual(snapshot(slow));
      expect(fast.skipped).toBeGreaterThan(0); // the bad rows were there
    }
  });

  it('raises the same DataError as the string path for each kind of bad row', async () => {
    const rng = new Rng(9);
    let checked = 0;
    for (let round = 0; round < 40; round++) {
      const text = randomFile(rng, ',', 120, true);
      const e1 = await caught(() => loadEvents(file('bad.csv', text), { label: 'bad.csv' }));
      const e2 = await caught(() => parseEvents(text.replace(/^\uFEFF/, ''), { label: 'bad.csv' }));
      expect(e1).toBeInstanceOf(DataError);
      expect(e1.message).toBe(e2.message);
      checked++;
    }
    expect(checked).toBe(40);
  });

  it('keeps halfLifeDays, domainColumn and headerless columns working the same way', async () => {
    const text = 'u1,i1,books,pv,1700000000\nu2,i2,music,buy,1700086400\nu1,i2,music,cart,1700000000.5\n';
    for (const opts of [{ columns: ['user', 'item', 'domain', 'behavior', 'timestamp'], halfLifeDays: 1 }, { columns: ['user', 'item', 'scene', 'behavior', 'timestamp'], domainColumn: 'scene' }] as LoadOptions[]) {
      expect(snapshot(await loadEvents(file('h.csv', text), { ...opts, label: 'h.csv' }))).toEqual(snapshot(parseEvents(text, { ...opts, label: 'h.csv' })));
    }
    const noTs = 'user,item\nu1,i1\n';
    const e1 = await caught(() => loadEvents(file('nots.csv', noTs), { halfLifeDays: 3 }));
    expect(e1.message).toBe((await caught(() => parseEvents(noTs, { halfLifeDays: 3, label: 'nots.csv' }))).message);
  });

  it('numbers new ids in natural order whatever the row order (numeric ids sort as numbers)', async () => {
    const ids = ['10', '9', '100', '0', '42', '7'];
    const rows = ids.map((u, k) => `${u},i${ids[(k + 1) % ids.length]}`);
    const a = await loadEvents(file('n1.csv', `user,item\n${rows.join('\n')}\n`));
    const b = await loadEvents(file('n2.csv', `user,item\n${rows.reverse().join('\n')}\n`));
    expect(a.vocab.users.list()).toEqual(['0', '7', '9', '10', '42', '100']);
    expect(a.vocab.items(0).list()).toEqual(['i0', 'i7', 'i9', 'i10', 'i42', 'i100']);
    expect(b.vocab.users.list()).toEqual(a.vocab.users.list());
    expect(a.vocab.users.get('42')).toBe(4); // the lookup map is filled on first use
  });

  it('a second load against the first one\'s vocabularies reuses its indices', async () => {
    const train = await loadEvents(file('train.csv', 'user,item\nu2,i5\nu10,i1\n'));
    const test = await loadEvents(file('test.csv', 'user,item\nu10,i5\nu3,i9\n'), { vocab: train.vocab });
    expect(train.vocab.users.list()).toEqual(['u2', 'u10', 'u3']);
    expect(Array.from(test.user)).toEqual([1, 2]);
    expect(Array.from(test.item)).toEqual([1, 2]);
  });
});

describe('.gz input', () => {
  const text = 'user,item,behavior\nu1,i1,pv\nu2,i3,buy\r\nu1,i2,cart\n';

  it('is decompressed by name (.csv.gz, .tsv.gz) and by its magic bytes, with the same rows', async () => {
    const plain = snapshot(await loadEvents(file('e.csv', text)));
    expect(snapshot(await loadEvents(file('e.csv.gz', gzipSync(text))))).toEqual(plain);
    expect(snapshot(await loadEvents(file('e-gzip-inside.csv', gzipSync(text))))).toEqual(plain);
    const tsv = await loadEvents(file('e.tsv.gz', gzipSync(text.replace(/,/g, '\t'))));
    expect(snapshot(tsv)).toEqual(plain);
    const jl = await loadEvents(file('e.jsonl.gz', gzipSync('{"user":"u1","item":"i1"}\n')));
    expect(jl.length).toBe(1);
  });

  it('a truncated or corrupt .gz is a DataError naming the file', async () => {
    const big = `user,item\n${Array.from({ length: 20000 }, (_, k) => `u${k},i${k % 97}`).join('\n')}\n`;
    const gz = gzipSync(big);
    const e = await caught(() => loadEvents(file('cut.csv.gz', gz.subarray(0, gz.length >> 1))));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/^cut\.csv\.gz:\d+: corrupt or truncated gzip data \(unexpected end of file\) after \d+ complete lines/);
    const bad = Buffer.from(gz);
    for (let k = 20; k < 60; k++) bad[k] ^= 0x5a;
    const e2 = await caught(() => loadEvents(file('bad.csv.gz', bad)));
    expect(e2).toBeInstanceOf(DataError);
    expect(e2.message).toMatch(/^bad\.csv\.gz:\d+: corrupt or truncated gzip data/);
    const e3 = await caught(() => loadEvents(file('notgz.csv.gz', text)));
    expect(e3.message).toMatch(/^notgz\.csv\.gz:1: corrupt or truncated gzip data \(incorrect header check\)/);
  });
});
