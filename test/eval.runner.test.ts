import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { bootstrapMean, Dataset, DataError, evaluate, OptionRangeError, parseEvents, Popularity, RandomModel } from '../src/index.js';

// Item i3 is the most popular, then i2, then i1.
const train = parseEvents(
  'user,item,domain\na,i3,d\nb,i3,d\nc,i3,d\na,i2,d\nb,i2,d\nc,i1,d\nz,s1,src\n',
  { label: 'train.csv' },
);
const data = Dataset.fromEvents(train);

describe('evaluate', () => {
  it('ranks all training items with seen items excluded, per segment', async () => {
    // a (warm, has i3,i2) -> only i1 left: relevant i1 -> hit at 1.
    // z (cold in d) -> [i3, i2, i1]: relevant i2 -> hit at 2.
    const test = parseEvents('user,item,domain\na,i1,d\nz,i2,d\n', { vocab: train.vocab, label: 'test.csv' });
    const r = await evaluate(data, test, [new Popularity()], { ks: [1, 2] });
    const by = (seg: string) => r.results.find((x) => x.segment === seg)!;
    expect(by('warm').users).toBe(1);
    expect(by('warm').metrics['hr@1']).toBe(1);
    expect(by('cold').users).toBe(1);
    expect(by('cold').metrics['hr@1']).toBe(0);
    expect(by('cold').metrics['mrr@2']).toBe(0.5);
    expect(by('all').metrics['hr@2']).toBe(1);
    expect(by('all').users).toBe(2);
    expect(r.unknownItems.rows).toBe(0);
    expect(Object.keys(r.timings)).toEqual(['popularity']);
  });

  it('counts test items unknown to training as relevant but unrecommendable', async () => {
    const test = parseEvents('user,item,domain\nz,i3,d\nz,new,d\n', { vocab: train.vocab });
    const r = await evaluate(data, test, [new Popularity()], { ks: [3] });
    expect(r.unknownItems).toEqual({ rows: 1, byDomain: { d: 1 } });
    expect(r.results[0].metrics['recall@3']).toBe(0.5);
  });

  it('refuses a test domain without training rows', async () => {
    const test = parseEvents('user,item,domain\na,x,other\n', { vocab: train.vocab, label: 'test.csv' });
    const err = await evaluate(data, test, [new Popularity()]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toBe('test.csv:2: domain "other" has no training rows, so it cannot be evaluated');
  });

  it('random baseline is seeded and never returns seen items', async () => {
    const m = new RandomModel();
    await m.fit(data, { seed: 5 });
    const a = await m.rank(Uint32Array.of(0, 3), 0, 3);
    const b = await m.rank(Uint32Array.of(3), 0, 3);
    expect(Array.from(a.get(1).items)).toEqual(Array.from(b.get(0).items));
    expect(a.count[0]).toBe(1);
    expect(Array.from(a.get(0).items)).toEqual([train.vocab.items(0).get('i1')]);
  });

  it('rejects bad cut-offs', async () => {
    const test = parseEvents('user,item,domain\na,i1,d\n', { vocab: train.vocab });
    await expect(evaluate(data, test, [new Popularity()], { ks: [0] })).rejects.toThrow('options.ks must be positive integers (got 0)');
  });
});

describe('evaluate with perUser', () => {
  it('returns each user\'s values per segment, in ascending user order, averaging to the metrics', async () => {
    const test = parseEvents('user,item,domain\nz,i2,d\na,i1,d\nb,i1,d\n', { vocab: train.vocab, label: 'test.csv' });
    // usersPerCall 2: the users span two ranking batches, so the per-user offsets are exercised.
    const r = await evaluate(data, test, [new Popularity()], { ks: [1, 2], perUser: true, usersPerCall: 2 });
    for (const res of r.results) {
      const p = res.perUser!;
      expect(p.users.length).toBe(res.users);
      expect(Array.from(p.users)).toEqual([...p.users].sort((x, y) => x - y));
      for (const [name, v] of Object.entries(p.values)) {
        expect(v.length).toBe(res.users);
        expect(v.reduce((s, x) => s + x, 0) / v.length).toBeCloseTo(res.metrics[name], 12);
      }
    }
    const cold = r.results.find((x) => x.segment === 'cold')!;
    expect(Array.from(cold.perUser!.users, (u) => train.vocab.users.id(u))).toEqual(['z']);
    expect(Array.from(cold.perUser!.values['mrr@2'])).toEqual([0.5]);
    const warm = r.results.find((x) => x.segment === 'warm')!;
    expect(Array.from(warm.perUser!.users, (u) => train.vocab.users.id(u)).sort()).toEqual(['a', 'b']);
    // Without the option nothing extra is returned (the CLI's JSON stays as it is).
    const plain = await evaluate(data, test, [new Popularity()], { ks: [1] });
    expect(plain.results.every((x) => x.perUser === undefined)).toBe(true);
  });
});

describe('bootstrapMean', () => {
  it('brackets the mean, is seeded, and is exact for constant values', () => {
    const values = Float64Array.from({ length: 200 }, (_, i) => (i % 7 === 0 ? 1 : i % 5 === 0 ? 0.5 : 0));
    const a = bootstrapMean(values, { seed: 3 });
    const mean = values.reduce((s, x) => s + x, 0) / values.length;
    expect(a.mean).toBeCloseTo(mean, 12);
    expect(a.low).toBeLessThan(mean);
    expect(a.high).toBeGreaterThan(mean);
    // the normal-theory half width is 1.96 * sd / sqrt(n); the percentile interval is close to it
    const sd = Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / (values.length - 1));
    expect((a.high - a.low) / 2).toBeGreaterThan(0.8 * 1.96 * sd / Math.sqrt(200));
    expect((a.high - a.low) / 2).toBeLessThan(1.2 * 1.96 * sd / Math.sqrt(200));
    expect(bootstrapMean(values, { seed: 3 })).toEqual(a);
    // Symmetric cut: 2.5% of the 2,000 resampled means (50) on each side.
    expect(a.resamples).toBe(2000);
    expect(bootstrapMean(values, { seed: 4 })).not.toEqual(a);
    expect(bootstrapMean([0.25, 0.25, 0.25], { resamples: 50 })).toEqual({ mean: 0.25, low: 0.25, high: 0.25, level: 0.95, resamples: 50 });
    const narrow = bootstrapMean(values, { seed: 3, level: 0.5 });
    // Re-draw the resampled means with the same generator and check the cut positions.
    const spread = Float64Array.from({ length: 60 }, (_, i) => ((i * 37) % 60) / 60 + i * 1e-7); // distinct resampled means
    for (const [level, resamples] of [[0.95, 2000], [0.9, 1000], [0.5, 7]] as const) {
      const r = new Rng(3);
      const means: number[] = [];
      for (let k = 0; k < resamples; k++) {
        let t = 0;
        for (let i = 0; i < spread.length; i++) t += spread[r.int(spread.length)];
        means.push(t / spread.length);
      }
      means.sort((x, y) => x - y);
      const b = bootstrapMean(spread, { seed: 3, level, resamples });
      // The same number of sorted means below low's position as above high's.
      const tail = Math.floor(((1 - level) / 2) * resamples + 1e-9);
      expect(b.low).toBe(means[tail]);
      expect(b.high).toBe(means[resamples - 1 - tail]);
    }
    expect(narrow.low).toBeGreaterThanOrEqual(a.low);
    expect(narrow.high).toBeLessThanOrEqual(a.high);
  });

  it('refuses no values, non-finite values and bad options', () => {
    expect(() => bootstrapMean([])).toThrow(new RangeError('bootstrapMean needs at least one value'));
    expect(() => bootstrapMean([0.1, NaN])).toThrow(new RangeError('value 1 is NaN: bootstrapMean needs finite values'));
    expect(() => bootstrapMean([1], { resamples: 0 })).toThrow(new OptionRangeError('resamples', 'options.resamples must be a positive integer (got 0)'));
    expect(() => bootstrapMean([1], { level: 1 })).toThrow(new OptionRangeError('level', 'options.level must be in (0, 1) (got 1)'));
  });
});
