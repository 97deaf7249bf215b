/**
 * The seeded two-domain generator (src/data/synthetic.ts): determinism, sizes and shares, rows
 * valid for loadEvents, a Zipf-like head, the overlap share, option errors that name the option,
 * and the cross-domain signal it exists for (the bridge beats popularity on cold-start users).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Bridge,
  coldStartSplit,
  Dataset,
  DEFAULT_BEHAVIOR_WEIGHTS,
  evaluate,
  generateTwoDomain,
  generateTwoDomainRows,
  loadEvents,
  OptionRangeError,
  OptionTypeError,
  Popularity,
  resolveTwoDomainOptions,
  StorageError,
  writeTwoDomainCsv,
  type EventTable,
  type TwoDomainOptions,
} from '../src/index.js';
import { tempFiles } from './helpers/data.js';

const tmp = tempFiles('migrec-synthetic-');
const SMALL: TwoDomainOptions = { events: 20_000, seed: 7 };
const BEHAVIORS = resolveTwoDomainOptions(SMALL).behaviorNames;

/** Per-user flags of the domains a table's users have rows in (bit 0: domain 0, bit 1: domain 1). */
function userDomains(t: EventTable): Uint8Array {
  const f = new Uint8Array(t.vocab.users.size);
  for (let r = 0; r < t.length; r++) f[t.user[r]] |= 1 << t.domain[r];
  return f;
}

/** A table as plain, comparable data, with domains and behaviours by name. */
function plain(t: EventTable) {
  return {
    length: t.length,
    users: t.vocab.users.list(),
    items: [0, 1].map((d) => t.vocab.items(d).list()),
    user: Array.from(t.user),
    item: Array.from(t.item),
    domain: Array.from(t.domain, (d) => t.vocab.domains.id(d)),
    behavior: Array.from(t.behavior, (b) => t.vocab.behaviors.id(b)),
    weight: Array.from(t.weight),
    timestamp: Array.from(t.timestamp),
    rating: Array.from(t.rating, (x) => (Number.isNaN(x) ? 'NaN' : x)),
  };
}

describe('generateTwoDomain: determinism', () => {
  it('the same seed gives a byte-identical CSV and identical tables; another seed differs', () => {
    const a = writeTwoDomainCsv(join(tmp.dir, 'a.csv'), SMALL);
    const b = writeTwoDomainCsv(join(tmp.dir, 'b.csv'), SMALL);
    const c = writeTwoDomainCsv(join(tmp.dir, 'c.csv'), { ...SMALL, seed: 8 });
    const bytes = (n: string) => readFileSync(join(tmp.dir, n));
    expect(bytes('a.csv').equals(bytes('b.csv'))).toBe(true);
    expect(bytes('a.csv').equals(bytes('c.csv'))).toBe(false);
    expect(a).toEqual(b);
    const t1 = generateTwoDomain(SMALL);
    const t2 = generateTwoDomain(SMALL);
    const t3 = generateTwoDomain({ ...SMALL, seed: 8 });
    expect(plain(t1.events)).toEqual(plain(t2.events));
    expect(plain(t1.events).item).not.toEqual(plain(t3.events).item);
    expect(t1.summary).toEqual(a);
    expect(t3.summary).toEqual(c);
    // No temporary files are left beside the output.
    expect(readdirSync(tmp.dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('the rows callback sees the same rows as the table, as primitives', () => {
    const { events } = generateTwoDomain(SMALL);
    let n = 0;
    let mismatches = 0;
    const summary = generateTwoDomainRows(SMALL, (user, item, domain, behavior, timestamp) => {
      for (const v of [user, item, domain, behavior, timestamp]) if (typeof v !== 'number') mismatches++;
      const r = n++;
      if (
        events.user[r] !== user ||
        events.vocab.items(domain).id(events.item[r]) !== `i${item}` ||
        events.domain[r] !== domain ||
        events.vocab.behaviors.id(events.behavior[r]) !== BEHAVIORS[behavior] ||
        events.timestamp[r] !== timestamp
      ) {
        mismatches++;
      }
    });
    expect(n).toBe(events.length);
    expect(mismatches).toBe(0);
    expect(summary.rows).toBe(n);
  });
});

describe('generateTwoDomain: the rows', () => {
  it('every row loads with loadEvents, and the loaded table is the generated one', async () => {
    const path = join(tmp.dir, 'load.csv');
    const summary = writeTwoDomainCsv(path, SMALL);
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n')[0]).toBe('user,item,domain,behavior,timestamp');
    const loaded = await loadEvents(path); // strict: one malformed row would throw
    expect(loaded.skipped).toBe(0);
    expect(loaded.length).toBe(SMALL.events);
    const { events } = generateTwoDomain(SMALL);
    expect(plain(loaded)).toEqual(plain(events));
    expect(loaded.vocab.sizes()).toEqual(events.vocab.sizes());
    expect(events.vocab.domains.list()).toEqual(['books', 'music']);
    expect(summary.items).toEqual({ books: events.vocab.items(0).size, music: events.vocab.items(1).size });
  });

  it('has the sizes and shares asked for', () => {
    const opts: TwoDomainOptions = { events: 60_000, users: 5000, items: 900, overlap: 0.5, behaviors: { view: 0.6, cart: 0.3, buy: 0.1 }, days: 30, start: 1_600_000_000, seed: 2 };
    const { events: t, summary } = generateTwoDomain(opts);
    expect(t.length).toBe(60_000);
    expect(t.vocab.users.size).toBe(5000);
    expect(summary.users).toBe(5000);
    for (let d = 0; d < 2; d++) {
      expect(t.vocab.items(d).size).toBeLessThanOrEqual(900);
      expect(t.vocab.items(d).size).toBeGreaterThan(0.8 * 900);
      for (const id of t.vocab.items(d).list()) expect(Number(id.slice(1))).toBeLessThan(900);
    }
    // Behaviour shares within 1.5 points; weights from the defaults; no ratings.
    const counts = new Map<string, number>();
    for (let r = 0; r < t.length; r++) {
      const name = t.vocab.behaviors.id(t.behavior[r]);
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (t.weight[r] !== DEFAULT_BEHAVIOR_WEIGHTS[name] || !Number.isNaN(t.rating[r])) throw new Error(`row ${r}`);
    }
    expect(Math.abs(counts.get('view')! / t.length - 0.6)).toBeLessThan(0.015);
    expect(Math.abs(counts.get('cart')! / t.length - 0.3)).toBeLessThan(0.015);
    expect(Math.abs(counts.get('buy')! / t.length - 0.1)).toBeLessThan(0.015);
    expect(Object.fromEntries(counts)).toEqual({ ...summary.rowsByBehavior });
    // Timestamps: integers in [start, start + 30 days), in time order within each user; rows grouped by user.
    let lastUser = -1;
    for (let r = 0; r < t.length; r++) {
      const ts = t.timestamp[r];
      if (!Number.isInteger(ts) || ts < 1_600_000_000 || ts >= 1_600_000_000 + 30 * 86400) throw new Error(`timestamp ${ts} at row ${r}`);
      if (t.user[r] === lastUser && ts < t.timestamp[r - 1]) throw new Error(`row ${r} goes back in time`);
      if (t.user[r] < lastUser) throw new Error(`row ${r} is not grouped by user`);
      lastUser = t.user[r];
    }
    // The default sizes: users events / 10, items events / 40.
    const d = generateTwoDomain({ events: 8000 });
    expect(d.summary.users).toBe(800);
    expect(d.summary.options.items).toBe(200);
  });

  it('respects the overlap share exactly (users with rows in both domains), the rest split between the domains', () => {
    for (const overlap of [0, 0.35, 0.8]) {
      const { events: t, summary } = generateTwoDomain({ events: 30_000, users: 3000, overlap, seed: 4 });
      const f = userDomains(t);
      const both = f.filter((x) => x === 3).length;
      expect(both).toBe(Math.round(overlap * 3000));
      expect(summary.overlapUsers).toBe(both);
      const onlyBooks = f.filter((x) => x === 1).length;
      expect(onlyBooks).toBe(Math.round((3000 - both) / 2));
      expect(f.every((x) => x !== 0)).toBe(true);
    }
  });

  it('has a Zipf-like head: the top 10% of each catalogue hold a large share of its rows, none with zipf 0', () => {
    const topShare = (opts: TwoDomainOptions) => {
      const { events: t, summary } = generateTwoDomain(opts);
      return [0, 1].map((d) => {
        const c = new Array<number>(t.vocab.items(d).size).fill(0);
        let total = 0;
        for (let r = 0; r < t.length; r++) if (t.domain[r] === d) (c[t.item[r]]++, total++);
        c.sort((a, b) => b - a);
        return c.slice(0, Math.ceil(summary.options.items / 10)).reduce((a, b) => a + b, 0) / total;
      });
    };
    const zipf1 = topShare({ events: 50_000, seed: 1 });
    const zipf0 = topShare({ events: 50_000, seed: 1, zipf: 0 });
    for (const s of zipf1) expect(s).toBeGreaterThan(0.4); // measured 0.49
    for (const s of zipf0) expect(s).toBeLessThan(0.3); // measured 0.21: noise and cluster overlap only
  });
});

describe('generateTwoDomain: cross-domain signal', () => {
  it('the bridge beats popularity clearly on users cold in music, through their books', async () => {
    const { events } = generateTwoDomain({ events: 30_000, seed: 5 });
    const split = coldStartSplit(events, { source: 'books', target: 'music', beta: 0.2, validBeta: 0.1, seed: 1 });
    const data = Dataset.fromEvents(split.train);
    const r = await evaluate(data, split.test, [new Bridge(), new Popularity()], { valid: split.valid, ks: [10] });
    const cold = (model: string) => r.results.find((x) => x.model === model && x.domain === 'music' && x.segment === 'cold')!;
    expect(cold('bridge').users).toBeGreaterThan(100);
    const bridge = cold('bridge').metrics['ndcg@10'];
    const pop = cold('popularity').metrics['ndcg@10'];
    expect(bridge).toBeGreaterThan(1.5 * pop);
    // Without taste (every row from global popularity) there is nothing to carry over.
    const flat = generateTwoDomain({ events: 30_000, seed: 5, noise: 1 }).events;
    const s2 = coldStartSplit(flat, { source: 'books', target: 'music', beta: 0.2, validBeta: 0.1, seed: 1 });
    const r2 = await evaluate(Dataset.fromEvents(s2.train), s2.test, [new Bridge(), new Popularity()], { valid: s2.valid, ks: [10] });
    const cold2 = (model: string) => r2.results.find((x) => x.model === model && x.segment === 'cold')!.metrics['ndcg@10'];
    expect(cold2('bridge')).toBeLessThan(1.2 * cold2('popularity'));
  });
});

describe('generateTwoDomain: options', () => {
  const cases: [TwoDomainOptions | Record<string, unknown>, typeof OptionRangeError | typeof OptionTypeError, string, string][] = [
    [{ events: 0 }, OptionRangeError, 'events', 'options.events must be an integer from 1'],
    [{ events: 1.5 }, OptionRangeError, 'events', 'options.events must be an integer'],
    [{ events: '10' }, OptionTypeError, 'events', 'options.events must be a number (got string)'],
    [{ users: 0 }, OptionRangeError, 'users', 'options.users'],
    [{ events: 100, users: 90 }, OptionRangeError, 'users', 'options.events (100) must be at least users + users in both domains (90 + 31)'],
    [{ events: 1, overlap: 1 }, OptionRangeError, 'events', 'options.events (1) must be at least users + users in both domains (1 + 1)'],
    [{ items: -1 }, OptionRangeError, 'items', 'options.items'],
    [{ items: 2 ** 30 }, OptionRangeError, 'items', 'options.items'],
    [{ domains: ['books'] }, OptionRangeError, 'domains', 'exactly two domains (got 1)'],
    [{ domains: ['a', 'a'] }, OptionRangeError, 'domains', 'must differ'],
    [{ domains: ['a,b', 'c'] }, OptionRangeError, 'domains', 'not a usable domain name'],
    [{ domains: 'books,music' }, OptionTypeError, 'domains', 'array of two domain names'],
    [{ overlap: 1.2 }, OptionRangeError, 'overlap', 'options.overlap must be a number from 0 to 1 (got 1.2)'],
    [{ overlap: NaN }, OptionRangeError, 'overlap', 'options.overlap'],
    [{ clusters: 0 }, OptionRangeError, 'clusters', 'options.clusters'],
    [{ zipf: -1 }, OptionRangeError, 'zipf', 'options.zipf'],
    [{ noise: 2 }, OptionRangeError, 'noise', 'options.noise'],
    [{ behaviors: { view: 1, sneeze: 1 } }, OptionRangeError, 'behaviors.sneeze', 'unknown behaviour "sneeze"'],
    [{ behaviors: { view: -1 } }, OptionRangeError, 'behaviors.view', 'options.behaviors.view must be a finite number of at least 0'],
    [{ behaviors: { view: 0 } }, OptionRangeError, 'behaviors', 'at least one behaviour a weight above 0'],
    [{ behaviors: ['view'] }, OptionTypeError, 'behaviors', 'options.behaviors must be an object'],
    [{ days: 0 }, OptionRangeError, 'days', 'options.days must be a number above 0'],
    [{ start: 1.5 }, OptionRangeError, 'start', 'options.start'],
    [{ seed: 0.5 }, OptionRangeError, 'seed', 'options.seed'],
    [{ sede: 1 }, OptionTypeError, 'sede', 'unknown option "sede"'],
  ];
  it.each(cases)('%j -> %o naming the option', (opts, kind, option, message) => {
    const err = (() => {
      try {
        resolveTwoDomainOptions(opts as TwoDomainOptions);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(kind);
    expect((err as OptionRangeError).option).toBe(option);
    expect((err as Error).message).toContain(message);
    // Every entry point checks the options before doing anything.
    expect(() => generateTwoDomain(opts as TwoDomainOptions)).toThrow(kind);
    expect(() => generateTwoDomainRows(opts as TwoDomainOptions, () => {})).toThrow(kind);
    expect(() => writeTwoDomainCsv(join(tmp.dir, 'never.csv'), opts as TwoDomainOptions)).toThrow(kind);
    expect(existsSync(join(tmp.dir, 'never.csv'))).toBe(false);
  });

  it('fills in the defaults', () => {
    const o = resolveTwoDomainOptions();
    expect({ ...o }).toEqual({
      events: 200_000,
      users: 20_000,
      items: 5000,
      domains: ['books', 'music'],
      overlap: 0.35,
      clusters: 20,
      zipf: 1,
      noise: 0.2,
      behaviorNames: ['view', 'cart', 'buy'],
      behaviorMix: [0.8, 0.15, 0.05],
      days: 90,
      start: 1704067200,
      seed: 0,
    });
  });

  it('an unwritable path is a StorageError and leaves nothing behind', () => {
    const missing = join(tmp.dir, 'no-such-dir', 'x.csv');
    expect(() => writeTwoDomainCsv(missing, { events: 100 })).toThrow(StorageError);
    expect(existsSync(join(tmp.dir, 'no-such-dir'))).toBe(false);
  });
});
