import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bridge, Dataset, ItemKnn, MigrationRecommender, ModelFormatError, NotFittedError, OptionRangeError, OptionTypeError, parseEvents } from '../src/index.js';
import { readModelFile, writeModelFile } from '../src/io/modelfile.js';
import { checkerboard, twoDomains } from './helpers/fixtures.js';

describe('model lifecycle and faults', () => {
  it('recommend after close throws NotFittedError; an own pool is closed with the model', async () => {
    const m = new ItemKnn({ threads: 2, neighbors: 20 });
    await m.fit(checkerboard().data);
    const before = await m.recommendBatch(['u1', 'u2'], { k: 3 });
    expect(before.get(0).items[0]).toBe('i1');
    await m.close();
    expect(() => m.recommend('u1')).toThrow(new NotFittedError('itemknn: the model is closed'));
    await expect(m.recommendBatch(['u1'])).rejects.toThrow('itemknn: the model is closed');
    await expect(m.fit(checkerboard().data)).rejects.toThrow(NotFittedError);
    await m.close(); // idempotent
  });

  it('options.pool and options.threads are exclusive; threads must be an integer >= 0 (0: this thread)', async () => {
    expect(() => new ItemKnn({ threads: -1 })).toThrow(new OptionRangeError('threads', 'options.threads must be an integer >= 0 (got -1)'));
    const inThread = new ItemKnn({ threads: 0, neighbors: 5 });
    await inThread.fit(checkerboard().data);
    expect((await inThread.recommendBatch(['u0'], { k: 1 })).get(0).items).toEqual(['i0']);
    await inThread.close();
    expect(() => new ItemKnn({ threads: 2, pool: {} as never })).toThrow(new OptionTypeError('threads', 'options.pool and options.threads are exclusive: pass one'));
    expect(() => new ItemKnn({ pool: {} as never })).toThrow(new OptionTypeError('pool', 'options.pool must be a KernelPool (createPool())'));
  });

  it('a user known only in a domain that is not one of the sources gets the popularity fallback bucket', async () => {
    // Three domains; the model bridges src -> tgt only. "outsider" has rows only in "other".
    const { events } = twoDomains();
    let text = 'user,item,domain\n';
    for (let r = 0; r < events.length; r++) {
      const d = events.vocab.domains.id(events.domain[r]);
      text += `${events.vocab.users.id(events.user[r])},${events.vocab.items(events.domain[r]).id(events.item[r])},${d}\n`;
    }
    text += 'outsider,x1,other\nb3,x1,other\n';
    const data = Dataset.fromEvents(parseEvents(text));
    const m = new MigrationRecommender({ target: 'tgt', sources: ['src'], components: ['popularity', 'bridge-user'] });
    await m.fit(data);
    const r = m.recommend('outsider', { k: 2 });
    expect(r.fallback).toBe(false);
    expect(r.items).toEqual(['t1', 't0']); // the two most popular target items
    expect(m.recommend('cold-a', { k: 1 }).items).toEqual(['t0']);
  });

  it('concurrent recommendBatch calls with foldIn in between match some serial order', async () => {
    const m = new ItemKnn({ threads: 2, neighbors: 20 });
    const data = checkerboard().data;
    await m.fit(data);
    const users = Array.from({ length: 40 }, (_, u) => `u${u}`);
    const before = await m.recommendBatch(users, { k: 3 });
    const pending = [m.recommendBatch(users, { k: 3 }), m.recommendBatch(users, { k: 3 })];
    m.foldIn('u0', [{ item: 'i0' }]); // u0's held-out item becomes seen
    pending.push(m.recommendBatch(users, { k: 3 }));
    const results = await Promise.all(pending);
    const after = m.recommend('u0', { k: 3 });
    expect(after.items).not.toContain('i0');
    for (const r of results) {
      const u0 = r.get(0).items;
      // Each batch saw either the state before the foldIn or the state after it, never a mix.
      expect([JSON.stringify(before.get(0).items), JSON.stringify(after.items)]).toContain(JSON.stringify(u0));
      for (let i = 1; i < users.length; i++) expect(r.get(i).items).toEqual(before.get(i).items);
    }
    // The batch requested after the foldIn sees it.
    expect(results[2].get(0).items).toEqual(after.items);
    await m.close();
  });
});

describe('refits', () => {
  it('a fused model fitted on one domain, then on two, uses the cross-domain components again', async () => {
    const m = new MigrationRecommender({ components: ['popularity', 'itemknn', 'bridge-user'] });
    await m.fit(checkerboard().data);
    expect(m.fitReport().choices.shop).toMatchObject({ components: ['popularity', 'itemknn'] });
    await m.fit(twoDomains().data);
    expect(m.fitReport().choices.tgt).toMatchObject({ components: ['popularity', 'itemknn', 'bridge-user'] });
  });

  it('the fused model hands its memory budget to its components', async () => {
    const m = new MigrationRecommender({ components: ['popularity', 'itemknn'], memoryBudget: 16 });
    await expect(m.fit(checkerboard().data)).rejects.toThrow(/^itemknn: the neighbour table .* over the memory budget of 16 bytes/);
  });

  it('a bridge refit refused up front (one domain) keeps the previously fitted model working', async () => {
    const b = new Bridge({ variant: 'user', neighbors: 10 });
    await b.fit(twoDomains().data);
    const before = b.recommend('cold-a', { domain: 'tgt', k: 2 });
    await expect(b.fit(checkerboard().data)).rejects.toThrow('the bridge needs at least two domains');
    expect(b.recommend('cold-a', { domain: 'tgt', k: 2 })).toEqual(before);
  });

  it('fused scores are divided by per-target scales chosen on validation users; they survive save/load', async () => {
    const { events, data } = twoDomains();
    const valid = parseEvents('user,item,domain\ncold-a,t0,tgt\ncold-b,t1,tgt\n', { vocab: events.vocab, label: 'valid.csv' });
    const m = new MigrationRecommender({ target: 'tgt', sources: ['src'], components: ['popularity', 'bridge-user', 'bridge-item'], bagging: 1 });
    await m.fit(data, { valid });
    const { scales, components } = m.fitReport().choices.tgt as { scales: number[]; components: string[] };
    expect(components).toEqual(['popularity', 'bridge-user', 'bridge-item']);
    // Every component's scores are >= 0 here, so each gets a divisor: its mean top score on the two users.
    expect(scales.every((x) => x > 0)).toBe(true);
    const recs = ['cold-a', 'cold-b'].map((u) => m.recommend(u, { k: 3 }));
    expect(recs[0].items[0]).toBe('t0');
    expect(recs[1].items[0]).toBe('t1');
    const dir = mkdtempSync(join(tmpdir(), 'migrec-scales-'));
    const path = join(dir, 'm.migrec');
    await m.save(path);
    const loaded = await MigrationRecommender.load(path);
    expect((loaded.fitReport().choices.tgt as { scales: number[] }).scales).toEqual(scales);
    expect(['cold-a', 'cold-b'].map((u) => loaded.recommend(u, { k: 3 }))).toEqual(recs);
    const content = await readModelFile(path);
    const fusion = (content.meta.model as Record<string, unknown>).fusion as Array<Record<string, unknown> | null>;
    // explain() scales the same way as recommend(), for the validation users and for others.
    for (const u of ['cold-a', 'cold-b', 'a1', 'a4', 'b2', 'b7']) {
      const r = m.recommend(u, { k: 3 });
      r.items.forEach((item, q) => expect(m.explain(u, item).score, `${u} ${item}`).toBeCloseTo(r.scores[q], 5));
    }
    // A negative divisor is damage, not a scale.
    const bad = join(dir, 'bad.migrec');
    const broken = fusion.map((f) => (f ? { ...f, scales: [1, -1, 1] } : f));
    await writeModelFile(bad, { ...content, meta: { ...content.meta, model: { ...(content.meta.model as object), fusion: broken } } });
    await expect(MigrationRecommender.load(bad)).rejects.toThrow(new ModelFormatError(`${bad}: fusion scales of domain 1 are invalid`));
    await Promise.all([m.close(), loaded.close()]);
  });
});
