import { describe, expect, it } from 'vitest';
import { Dataset, DataError, evaluate, parseEvents, Popularity, RandomModel } from '../src/index.js';

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
