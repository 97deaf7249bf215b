/**
 * The facade over every model: strict options for every model type, model files of migrec 0.1 and
 * damaged saved options, fits that swap the new state in at once (a call during a refit sees the
 * old model or the new one) and run one after the other, and component options of the fused model.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { availableModels, createModel, DataError, Dataset, ItemKnn, loadModel, Mf, MigrationRecommender, ModelFormatError, NotSupportedError, OptionTypeError, parseEvents } from '../src/index.js';
import { readModelFile, writeModelFile } from '../src/io/modelfile.js';
import type { ModelDefinition } from '../src/engine/scorer.js';
import { checkerboard, twoDomains } from './helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'migrec-engine-'));
const fixtures = join(import.meta.dirname, 'fixtures', 'v0.1');

describe('options', () => {
  it('every model refuses an unknown option with a TypeError naming it', () => {
    expect(availableModels()).toHaveLength(9);
    for (const name of availableModels()) {
      let err: unknown;
      try {
        createModel(name, { bogus: 1 });
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(TypeError);
      expect(err, name).toBeInstanceOf(OptionTypeError);
      expect((err as OptionTypeError).option).toBe('bogus');
      expect((err as Error).message, name).toMatch(new RegExp(`^unknown option "bogus" for ${name} \\(`));
    }
  });

  it('names the nearest valid option', () => {
    expect(() => createModel('itemknn', { neighbours: 5 })).toThrow(new OptionTypeError('neighbours', 'unknown option "neighbours" for itemknn (did you mean "neighbors"?)'));
  });

  it('a model reports its resolved options (defaults included, no pool)', () => {
    const m = new ItemKnn({ neighbors: 7 });
    expect(m.options).toMatchObject({ neighbors: 7, shrink: 0, weighting: 'none', bm25K1: 1.2, bm25B: 0.75, seed: 0 });
    expect('pool' in m.options).toBe(false);
  });
});

describe('model files', () => {
  it('files written by migrec 0.1 fail with a ModelFormatError that says to refit', async () => {
    for (const name of ['popularity', 'itemknn', 'bridge', 'migrec']) {
      const path = join(fixtures, `${name}.migrec`);
      await expect(loadModel(path)).rejects.toThrow(ModelFormatError);
      await expect(loadModel(path)).rejects.toThrow(`${path}: written by migrec 0.1, whose model files this version cannot read: refit the model`);
    }
  });

  it('saved options are validated again on load', async () => {
    const m = new ItemKnn({ neighbors: 5 });
    await m.fit(checkerboard().data);
    const path = join(dir, 'itemknn.migrec');
    await m.save(path);
    const content = await readModelFile(path);
    for (const [options, why] of [
      [{ ...(content.meta.options as object), neighbors: 0 }, 'options.neighbors must be a positive integer (got 0)'],
      [{ ...(content.meta.options as object), neighbours: 5 }, 'unknown option "neighbours" for itemknn (did you mean "neighbors"?)'],
    ] as const) {
      const bad = join(dir, 'itemknn-bad.migrec');
      await writeModelFile(bad, { ...content, meta: { ...content.meta, options } });
      await expect(ItemKnn.load(bad)).rejects.toThrow(new ModelFormatError(`${bad}: the saved options are invalid (${why}): refit the model`));
    }
    const back = await ItemKnn.load(path);
    expect(back.options).toMatchObject({ neighbors: 5 });
    expect(back.recommend('u0', { k: 3 })).toEqual(m.recommend('u0', { k: 3 }));
  });
});

describe('fits swap the new model in at once', () => {
  it('a call during a refit sees the old model; after it, the new one', async () => {
    const board = checkerboard().data;
    const shifted = Dataset.fromEvents(parseEvents('user,item\nu0,i1\nu0,i3\nu1,i1\nu1,i5\nu2,i3\nu2,i5\n', { domain: 'shop' }));
    const m = new ItemKnn({ neighbors: 5 });
    await m.fit(board);
    const before = m.recommend('u0', { k: 3 });
    // Hold the refit inside the model's fit until the test has looked: a facade that installed the
    // new data (or dropped the old state) before the new tables were ready would show it here.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = false;
    const slot = m as unknown as { definition: ModelDefinition };
    const inner = slot.definition;
    slot.definition = { ...inner, fit: async (ctx, o) => ((started = true), await gate, inner.fit(ctx, o)) };
    const refit = m.fit(shifted);
    while (!started) await new Promise((r) => setTimeout(r, 1));
    expect(m.recommend('u0', { k: 3 })).toEqual(before);
    expect(m.hasUser('u39')).toBe(true);
    expect((await m.recommendBatch(['u0', 'u39'], { k: 3 })).get(0)).toEqual(before);
    release();
    await refit;
    expect(m.hasUser('u39')).toBe(false);
    const fresh = new ItemKnn({ neighbors: 5 });
    await fresh.fit(shifted);
    expect(m.recommend('u0', { k: 3 })).toEqual(fresh.recommend('u0', { k: 3 }));
  });

  it('overlapping fits run one after the other: the last one wins, whole', async () => {
    const board = checkerboard().data;
    const two = twoDomains().data;
    const m = new ItemKnn({ neighbors: 5, domain: 'tgt' });
    const [a, b] = [m.fit(board), m.fit(two)];
    await Promise.all([a, b]);
    const fresh = new ItemKnn({ neighbors: 5, domain: 'tgt' });
    await fresh.fit(two);
    for (const u of ['a1', 'b2', 'cold-a']) expect(m.recommend(u, { k: 3 })).toEqual(fresh.recommend(u, { k: 3 }));
    expect(m.similarItems('t0', { k: 3 })).toEqual(fresh.similarItems('t0', { k: 3 }));
  });
});

describe('component options reach the fused model', () => {
  it('components: { itemknn: { neighbors } } changes the fit and is saved', async () => {
    const { data } = twoDomains();
    const fit = async (components?: MigrationRecommender['options']['components']) => {
      const m = new MigrationRecommender({ target: 'tgt', components: components as never });
      await m.fit(data);
      return m;
    };
    const plain = await fit(['popularity', 'itemknn']);
    const one = await fit({ userknn: false, 'bridge-user': false, 'bridge-item': false, emcdr: false, ptupcdr: false, itemknn: { neighbors: 1 } });
    expect(one.fitReport().choices.tgt).toMatchObject({ components: ['popularity', 'itemknn'] });
    const lists = (m: MigrationRecommender) => ['a1', 'a4', 'b2', 'b7'].map((u) => m.recommend(u, { k: 4 }));
    expect(lists(one)).not.toEqual(lists(plain));
    expect(one.similarItems('t0', { k: 5 }).items.length).toBeLessThanOrEqual(1);
    const path = join(dir, 'fused.migrec');
    await one.save(path);
    const back = await MigrationRecommender.load(path);
    expect(lists(back)).toEqual(lists(one));
    expect(back.options.components).toEqual(one.options.components);
  });
});

describe('the fused model explains and declares what it does', () => {
  it('explain(k) agrees with recommend(k) when k exceeds candidatesPerComponent', async () => {
    const m = new MigrationRecommender({ target: 'tgt', candidatesPerComponent: 1 });
    await m.fit(twoDomains().data);
    const r = m.recommend('a1', { k: 4 });
    expect(r.items.length).toBe(4);
    r.items.forEach((item, q) => expect(m.explain('a1', item, { k: 4 }).score, item).toBeCloseTo(r.scores[q], 5));
  });

  it('declares similarItems only with its itemknn component', async () => {
    const m = new MigrationRecommender({ target: 'tgt', components: ['popularity', 'bridge-user'] });
    expect(m.capabilities.similarItems).toBe(false);
    await m.fit(twoDomains().data);
    expect(() => m.similarItems('t0')).toThrow(new NotSupportedError('migrec does not provide similarItems'));
    expect(new MigrationRecommender({ target: 'tgt' }).capabilities.similarItems).toBe(true);
  });
});

describe('memory budget with neighbours beyond the items', () => {
  it('item kNN counts the neighbours it can keep (at most the items of the domain)', async () => {
    const board = checkerboard().data;
    const budget = 40 * 40 * 8 + 2000 * 8; // every item's 40 neighbours, and room for the transpose
    const big = new ItemKnn({ neighbors: 100_000_000, memoryBudget: budget });
    await big.fit(board);
    const exact = new ItemKnn({ neighbors: 40 });
    await exact.fit(board);
    expect(big.recommend('u0', { k: 5 })).toEqual(exact.recommend('u0', { k: 5 }));
  });
});

describe('options that are data, and files that lie about their components', () => {
  const features = () => ({ domain: 'shop', items: Array.from({ length: 40 }, (_, i) => `i${i}`), width: 2, values: Float32Array.from({ length: 80 }, (_, q) => (q % 2) + (q % 7) / 7) });

  it('itemFeatures are fit input: never saved, and the loaded model refits without them', async () => {
    const m = new Mf({ factors: 4, iterations: 2, itemFeatures: features() });
    await m.fit(checkerboard().data);
    const path = join(dir, 'mf-features.migrec');
    await m.save(path);
    const content = await readModelFile(path);
    expect(Object.keys(content.meta.options as object)).not.toContain('itemFeatures');
    const back = await Mf.load(path);
    expect(back.recommend('u0', { k: 3 })).toEqual(m.recommend('u0', { k: 3 }));
    await back.fit(checkerboard().data);
  });

  it('bad itemFeatures are a DataError, not a crash', async () => {
    const { values: _v, ...noValues } = features();
    await expect(new Mf({ factors: 4, iterations: 1, itemFeatures: noValues as never }).fit(checkerboard().data)).rejects.toThrow(DataError);
    await expect(new Mf({ factors: 4, iterations: 1, itemFeatures: { ...features(), items: [1, 2] as never, values: [0, 0, 0, 0] } }).fit(checkerboard().data)).rejects.toThrow(DataError);
  });

  it("the fused model's components are copied: changing the object later changes nothing", async () => {
    const components: Record<string, unknown> = { userknn: false, emcdr: false, ptupcdr: false };
    const m = new MigrationRecommender({ target: 'tgt', components: components as never });
    components.itemknn = false;
    components.bogus = 1;
    expect(m.capabilities.similarItems).toBe(true);
    expect(Object.isFrozen(m.options.components)).toBe(true);
    await m.fit(twoDomains().data);
    expect(m.fitReport().choices.tgt).toMatchObject({ components: ['popularity', 'itemknn', 'bridge-user', 'bridge-item'] });
    await m.save(join(dir, 'fused-copied.migrec'));
  });

  it('a fused file listing a component twice, or a transfer file with a malformed mapping, is a ModelFormatError', async () => {
    const m = new MigrationRecommender({ target: 'tgt', components: ['popularity', 'itemknn', 'emcdr'] });
    await m.fit(twoDomains().data);
    const path = join(dir, 'fused-dup.migrec');
    await m.save(path);
    const content = await readModelFile(path);
    const model = content.meta.model as Record<string, unknown>;
    const dup = join(dir, 'fused-dup-bad.migrec');
    await writeModelFile(dup, { ...content, meta: { ...content.meta, model: { ...model, components: ['popularity', 'popularity', 'emcdr'] } } });
    await expect(MigrationRecommender.load(dup)).rejects.toThrow(new ModelFormatError(`${dup}: the component list does not match the saved options`));
    const meta = model.componentMeta as Record<string, { options: unknown; state: Record<string, unknown> }>;
    const state = { ...meta.emcdr.state, pairs: (meta.emcdr.state.pairs as unknown[]).map((list) => ((list as unknown[]).length > 0 ? [null] : list)) };
    const badPair = join(dir, 'fused-pair-bad.migrec');
    await writeModelFile(badPair, { ...content, meta: { ...content.meta, model: { ...model, componentMeta: { ...meta, emcdr: { ...meta.emcdr, state } } } } });
    await expect(MigrationRecommender.load(badPair)).rejects.toThrow(ModelFormatError);
  });
});
