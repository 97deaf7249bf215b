import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError, loadEvents, loadMovieLens, parseEvents, Vocabularies } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'migrec-read-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('loadEvents', () => {
  it('reads CSV with canonical columns in any order, extra columns ignored', async () => {
    const t = await loadEvents(file('a.csv', 'extra,item,user,domain,behavior,timestamp\nx,i1,u1,books,pv,100\ny,i2,u1,books,buy,200\nz,i1,u2,music,cart,300\n'));
    expect(t.length).toBe(3);
    expect(t.vocab.domains.list()).toEqual(['books', 'music']);
    expect(Array.from(t.weight)).toEqual([1, 4, 3]);
    expect(Array.from(t.timestamp)).toEqual([100, 200, 300]);
    expect(t.vocab.items(0).list()).toEqual(['i1', 'i2']);
    expect(t.vocab.items(1).list()).toEqual(['i1']);
    expect(t.vocab.users.list()).toEqual(['u1', 'u2']);
  });

  it('numbers new ids in natural order whatever the row order', async () => {
    const t = await loadEvents(file('n.csv', 'user,item\nu10,i10\nu2,i9\nu1,i100\n'));
    expect(t.vocab.users.list()).toEqual(['u1', 'u2', 'u10']);
    expect(t.vocab.items(0).list()).toEqual(['i9', 'i10', 'i100']);
    expect(Array.from(t.user)).toEqual([2, 1, 0]);
    expect(Array.from(t.item)).toEqual([1, 0, 2]);
  });

  it('reads TSV, JSON Lines, quotes, BOM, CRLF and blank lines', async () => {
    const tsv = await loadEvents(file('a.tsv', 'user\titem\trating\nu1\ti1\t4.5\n'));
    expect(tsv.rating[0]).toBe(4.5);
    const jl = await loadEvents(file('a.jsonl', '{"user":"u1","item":7,"domain":"app","weight":2.5}\n\n{"user":"u2","item":"7"}\n'));
    expect(jl.length).toBe(2);
    expect(jl.vocab.domains.list()).toEqual(['app', 'default']);
    expect(jl.weight[0]).toBe(2.5);
    const q = await loadEvents(file('q.csv', '\ufeffuser,item\r\n"u,1","say ""hi"""\r\n'));
    expect(q.vocab.users.list()).toEqual(['u,1']);
    expect(q.vocab.items(0).list()).toEqual(['say "hi"']);
  });

  it('tags files without a domain column, and keeps ISO timestamps', async () => {
    const t = await loadEvents(file('d.csv', 'user,item,timestamp\nu1,i1,2017-12-01T00:00:00Z\n'), { domain: 'pc' });
    expect(t.vocab.domains.list()).toEqual(['pc']);
    expect(t.timestamp[0]).toBe(Date.UTC(2017, 11, 1) / 1000);
  });

  it('applies configurable behaviour weights and time decay', async () => {
    const p = file('w.csv', 'user,item,behavior,timestamp\nu1,i1,pv,864000\nu1,i2,share,0\n');
    const t = await loadEvents(p, { behaviorWeights: { share: 5 }, halfLifeDays: 10 });
    expect(t.weight[0]).toBeCloseTo(1, 6);
    expect(t.weight[1]).toBeCloseTo(2.5, 6); // 5 x 2^(-10 days / 10 days)
  });

  it('loads against existing vocabularies, appending unseen ids', async () => {
    const train = await loadEvents(file('tr.csv', 'user,item\nu1,i1\nu2,i2\n'));
    const test = await loadEvents(file('te.csv', 'user,item\nu3,i2\nu1,i9\n'), { vocab: train.vocab });
    expect(Array.from(test.user)).toEqual([2, 0]);
    expect(Array.from(test.item)).toEqual([1, 2]);
  });

  it('reads MovieLens u.data format', async () => {
    const t = await loadMovieLens(file('u.data', '196\t242\t3\t881250949\n186\t302\t3\t891717742\n'));
    expect(t.length).toBe(2);
    expect(Array.from(t.rating)).toEqual([3, 3]);
    expect(t.vocab.users.list()).toEqual(['186', '196']);
  });
});

describe('loadEvents: bad input gets a DataError naming file, line and column', () => {
  const cases: Array<[string, string, string]> = [
    ['missing column', 'user,domain\nu1,a\n', 'bad.csv:1: missing required column "item" (header: user,domain)'],
    ['malformed number', 'user,item,weight\nu1,i1,1\nu1,i2,abc\n', 'bad.csv:3:3: malformed number "abc" in column "weight" (expected a positive finite number)'],
    ['negative weight', 'user,item,weight\nu1,i1,-2\n', 'bad.csv:2:3: malformed number "-2" in column "weight" (expected a positive finite number)'],
    ['NaN rating', 'user,item,rating\nu1,i1,NaN\n', 'bad.csv:2:3: malformed number "NaN" in column "rating" (expected a finite number)'],
    ['empty file', '', 'bad.csv: empty file (expected a header row and at least one data row)'],
    ['header only', 'user,item\n', 'bad.csv: no data rows after the header'],
    ['field count', 'user,item\nu1,i1,extra\n', 'bad.csv:2:3: expected 2 fields, found 3'],
    ['empty id', 'user,item\n,i1\n', 'bad.csv:2:1: empty user id'],
    ['bad timestamp', 'user,item,timestamp\nu1,i1,yesterday\n', 'bad.csv:2:3: malformed timestamp "yesterday" (expected unix seconds or ISO-8601)'],
    ['unterminated quote', 'user,item\n"u1,i1\n', 'bad.csv:2:1: unterminated quoted field (fields cannot span lines)'],
  ];
  for (const [name, text, message] of cases) {
    it(name, async () => {
      const p = file('bad.csv', text);
      const err = await loadEvents(p).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataError);
      expect((err as DataError).message).toBe(message);
    });
  }

  it('unknown behaviour', () => {
    expect(() => parseEvents('user,item,behavior\nu1,i1,wink\n', { label: 'b.csv' })).toThrow(
      'b.csv:2:3: unknown behaviour "wink" (known: pv, view, click, fav, like, collect, cart, buy, purchase, order; add it with behaviorWeights)',
    );
  });

  it('bad JSON line', () => {
    expect(() => parseEvents('{"user":"u1","item":"i1"}\n{"user":"u2"\n', { format: 'jsonl', label: 'e.jsonl' })).toThrow(/^e\.jsonl:2:1: invalid JSON/);
    expect(() => parseEvents('{"user":"u1"}\n', { format: 'jsonl', label: 'e.jsonl' })).toThrow('e.jsonl:1:item: missing required key "item"');
  });

  it('missing file', async () => {
    await expect(loadEvents(join(dir, 'nope.csv'))).rejects.toThrow(`nope.csv: file not found: ${join(dir, 'nope.csv')}`);
  });

  it('skipInvalid counts skipped rows and loses nothing else', async () => {
    const t = await loadEvents(file('s.csv', 'user,item,weight\nu1,i1,1\nu2,i2,x\nu3,i3,2\n'), { skipInvalid: true });
    expect(t.length).toBe(2);
    expect(t.skipped).toBe(1);
    expect(t.firstSkipped?.line).toBe(3);
  });

  it('rejects wrong options with the option named', async () => {
    await expect(loadEvents(file('o.csv', 'user,item\nu,i\n'), { halfLifeDays: 0 })).rejects.toThrow(
      'options.halfLifeDays must be a positive number of days (got 0)',
    );
    await expect(loadEvents(file('o.csv', 'user,item\nu,i\n'), { behaviorWeights: { buy: Number.NaN } })).rejects.toThrow(
      'options.behaviorWeights.buy must be a positive finite number (got NaN)',
    );
    await expect(loadEvents(file('o.csv', 'user,item\nu,i\n'), { vocab: {} as Vocabularies })).rejects.toThrow(TypeError);
  });
});

describe('time decay without timestamps', () => {
  it('names the line, and says the column is missing rather than pointing at a column', () => {
    expect(() => parseEvents('user,item\nu1,i1\n', { label: 't.csv', halfLifeDays: 30 })).toThrow(
      new DataError({ file: 't.csv', line: 2 }, 'halfLifeDays needs a timestamp on every row, and the file has no timestamp column'),
    );
    expect(() => parseEvents('user,item,timestamp\nu1,i1,\n', { label: 't.csv', halfLifeDays: 30 })).toThrow('t.csv:2:3: halfLifeDays needs a timestamp on every row');
  });
});
