/**
 * The contract suite every model runs (STYLE.md 12): predictable top-1 on a fixture, batch ==
 * single, filters, k beyond the catalogue, save -> load, pool sizes and backends, foldIn, explain,
 * and the typed errors of bad calls.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPool,
  ModelFormatError,
  NotSupportedError,
  Popularity,
  StorageError,
  UnknownIdError,
  type Dataset,
  type KernelPool,
  type ModelOptions,
  type Recommender,
} from '../../src/index.js';

export interface ContractSpec {
  /** Suite title. */
  title: string;
  /** A new model with these base options (add the model's own). */
  make(options: ModelOptions): Recommender;
  /** The model's static load. */
  load(path: string, options?: ModelOptions): Promise<Recommender>;
  /** Training data. */
  data(): Dataset;
  /** Domain to recommend in. */
  domain: string;
  /** Users to check (every one must be known). */
  users: string[];
  /** The item each user must get first. */
  top1?: (user: string) => string;
  /** A new user's events for foldIn, and the item they must then get first. */
  foldIn: { events: Array<{ item: string; domain?: string }>; top1?: string };
  /** Model explains scores. @default true */
  explains?: boolean;
}

export function runContractSuite(spec: ContractSpec): void {
  describe(`contract: ${spec.title}`, () => {
    let pool1: KernelPool;
    let pool2: KernelPool;
    let model: Recommender;
    const dir = mkdtempSync(join(tmpdir(), 'migrec-contract-'));
    const opts = { domain: spec.domain };

    beforeAll(async () => {
      pool1 = createPool({ threads: 1 });
      pool2 = createPool({ threads: 2 });
      model = spec.make({});
      await model.fit(spec.data());
    });
    afterAll(async () => {
      await pool1?.close();
      await pool2?.close();
    });

    if (spec.top1) {
      it('puts the predictable item first', () => {
        for (const u of spec.users) expect(model.recommend(u, { ...opts, k: 3 }).items[0], u).toBe(spec.top1!(u));
      });
    }

    it('recommendBatch equals recommend, user by user', async () => {
      const batch = await model.recommendBatch(spec.users, { ...opts, k: 5 });
      expect(batch.length).toBe(spec.users.length);
      spec.users.forEach((u, i) => {
        const one = model.recommend(u, { ...opts, k: 5 });
        expect(batch.get(i).items).toEqual(one.items);
        expect(Array.from(batch.get(i).scores)).toEqual(Array.from(one.scores));
      });
    });

    it('honours filterSeen, exclude and candidates; k beyond the catalogue is fine', () => {
      const data = spec.data();
      const d = data.vocab.domainIndex(spec.domain);
      const all = data.vocab.items(d).list().slice(0, data.nItems(d));
      for (const u of spec.users) {
        const ui = data.vocab.users.get(u);
        const m = data.matrix(d);
        const seen = new Set(Array.from(m.indices.subarray(m.indptr[ui], m.indptr[ui + 1]), (i) => all[i]));
        const big = model.recommend(u, { ...opts, k: all.length + 10 });
        expect(big.items.length).toBeLessThanOrEqual(all.length);
        expect(new Set(big.items).size).toBe(big.items.length);
        for (const it of big.items) expect(seen.has(it), `${u} got seen item ${it}`).toBe(false);
        const top = model.recommend(u, { ...opts, k: 2 });
        if (top.items.length > 0) {
          const ex = model.recommend(u, { ...opts, k: 2, exclude: [top.items[0]] });
          expect(ex.items).not.toContain(top.items[0]);
        }
        const cands = all.filter((_, i) => i % 3 === 0);
        const c = model.recommend(u, { ...opts, k: 5, candidates: cands });
        for (const it of c.items) expect(cands).toContain(it);
      }
    });

    it('save -> load gives identical recommendations', async () => {
      const p = join(dir, `${model.name}.migrec`);
      await model.save(p);
      const back = await spec.load(p);
      for (const u of spec.users) {
        const a = model.recommend(u, { ...opts, k: 5 });
        const b = back.recommend(u, { ...opts, k: 5 });
        expect(b.items).toEqual(a.items);
        expect(Array.from(b.scores)).toEqual(Array.from(a.scores));
      }
    });

    it('same output on 1 and 2 pool threads and on the wasm and js backends', async () => {
      const ref = await model.recommendBatch(spec.users, { ...opts, k: 5 });
      for (const variant of [{ pool: pool1 }, { pool: pool2 }, { backend: 'js' as const }, { backend: 'wasm' as const, pool: pool2 }]) {
        const m = spec.make(variant);
        await m.fit(spec.data());
        const got = await m.recommendBatch(spec.users, { ...opts, k: 5 });
        spec.users.forEach((_, i) => {
          expect(got.get(i).items).toEqual(ref.get(i).items);
          expect(Array.from(got.get(i).scores)).toEqual(Array.from(ref.get(i).scores));
        });
      }
    });

    it('foldIn changes the next recommendation without refitting', async () => {
      const m = spec.make({});
      await m.fit(spec.data());
      const u = spec.users[0];
      const before = m.recommend(u, { ...opts, k: 1 });
      if (before.items.length > 0) {
        m.foldIn(u, [{ item: before.items[0], domain: spec.domain }]);
        expect(m.recommend(u, { ...opts, k: 5 }).items).not.toContain(before.items[0]);
      }
      expect(() => m.recommend('newcomer', opts)).toThrow(UnknownIdError);
      m.foldIn('newcomer', spec.foldIn.events);
      const r = m.recommend('newcomer', { ...opts, k: 3 });
      if (spec.foldIn.top1) expect(r.items[0]).toBe(spec.foldIn.top1);
      // Folded-in behaviour, of a newcomer and of a known user, is saved with the model and
      // loads to identical recommendations.
      const p = join(dir, `${m.name}-folded.migrec`);
      await m.save(p);
      const back = await spec.load(p);
      for (const who of ['newcomer', ...spec.users]) {
        const a = m.recommend(who, { ...opts, k: 5 });
        const b = back.recommend(who, { ...opts, k: 5 });
        expect(b.items, who).toEqual(a.items);
        expect(Array.from(b.scores), who).toEqual(Array.from(a.scores));
      }
    });

    if (spec.explains ?? true) {
      it('explain: contributions add up to the score', () => {
        for (const u of spec.users) {
          const r = model.recommend(u, { ...opts, k: 3 });
          for (let t = 0; t < r.items.length; t++) {
            const e = model.explain(u, r.items[t], opts);
            const sum = e.contributions.reduce((s, c) => s + c.weight, 0);
            expect(Math.abs(sum - e.score)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(e.score)));
            expect(Math.abs(e.score - r.scores[t])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(e.score)));
            for (let q = 1; q < e.contributions.length; q++) expect(e.contributions[q - 1].weight).toBeGreaterThanOrEqual(e.contributions[q].weight);
          }
        }
      });
    }

    it('bad calls get typed errors with exact messages', async () => {
      expect(() => model.recommend('nobody', opts)).toThrow(
        'unknown user "nobody": not in the training data (pass fallback: "popularity" to recommend popular items)',
      );
      const fb = model.recommend('nobody', { ...opts, k: 2, fallback: 'popularity' });
      expect(fb.fallback).toBe(true);
      expect(fb.items.length).toBe(2);
      expect(() => model.recommend(spec.users[0], { ...opts, k: 0 })).toThrow(new RangeError('options.k must be a positive integer (got 0)'));
      expect(() => model.recommend(spec.users[0], { ...opts, k: 2.5 })).toThrow('options.k must be a positive integer (got 2.5)');
      expect(() => model.recommend(spec.users[0], { domain: 'nowhere' })).toThrow(UnknownIdError);
      expect(() => model.recommend(spec.users[0], { domain: 'nowhere' })).toThrow('unknown domain "nowhere": it has no training rows');
      expect(() => model.recommend(spec.users[0], { ...opts, exclude: ['no-such-item'] })).toThrow(
        `unknown item "no-such-item": not in the training items of domain "${spec.domain}"`,
      );
      if (spec.explains ?? true) expect(() => model.explain(spec.users[0], 'no-such-item', opts)).toThrow(UnknownIdError);
      await expect(model.save(join(dir, 'missing-dir', 'm.migrec'))).rejects.toThrow(
        `cannot write model file ${join(dir, 'missing-dir', 'm.migrec')}: the directory does not exist`,
      );
      await expect(model.save(join(dir, 'missing-dir', 'm.migrec'))).rejects.toThrow(StorageError);
      const other = spec.make({});
      await expect(other.recommendBatch(spec.users, opts)).rejects.toThrow(`${model.name}: call fit() or load() first`);
      // A file of another model type.
      const popPath = join(dir, 'pop.migrec');
      const pop = new Popularity();
      await pop.fit(spec.data());
      await pop.save(popPath);
      if (model.name !== 'popularity') {
        await expect(spec.load(popPath)).rejects.toThrow(new ModelFormatError(`${popPath}: holds a popularity model, not ${model.name}`));
      }
    });

    it('similarItems excludes the item itself, or is NotSupported', () => {
      const data = spec.data();
      const d = data.vocab.domainIndex(spec.domain);
      const item = data.vocab.items(d).id(0);
      try {
        const r = model.similarItems(item, { ...opts, k: 3 });
        expect(r.items).not.toContain(item);
        expect(r.items.length).toBeLessThanOrEqual(3);
      } catch (e) {
        expect(e).toBeInstanceOf(NotSupportedError);
      }
    });
  });
}
