/**
 * Issue 15 ("Reliability: what an adversarial run found"), the input side: each defect has a test
 * here that failed before the fix. Numbers in the test names are the issue's defect numbers.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { escapeInput, quoteInput } from '../src/errors.js';
import { DataError, Dataset, loadCatalog, loadEvents, OptionRangeError, parseEvents, Vocabularies } from '../src/index.js';
import { caught, tempFiles } from './helpers/data.js';

const tmp = tempFiles('migrec-rel-data-');
const { dir } = tmp;
const file = tmp.file;
afterAll(() => tmp.remove());

/** Every weight of every matrix of a data set. */
function matrixWeights(events: Parameters<typeof Dataset.fromEvents>[0]): number[] {
  const ds = Dataset.fromEvents(events);
  const out: number[] = [];
  for (let d = 0; d < ds.nDomains; d++) out.push(...ds.matrix(d).data);
  return out;
}

describe('issue 15 #2: weights that overflow float32', () => {
  it('#2 a weight of 1e39 (finite in float64, Infinity in float32) is a DataError at file:line:column', async () => {
    const e = await caught(() => loadEvents(file('big.csv', 'user,item,weight\nu1,i1,2\nu2,i1,1e39\n')));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/^big\.csv:3:3: weight "1e39" is too large: weights are stored as float32 .*rescale the weights$/);
    const j = await caught(() => loadEvents(file('big.jsonl', '{"user":"u1","item":"i1","weight":1e39}\n')));
    expect(j.message).toMatch(/^big\.jsonl:1:weight: weight "1e\+39" is too large/);
  });

  it('#2 duplicate rows whose summed weight overflows float32: a DataError naming user, item and the row', async () => {
    const ev = await loadEvents(file('dup.csv', 'user,item,domain,weight\nu1,i1,shop,3e38\nu2,i1,shop,1\nu1,i1,shop,3e38\n'));
    const e = await caught(() => matrixWeights(ev));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe(
      `dup.csv:4: the summed weight of user "u1" and item "i1" (domain "shop") overflows float32 (3.4e38) at this row; rescale the weights, or merge duplicates with duplicates: 'max' or 'last'`,
    );
    // 'max' never overflows.
    const ok = Dataset.fromEvents(ev, { duplicates: 'max' }).matrix(0);
    expect(Array.from(ok.data).every((w) => Number.isFinite(w) && w > 0)).toBe(true);
  });

  it('#2 a behaviour weight that float32 cannot hold is an OptionRangeError', () => {
    expect(() => parseEvents('user,item,behavior\nu,i,share\n', { behaviorWeights: { share: 1e39 } })).toThrow(OptionRangeError);
    expect(() => parseEvents('user,item,behavior\nu,i,share\n', { behaviorWeights: { share: 1e-50 } })).toThrow(/must fit a float32/);
  });
});

describe('issue 15 #5: line length limit, linear time', () => {
  it('#5 a 5 MB line without a newline is a DataError naming file:line, fast', async () => {
    const p = file('huge.csv', 'user,item\nu1,i1\n' + 'x'.repeat(5 << 20));
    const t0 = performance.now();
    const e = await caught(() => loadEvents(p));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe('huge.csv:3: line longer than 1048576 bytes (1 MiB): lines are limited to 1 MiB; is this the right file, or a file without line breaks?');
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('#5 a 5 MB line with its newline far away (the header too), and in memory', async () => {
    const e = await caught(() => loadEvents(file('far.csv', 'user,item\n' + 'y'.repeat(5 << 20) + '\nu1,i1\n')));
    expect(e.message).toMatch(/^far\.csv:2: line longer than 1048576 bytes/);
    const h = await caught(() => loadEvents(file('farhead.csv', 'user,item' + ',z'.repeat(3 << 20) + '\nu1,i1\n')));
    expect(h.message).toMatch(/^farhead\.csv:1: line longer than 1048576 bytes/);
    expect(() => parseEvents('user,item\n' + 'y'.repeat(5 << 20) + '\n', { label: 'mem.csv' })).toThrow(/^mem\.csv:2: line longer than 1048576 bytes/);
  });

  it('#5 the limit is enforced while streaming: a pipe that never ends gets the DataError after about 1 MiB', async () => {
    const fifo = join(dir, 'pipe.csv');
    const mk = spawnSync('mkfifo', [fifo]);
    if (mk.status !== 0) return; // no mkfifo here: the file tests above still cover the limit
    const writer = createWriteStream(fifo);
    writer.on('error', () => {}); // EPIPE once the reader has given up
    writer.write('user,item\n' + 'z'.repeat(3 << 20)); // 3 MiB, no newline, never closed
    try {
      const e = await Promise.race([
        caught(() => loadEvents(fifo)),
        new Promise<Error>((res) => setTimeout(() => res(new Error('timed out: the reader waited for the end of the line')), 5000)),
      ]);
      expect(e.message).toMatch(/^pipe\.csv:2: line longer than 1048576 bytes/);
    } finally {
      writer.destroy();
    }
  });

  it('#5 lines just under the limit still load, as do multi-byte characters across read chunks', async () => {
    const long = 'é'.repeat((1 << 20) / 2 - 10); // about 1 MiB of UTF-8 in one id
    const t = await loadEvents(file('edge.csv', `user,item\n${long},i1\nu2,${'𝄞'.repeat(200_000)}\nu3,i3\n`));
    expect(t.vocab.users.list()).toEqual(['u2', 'u3', long]);
    expect(t.vocab.items(0).list()).toContain('𝄞'.repeat(200_000));
  });
});

describe('issue 15 #7: distinct ids must not merge', () => {
  it('#7 invalid UTF-8 bytes are a DataError naming file:line (they used to become U+FFFD and merge ids)', async () => {
    const bytes = Buffer.concat([Buffer.from('user,item\nu1,i1\nu'), Buffer.from([0xff]), Buffer.from('x,i1\nu'), Buffer.from([0xfe]), Buffer.from('x,i1\n')]);
    const e = await caught(() => loadEvents(file('latin.csv', bytes)));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/^latin\.csv:3: invalid UTF-8 \(byte 0xff at byte 2 of the line\): the file must be UTF-8/);
  });

  it('#7 invalid UTF-8 far into the file (after several read chunks) names the right line', async () => {
    const rows: string[] = ['user,item'];
    for (let r = 0; r < 200_000; r++) rows.push(`u${r},i${r % 97}`);
    const head = Buffer.from(rows.join('\n') + '\n');
    const bytes = Buffer.concat([head, Buffer.from('ok,i1\nbad'), Buffer.from([0xc3, 0x28]), Buffer.from(',i2\n')]);
    const e = await caught(() => loadEvents(file('deep.csv', bytes)));
    expect(e.message).toMatch(/^deep\.csv:200003: invalid UTF-8 \(byte 0xc3 at byte 4 of the line\)/);
  });

  it('#7 JSON Lines numeric ids that are not safe integers are a DataError: quote ids as strings', async () => {
    const text = '{"user":9007199254740993,"item":"i1"}\n{"user":9007199254740992,"item":"i1"}\n';
    const e = await caught(() => loadEvents(file('ids.jsonl', text)));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/^ids\.jsonl:1:user: numeric id 9007199254740992 in "user" is not an integer of at most 2\^53 - 1, .*quote ids as strings/);
    expect(() => parseEvents('{"user":"u","item":1e21}\n', { format: 'jsonl', label: 'x.jsonl' })).toThrow(/^x\.jsonl:1:item: numeric id 1e\+21/);
    expect(() => parseEvents('{"user":"u","item":1.5}\n', { format: 'jsonl', label: 'x.jsonl' })).toThrow(/^x\.jsonl:1:item: numeric id 1\.5/);
    // Safe integers and quoted big ids are fine and stay distinct.
    const ok = parseEvents('{"user":9007199254740991,"item":7}\n{"user":"9007199254740993","item":"7"}\n{"user":"9007199254740992","item":"8"}\n', { format: 'jsonl' });
    expect(ok.vocab.users.size).toBe(3);
  });
});

describe('issue 15 #11: catalog lines that are not JSON objects', () => {
  it('#11 a catalog JSON Lines line `null` (or a number, an array, a string) is a DataError with file:line', async () => {
    const vocab = new Vocabularies();
    vocab.items(vocab.domains.intern('default')).intern('i1');
    for (const [bad, got] of [
      ['null', 'null'],
      ['5', 'number'],
      ['[1]', 'an array'],
      ['"i1"', 'string'],
    ]) {
      const e = await caught(() => loadCatalog(file('cat.jsonl', `{"item":"i1","price":3}\n${bad}\n`), vocab, [1]));
      expect(e).toBeInstanceOf(DataError);
      expect(e.message).toBe(`cat.jsonl:2:1: expected a JSON object per line (got ${got})`);
    }
  });
});

describe('issue 15 #12: error messages quote short, escaped excerpts', () => {
  it('#12 quoteInput: JSON.stringify for ordinary text, control characters escaped, at most 60 characters', () => {
    expect(quoteInput('abc "x" \\ é 𝄞')).toBe(JSON.stringify('abc "x" \\ é 𝄞'));
    expect(quoteInput('\u001b[2J\u0000\u007f\u009b\u2028')).toBe('"\\u001b[2J\\u0000\\u007f\\u009b\\u2028"');
    expect(quoteInput('a'.repeat(1000))).toBe(`"${'a'.repeat(60)}…"`);
    expect(quoteInput('a'.repeat(59) + '𝄞𝄞')).toBe(`"${'a'.repeat(59)}…"`); // never half a surrogate pair
    expect(escapeInput('x\ty', 60)).toBe('x\\ty');
  });

  it('#12 a huge header is quoted as a short excerpt, not echoed', async () => {
    const header = 'id' + ',col'.repeat(200_000); // 800 KB, under the line limit
    const e = await caught(() => loadEvents(file('wide.csv', `${header}\na\n`)));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message.length).toBeLessThan(300);
    expect(e.message).toMatch(/^wide\.csv:1: missing required column "user" \(header: id,col,col,.*…\)$/);
  });

  it('#12 terminal escape sequences in headers, ids and values never reach the message raw', async () => {
    const cases: [string, string, RegExp][] = [
      ['esc-head.csv', 'user\u001b[31m,item2\nu,i\n', /\(header: user\\u001b\[31m,item2\)$/],
      ['esc-weight.csv', 'user,item,weight\nu,i,1\u009b2J\n', /malformed number "1\\u009b2J"/],
      ['esc-beh.csv', 'user,item,behavior\nu,i,\u001b]0;pwned\u0007\n', /unknown behaviour "\\u001b\]0;pwned\\u0007"/],
      ['esc-ts.csv', 'user,item,timestamp\nu,i,' + 'k'.repeat(5000) + '\u001b\n', /malformed timestamp "k{60}…"/],
    ];
    for (const [name, text, pattern] of cases) {
      const e = await caught(() => loadEvents(file(name, text)));
      expect(e).toBeInstanceOf(DataError);
      expect(e.message).toMatch(pattern);
      expect(e.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      expect(e.message.length).toBeLessThan(400);
    }
    const j = await caught(() => loadEvents(file('esc.jsonl', '{"user":"\u001b[2J' + 'q'.repeat(100_000) + '\u001b\n')));
    expect(j.message).toMatch(/^esc\.jsonl:1:1: invalid JSON \(/);
    expect(j.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(j.message.length).toBeLessThan(400);
  });
});

describe('issue 15 #13: __proto__-style names are ordinary names', () => {
  const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

  it('#13 as domains: every one is counted in vocab.sizes() as an own key', () => {
    const t = parseEvents('user,item,domain\n' + NAMES.map((n, k) => `u${k},i${k},${n}\n`).join(''));
    expect(t.vocab.domains.list().sort()).toEqual([...NAMES].sort());
    const sizes = t.vocab.sizes();
    expect(Object.keys(sizes.domains).sort()).toEqual([...NAMES].sort());
    expect(JSON.parse(JSON.stringify(sizes)).domains).toEqual(Object.fromEntries(NAMES.map((n) => [n, 1])));
  });

  it('#13 as the JSON Lines domain column: a missing key is a DataError, not Object.prototype', () => {
    for (const key of NAMES) {
      expect(() => parseEvents('{"user":"u","item":"i"}\n', { format: 'jsonl', domainColumn: key, label: 'd.jsonl' })).toThrow(
        new DataError({ file: 'd.jsonl', line: 1, column: key }, `missing domain key ${JSON.stringify(key)}`),
      );
      const t = parseEvents(`{"user":"u","item":"i",${JSON.stringify(key)}:"shop"}\n`, { format: 'jsonl', domainColumn: key });
      expect(t.vocab.domains.list()).toEqual(['shop']);
    }
  });

  it('#13 as CSV column names: a domain column, ignored extra columns, and `columns`', () => {
    for (const key of NAMES) {
      const t = parseEvents(`user,item,${key},toString\nu,i,shop,x\n`, { domainColumn: key });
      expect(t.vocab.domains.list()).toEqual(['shop']);
      const h = parseEvents('u\ti\tshop\n', { format: 'tsv', columns: ['user', 'item', key], domainColumn: key });
      expect(h.vocab.domains.list()).toEqual(['shop']);
    }
    const ignored = parseEvents('user,item,__proto__,constructor\nu,i,a,b\n');
    expect(ignored.vocab.domains.list()).toEqual(['default']);
  });

  it('#13 as behaviours: unknown without weights; with weights as an object (own keys) or a Map', () => {
    for (const key of NAMES) {
      expect(() => parseEvents(`user,item,behavior\nu,i,${key}\n`, { label: 'b.csv' })).toThrow(new RegExp(`^b\\.csv:2:3: unknown behaviour "${key}"`));
    }
    const weights = JSON.parse('{"__proto__": 3, "constructor": 5, "tostring": 7, "hasownproperty": 9}') as Record<string, number>;
    const text = 'user,item,behavior\n' + NAMES.map((n, k) => `u${k},i${k},${n}\n`).join('');
    const t = parseEvents(text, { behaviorWeights: weights });
    expect(Array.from(t.weight)).toEqual([3, 5, 7, 9]);
    const m = parseEvents(text, { behaviorWeights: new Map([['__proto__', 2], ['constructor', 4], ['toString', 6], ['hasOwnProperty', 8]]) });
    expect(Array.from(m.weight)).toEqual([2, 4, 6, 8]);
  });

  it('#13 as ids (users and items), in CSV and JSON Lines', () => {
    for (const format of ['csv', 'jsonl'] as const) {
      const text =
        format === 'csv'
          ? 'user,item\n' + NAMES.map((n) => `${n},${n}\n`).join('')
          : NAMES.map((n) => JSON.stringify({ user: n, item: n }) + '\n').join('');
      const t = parseEvents(text, { format });
      expect(t.vocab.users.list().sort()).toEqual([...NAMES].sort());
      expect(t.vocab.items(0).list().sort()).toEqual([...NAMES].sort());
      expect(matrixWeights(t)).toEqual([1, 1, 1, 1]);
    }
  });
});

describe('issue 15 #14: weights that become 0', () => {
  it('#14 a weight of 1e-50 (0 in float32) is a DataError naming the row', async () => {
    const e = await caught(() => loadEvents(file('tiny.csv', 'user,item,weight\nu1,i1,1\nu1,i2,1e-50\n')));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/^tiny\.csv:3:3: weight "1e-50" is too small: it would be stored as 0 in float32 .*rescale the weights$/);
  });

  it('#14 with halfLifeDays, a far-future outlier is reported (row and reference time), not every other weight zeroed', async () => {
    const text = 'user,item,timestamp\nu1,i1,1511544070\nu2,i2,1511544080\nu3,i3,2999-01-01T00:00:00Z\n';
    const e = await caught(() => loadEvents(file('future.csv', text), { halfLifeDays: 7 }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(
      /^future\.csv:2:3: with halfLifeDays 7, this row's weight decays to 0: its timestamp 2017-11-24T17:21:10\.000Z is .* days before the reference time 2999-01-01T00:00:00\.000Z \(the latest timestamp in the file, line 4\); check the timestamps/,
    );
    // Without the outlier every weight is positive.
    const ok = await loadEvents(file('past.csv', text.split('\n').slice(0, 3).join('\n') + '\n'), { halfLifeDays: 7 });
    expect(Array.from(ok.weight).every((w) => w > 0)).toBe(true);
  });
});
