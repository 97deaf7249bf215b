import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataError, Dataset, Emcdr, initTensorflow, Mf, ModelFitError, ModelFormatError, OptionRangeError, OptionTypeError, parseEvents, Ptupcdr, type Recommender } from '../src/index.js';
import { readModelFile, writeModelFile } from '../src/io/modelfile.js';
import type { Tf } from '../src/models/tf.js';
import { twoDomains } from './helpers/fixtures.js';

const small = { factors: 8, iterations: 3, seed: 7 };
const makers: Record<string, (seed?: number) => Recommender> = {
  mf: (seed = 7) => new Mf({ ...small, seed, domain: 'tgt' }),
  emcdr: (seed = 7) => new Emcdr({ ...small, seed, domain: 'tgt', epochs: 10 }),
  ptupcdr: (seed = 7) => new Ptupcdr({ ...small, seed, domain: 'tgt', epochs: 3, negatives: 4, metaHidden: 8, attentionHidden: 4, rank: 2 }),
};
const loaders: Record<string, (p: string) => Promise<Recommender>> = { mf: (p) => Mf.load(p), emcdr: (p) => Emcdr.load(p), ptupcdr: (p) => Ptupcdr.load(p) };
const users = ['cold-a', 'cold-b', 'a1', 'b2'];
const dir = mkdtempSync(join(tmpdir(), 'migrec-transfer-'));

/** A validation table for the two-domain fixture: cold-a likes t0, cold-b likes t1. */
function validFor(data: Dataset) {
  return parseEvents('user,item,domain\ncold-a,t0,tgt\ncold-b,t1,tgt\n', { vocab: data.vocab, label: 'valid.csv' });
}

let tf: Tf;
beforeAll(async () => {
  tf = await initTensorflow();
});

describe('initTensorflow', () => {
  it('is idempotent, selects wasm, and makes gather differentiable there', async () => {
    expect(await initTensorflow()).toBe(tf);
    expect(tf.getBackend()).toBe('wasm');
    const g = tf.tidy(() => {
      const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
      return tf.grad((v) => tf.sum(tf.gather(v, tf.tensor1d([0, 2, 2], 'int32'))))(x).arraySync();
    });
    expect(g).toEqual([[1, 1], [0, 0], [2, 2]]);
  });
});

for (const name of ['mf', 'emcdr', 'ptupcdr']) {
  describe(`${name} on two domains`, () => {
    let model: Recommender;
    let data: Dataset;
    beforeAll(async () => {
      data = twoDomains().data;
      model = makers[name]();
      await model.fit(data, { valid: validFor(data) });
    });

    it('gives identical scores for the same seed, twice', async () => {
      // A fresh Dataset (new matrices): the shared ALS factor cache cannot hand back the first fit's factors.
      const fresh = twoDomains().data;
      const again = makers[name]();
      await again.fit(fresh, { valid: validFor(fresh) });
      for (const u of users) {
        const a = model.recommend(u, { k: 6 });
        const b = again.recommend(u, { k: 6 });
        expect(b.items).toEqual(a.items);
        expect(Array.from(b.scores)).toEqual(Array.from(a.scores));
      }
    });

    it('recommendBatch equals recommend; save -> load is identical', async () => {
      const batch = await model.recommendBatch(users, { k: 6 });
      const p = join(dir, `${name}.migrec`);
      await model.save(p);
      const back = await loaders[name](p);
      users.forEach((u, i) => {
        const one = model.recommend(u, { k: 6 });
        expect(batch.get(i).items).toEqual(one.items);
        expect(Array.from(batch.get(i).scores)).toEqual(Array.from(one.scores));
        const b = back.recommend(u, { k: 6, domain: 'tgt' });
        expect(b.items).toEqual(one.items);
        expect(Array.from(b.scores)).toEqual(Array.from(one.scores));
      });
    });

    it('leaves no tensors behind across fits', async () => {
      const before = tf.memory().numTensors;
      await makers[name]().fit(data, { valid: validFor(data) });
      const mid = tf.memory().numTensors;
      await makers[name]().fit(data, { valid: validFor(data) });
      expect(mid).toBe(before);
      expect(tf.memory().numTensors).toBe(before);
    });

    if (name !== 'mf') {
      it('bridges cold users through the source domain', () => {
        expect(model.recommend('cold-a', { k: 1 }).items[0]).toBe('t0');
        expect(model.recommend('cold-b', { k: 1 }).items[0]).toBe('t1');
      });
    }
  });
}

describe('emcdr mapping choice', () => {
  it('reports every candidate in the given grid order and keeps the strongest ridge among equal scores, whatever the order', async () => {
    const { data } = twoDomains();
    const m = new Emcdr({ ...small, domain: 'tgt', mapping: 'linear', ridgeGrid: [100, 1, 1000, 10] });
    await m.fit(data, { valid: validFor(data) });
    const r = m.fitReport().choices['src->tgt'] as { choice: string; validNdcg10: Record<string, number> };
    expect(Object.keys(r.validNdcg10)).toEqual(['linear@ridge=100', 'linear@ridge=1', 'linear@ridge=1000', 'linear@ridge=10']);
    const best = Math.max(...Object.values(r.validNdcg10));
    const tied = Object.entries(r.validNdcg10).filter(([, v]) => v === best).map(([k]) => Number(k.split('=')[1]));
    expect(tied.length).toBeGreaterThan(1); // the fixture ties, so the rule is exercised
    expect(r.choice).toBe(`linear@ridge=${Math.max(...tied)}`);
    await m.close();
  });
});

describe('coupled target factors (options.coupling)', () => {
  const scores = (m: Recommender) => users.map((u) => Array.from(m.recommend(u, { k: 6 }).scores));

  it('weight 0 is the same as no coupling; weight 1 changes the factors, deterministically, and leaves the shared plain factors alone', async () => {
    const data = twoDomains().data;
    const fit = async (o: object) => {
      const m = new Emcdr({ ...small, domain: 'tgt', epochs: 10, ...o });
      await m.fit(data, { valid: validFor(data) });
      return m;
    };
    const plain = await fit({});
    const plainScores = scores(plain); // taken before any coupled fit
    const zero = await fit({ coupling: { weight: 0 } });
    expect(scores(zero)).toEqual(scores(plain));
    const coupled = await fit({ coupling: { weight: 1, rounds: 3 } });
    expect(scores(coupled)).not.toEqual(scores(plain));
    expect(coupled.fitReport().stats.coupling).toEqual({ weight: 1, rounds: 3, ridge: 100 });
    // Same data and settings again, and a fresh dataset: same scores.
    expect(scores(await fit({ coupling: { weight: 1, rounds: 3 } }))).toEqual(scores(coupled));
    const fresh = twoDomains().data;
    const again = new Emcdr({ ...small, domain: 'tgt', epochs: 10, coupling: { weight: 1, rounds: 3 } });
    await again.fit(fresh, { valid: validFor(fresh) });
    expect(scores(again)).toEqual(scores(coupled));
    // The plain factors were not modified by the coupled fit.
    expect(scores(await fit({}))).toEqual(plainScores);
    expect(scores(plain)).toEqual(plainScores);
    // Cold users still reach their source-side neighbours' items.
    expect(coupled.recommend('cold-a', { k: 1 }).items[0]).toBe('t0');
    expect(coupled.recommend('cold-b', { k: 1 }).items[0]).toBe('t1');
    await Promise.all([plain, zero, coupled, again].map((m) => m.close()));
  });

  it('does not depend on the order of fits or on options.targets (sources stay plain)', async () => {
    const opts = { ...small, domain: 'tgt', epochs: 10, coupling: { weight: 1, rounds: 3 } };
    const a = twoDomains().data;
    const alone = new Emcdr({ ...opts, targets: ['tgt'] });
    await alone.fit(a, { valid: validFor(a) });
    const b = twoDomains().data;
    const every = new Emcdr(opts); // couples src too, before tgt
    await every.fit(b, { valid: validFor(b) });
    const after = new Emcdr({ ...opts, targets: ['tgt'] });
    await after.fit(b, { valid: validFor(b) });
    expect(scores(after)).toEqual(scores(alone));
    expect(scores(every)).toEqual(scores(alone));
    await Promise.all([alone, every, after].map((m) => m.close()));
  });

  it('a coupled model saves and loads to identical scores', async () => {
    const data = twoDomains().data;
    const m = new Ptupcdr({ ...small, domain: 'tgt', epochs: 2, negatives: 4, metaHidden: 8, attentionHidden: 4, rank: 2, coupling: { weight: 2 } });
    await m.fit(data, { valid: validFor(data) });
    const p = join(dir, 'coupled.migrec');
    await m.save(p);
    const back = await Ptupcdr.load(p);
    expect(users.map((u) => Array.from(back.recommend(u, { k: 6, domain: 'tgt' }).scores))).toEqual(scores(m));
    // The fit record (seconds per stage) travels in the file; the fit's stats do not.
    expect(back.fitReport().seconds).toEqual(m.fitReport().seconds);
    expect(back.fitReport().stats).toEqual({});
    const uncoupled = new Ptupcdr({ ...small, domain: 'tgt', epochs: 2, negatives: 4, metaHidden: 8, attentionHidden: 4, rank: 2 });
    await uncoupled.fit(data, { valid: validFor(data) });
    expect(scores(uncoupled)).not.toEqual(scores(m)); // the coupling did something, and the file kept it
    expect(back.couplingSettings()).toEqual({ weight: 2, rounds: 4, ridge: 100 });
    expect(uncoupled.couplingSettings()).toBeUndefined();
    // Damaged coupling settings in the file are a ModelFormatError, not a silent default.
    const content = await readModelFile(p);
    const options = content.meta.options as Record<string, unknown>;
    const bad = join(dir, 'coupled-bad.migrec');
    await writeModelFile(bad, { ...content, meta: { ...content.meta, options: { ...options, coupling: { weight: -2 } } } });
    await expect(Ptupcdr.load(bad)).rejects.toThrow(ModelFormatError);
    await Promise.all([m.close(), back.close(), uncoupled.close()]);
  });

  it('couples against several sources (the mean of their mapped factors), whatever their order (up to rounding)', async () => {
    // twoDomains plus a second source domain for the a-users and cold-a.
    const base = twoDomains().events;
    let text = 'user,item,domain\n';
    for (let r = 0; r < base.length; r++) text += `${base.vocab.users.id(base.user[r])},${base.vocab.items(base.domain[r]).id(base.item[r])},${base.vocab.domains.id(base.domain[r])}\n`;
    for (let a = 0; a < 12; a++) for (let q = 0; q < 3; q++) text += `a${a},x${(a + q) % 5},src2\n`;
    for (let b = 0; b < 20; b += 2) text += `b${b},x${5 + (b % 3)},src2\n`;
    text += 'cold-a,x0,src2\ncold-a,x1,src2\n';
    const data = Dataset.fromEvents(parseEvents(text, { label: 'three-domains.csv' }));
    const valid = parseEvents('user,item,domain\ncold-a,t0,tgt\ncold-b,t1,tgt\n', { vocab: data.vocab, label: 'valid.csv' });
    const fit = async (sources: string[], weight: number) => {
      const m = new Emcdr({ ...small, domain: 'tgt', epochs: 10, targets: ['tgt'], sources, coupling: { weight } });
      await m.fit(data, { valid });
      return m;
    };
    const both = await fit(['src', 'src2'], 1);
    const reversed = await fit(['src2', 'src'], 1);
    const one = await fit(['src'], 1);
    const plain = await fit(['src', 'src2'], 0);
    // Same up to float32 rounding of the prior's running sum.
    scores(reversed).forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(scores(both)[i][j], 5)));
    expect(scores(both)).not.toEqual(scores(one));
    expect(scores(both)).not.toEqual(scores(plain));
    expect(both.recommend('cold-a', { k: 1 }).items[0]).toBe('t0');
    await Promise.all([both, reversed, one, plain].map((m) => m.close()));
  });

  it('refuses bad coupling options', () => {
    expect(() => new Emcdr({ coupling: { weight: -1 } })).toThrow(new OptionRangeError('coupling.weight', 'options.coupling.weight must be a number >= 0 (got -1)'));
    expect(() => new Emcdr({ coupling: { weight: 1, rounds: 0 } })).toThrow(RangeError);
    expect(() => new Emcdr({ coupling: { weight: 1, rounds: null as never } })).toThrow(TypeError);
    expect(() => new Emcdr({ coupling: { weight: 1, rouds: 3 } as never })).toThrow(new OptionTypeError('coupling.rouds', 'unknown option "coupling.rouds" for emcdr (did you mean "coupling.rounds"?)'));
    expect(() => new Emcdr({ coupling: { rounds: 3 } as never })).toThrow(new OptionTypeError('coupling.weight', 'options.coupling.weight is required (a number >= 0)'));
    expect(() => new Emcdr({ coupling: [] as never })).toThrow(TypeError);
    expect(() => new Ptupcdr({ coupling: { weight: Number.NaN } })).toThrow(RangeError);
    expect(() => new Emcdr({ coupling: 1 as never })).toThrow(new OptionTypeError('coupling', 'options.coupling must be an object (got 1)'));
  });
});

describe('ptupcdr start', () => {
  it('starts from the ridge strength that scores best on valid (reported), or the given one', async () => {
    const { data } = twoDomains();
    const m = makers.ptupcdr() as Ptupcdr;
    await m.fit(data, { valid: validFor(data) });
    const r = m.fitReport().choices['src->tgt'] as { ridge: number; ridgeValidNdcg10: Record<string, number>; validCurve: Array<{ epoch: number; validNdcg10: number }> };
    expect(Object.keys(r.ridgeValidNdcg10).map(Number).sort((a, b) => a - b)).toEqual([1, 10, 100, 1000]);
    const best = Math.max(...Object.values(r.ridgeValidNdcg10));
    expect(r.ridgeValidNdcg10[String(r.ridge)]).toBe(best);
    // Ties go to the strongest ridge among the best.
    const tied = Object.entries(r.ridgeValidNdcg10).filter(([, v]) => v === best).map(([k]) => Number(k));
    expect(r.ridge).toBe(Math.max(...tied));
    expect(r.validCurve[0].validNdcg10).toBe(best); // epoch 0 is the chosen start
    const fixed = new Ptupcdr({ ...small, domain: 'tgt', epochs: 1, negatives: 4, metaHidden: 8, attentionHidden: 4, rank: 2, ridge: 10 });
    await fixed.fit(data, { valid: validFor(data) });
    expect(Object.keys((fixed.fitReport().choices['src->tgt'] as { ridgeValidNdcg10: object }).ridgeValidNdcg10)).toEqual(['10']);
    await Promise.all([m.close(), fixed.close()]);
  });
});

describe('typed errors', () => {
  it('a source domain with no overlapping users', async () => {
    const ev = parseEvents('user,item,domain\nx1,s1,src\nx1,s2,src\nx2,s2,src\ny1,t1,tgt\ny1,t2,tgt\ny2,t1,tgt\n', { label: 'nooverlap.csv' });
    for (const m of [new Emcdr(small), new Ptupcdr(small)]) {
      const err = await m.fit(Dataset.fromEvents(ev)).catch((e) => e);
      expect(err).toBeInstanceOf(DataError);
      expect(err.message).toBe(`nooverlap.csv: domains "tgt" and "src" share no users: ${m.name} needs users with rows in both to learn a mapping`);
    }
  });

  it('a target with one item', async () => {
    const ev = parseEvents('user,item,domain\nx1,s1,src\nx1,s2,src\nx1,t1,tgt\nx2,s2,src\nx2,t1,tgt\n', { label: 'one-item.csv' });
    for (const m of [new Mf(small), new Emcdr(small), new Ptupcdr(small)]) {
      const err = await m.fit(Dataset.fromEvents(ev)).catch((e) => e);
      expect(err).toBeInstanceOf(DataError);
      expect(err.message).toBe(`one-item.csv: domain "tgt" has 1 item: ${m.name} needs at least 2 items to rank`);
    }
  });

  it('NaN item features', async () => {
    const { data } = twoDomains();
    const m = new Mf({ ...small, domain: 'tgt', itemFeatures: { domain: 'tgt', items: ['t0', 't1'], width: 2, values: [1, 0, 0, Number.NaN] } });
    const err = await m.fit(data).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe('<itemFeatures>:2:2: feature 2 of item "t1" must be a finite number (got NaN)');
  });

  it('NaN/Inf in training -> ModelFitError, previous model untouched', async () => {
    // Features of tX are finite but so large that the encoder overflows; tX only has enough rows
    // to train the encoder in the second data set, so the first fit is clean.
    const itemFeatures = { domain: 'tgt', items: ['t0', 't1', 't2', 't3', 'tX'], width: 2, values: [1, 0, 0, 1, 1, 0, 0, 1, 3e38, 3e38] };
    const m = new Mf({ ...small, domain: 'tgt', itemFeatures });
    const { events } = twoDomains();
    await m.fit(Dataset.fromEvents(events));
    const before = m.recommend('a1', { k: 4 });
    const rows = Array.from({ length: events.length }, (_, r) => `${events.vocab.users.id(events.user[r])},${events.vocab.items(events.domain[r]).id(events.item[r])},${events.vocab.domains.id(events.domain[r])}`);
    for (let b = 0; b < 8; b++) rows.push(`b${b},tX,tgt`);
    const more = parseEvents(`user,item,domain\n${rows.join('\n')}\n`, { label: 'more.csv' });
    const err = await m.fit(Dataset.fromEvents(more)).catch((e) => e);
    expect(err).toBeInstanceOf(ModelFitError);
    expect(err.message).toMatch(/^mf:tgt: encoder:tgt: (loss|held-out error) became (NaN|Infinity)/);
    const after = m.recommend('a1', { k: 4 });
    expect(after.items).toEqual(before.items);
    expect(Array.from(after.scores)).toEqual(Array.from(before.scores));
  });
});

describe('item encoder', () => {
  it('gives a feature-bearing item with no interactions the factors of its look-alikes', async () => {
    // Items i0..i9 with feature [1,0] are liked by group A; j0..j9 with [0,1] by group B; n0 has no rows.
    let text = 'user,item\n';
    for (let u = 0; u < 20; u++) for (let k = 0; k < 10; k++) if ((u + k) % 3 !== 0) text += `${u < 10 ? 'a' : 'b'}${u},${u < 10 ? 'i' : 'j'}${k}\n`;
    const ev = parseEvents(text, { domain: 'shop', label: 'enc.csv' });
    ev.vocab.items(0).intern('n0');
    const data = Dataset.fromEvents(ev);
    const ids = [...Array.from({ length: 10 }, (_, k) => `i${k}`), ...Array.from({ length: 10 }, (_, k) => `j${k}`), 'n0'];
    const values = ids.flatMap((id) => (id.startsWith('j') ? [0, 1] : [1, 0]));
    const m = new Mf({ factors: 4, iterations: 5, seed: 1, itemFeatures: { items: ids, width: 2, values }, encoder: { minInteractions: 2, epochs: 60 } });
    await m.fit(data);
    const rank = m.recommend('a0', { k: 21 }).items;
    expect(rank.indexOf('n0')).toBeLessThan(rank.indexOf('j0') === -1 ? 21 : rank.indexOf('j0'));
  });
});
