import { describe, expect, it } from 'vitest';
import {
  Bridge,
  createPool,
  Emcdr,
  ItemKnn,
  Mf,
  Ptupcdr,
  KernelError,
  loadEvents,
  MigrationRecommender,
  ModelFitError,
  OptionRangeError,
  OptionTypeError,
  Popularity,
  UserKnn,
} from '../src/index.js';
import { itemKnn } from '../src/pool/index.js';
import { checkerboard, twoDomains } from './helpers/fixtures.js';

describe('options: wrong types and ranges name the option', () => {
  const cases: Array<[string, () => unknown, string]> = [
    ['seed', () => new Popularity({ seed: 1.5 }), 'options.seed must be an integer (got 1.5)'],
    ['backend', () => new Popularity({ backend: 'gpu' as never }), 'options.backend must be one of auto, wasm, js (got "gpu")'],
    ['threads', () => new Popularity({ threads: -1 }), 'options.threads must be an integer >= 0 (got -1)'],
    ['memoryBudget', () => new Popularity({ memoryBudget: 0 }), 'options.memoryBudget must be a positive number (got 0)'],
    ['neighbors', () => new ItemKnn({ neighbors: 0 }), 'options.neighbors must be a positive integer (got 0)'],
    ['neighbors type', () => new UserKnn({ neighbors: '5' as never }), 'options.neighbors must be a positive integer (got "5")'],
    ['shrink', () => new ItemKnn({ shrink: -1 }), 'options.shrink must be a number >= 0 (got -1)'],
    ['weighting', () => new ItemKnn({ weighting: 'idf' as never }), 'options.weighting must be one of none, tfidf, bm25 (got "idf")'],
    ['bm25B', () => new ItemKnn({ bm25B: 2 }), 'options.bm25B must be a number in [0, 1] (got 2)'],
    ['B (renamed)', () => new ItemKnn({ B: 0.5 } as never), 'unknown option "B" for itemknn (renamed "bm25B" in migrec 0.2)'],
    ['variant', () => new Bridge({ variant: 'both' as never }), 'options.variant must be one of auto, user, item (got "both")'],
    ['asymmetry', () => new Bridge({ asymmetry: 1.5 }), 'options.asymmetry must be a number in [0, 1] (got 1.5)'],
    ['alpha of the bridge (renamed)', () => new Bridge({ alpha: 0.5 } as never), 'unknown option "alpha" for bridge (renamed "asymmetry" in migrec 0.2)'],
    ['exponent', () => new Bridge({ exponent: 0 }), 'options.exponent must be a positive number (got 0)'],
    ['idf', () => new Bridge({ idf: 'yes' as never }), 'options.idf must be a boolean (got "yes")'],
    ['candidatesPerComponent', () => new MigrationRecommender({ candidatesPerComponent: 0 }), 'options.candidatesPerComponent must be an integer in [1, 16777216] (got 0)'],
    ['component option', () => new MigrationRecommender({ components: { itemknn: { neighbours: 5 } } }), 'unknown option "components.itemknn.neighbours" for migrec (did you mean "components.itemknn.neighbors"?)'],
    ['component option range', () => new MigrationRecommender({ components: { userknn: { neighbors: 0 } } }), 'options.components.userknn.neighbors must be a positive integer (got 0)'],
    ['components', () => new MigrationRecommender({ components: ['magic'] }), 'unknown component "magic" for migrec (components: popularity, itemknn, userknn, bridge-user, bridge-item, emcdr, ptupcdr)'],
    ['bagging', () => new MigrationRecommender({ bagging: 0 }), 'options.bagging must be a positive integer (got 0)'],
    ['pool threads', () => createPool({ threads: 0 }), 'options.threads must be a positive integer (got 0)'],
    ['factors', () => new Mf({ factors: 0 }), 'options.factors must be a positive integer (got 0)'],
    ['regularization', () => new Mf({ regularization: -1 }), 'options.regularization must be a number >= 0 (got -1)'],
    ['alpha (mf)', () => new Mf({ alpha: Number.NaN }), 'options.alpha must be a number >= 0 (got NaN)'],
    ['mapping', () => new Emcdr({ mapping: 'cubic' as never }), 'options.mapping must be one of auto, linear, mlp (got "cubic")'],
    ['epochs', () => new Emcdr({ epochs: 1.5 }), 'options.epochs must be a positive integer (got 1.5)'],
    ['rank', () => new Ptupcdr({ rank: 0 }), 'options.rank must be a positive integer (got 0)'],
    ['learningRate', () => new Ptupcdr({ learningRate: 0 }), 'options.learningRate must be a positive number (got 0)'],
    ['ridge (ptupcdr)', () => new Ptupcdr({ ridge: -1 }), 'options.ridge must be a number >= 0 (got -1)'],
    ['ridgeGrid (ptupcdr)', () => new Ptupcdr({ ridgeGrid: [] }), 'options.ridgeGrid must be a non-empty list of numbers >= 0 (got [])'],
    ['ridgeGrid entry (ptupcdr)', () => new Ptupcdr({ ridgeGrid: [1, Number.POSITIVE_INFINITY] }), 'options.ridgeGrid[1] must be a number >= 0 (got Infinity)'],
  ];
  for (const [name, make, message] of cases) {
    it(name, () => {
      let err: unknown;
      try {
        make();
      } catch (e) {
        err = e;
      }
      expect(err instanceof TypeError || err instanceof RangeError, String(err)).toBe(true);
      expect((err as Error).message).toBe(message);
    });
  }
  it('loader options', async () => {
    await expect(loadEvents('x.csv', { format: 'xml' as never })).rejects.toThrow(new OptionRangeError('format', 'options.format must be one of auto, csv, tsv, jsonl, parquet (got "xml")'));
    await expect(loadEvents('x.csv', { domainColumn: '' })).rejects.toThrow(new OptionTypeError('domainColumn', 'options.domainColumn must be a non-empty column name (got "")'));
  });
});

describe('memory budget: tables that would not fit are refused up front', () => {
  it('item kNN, bridge and transfer factors say what they need', async () => {
    const board = checkerboard().data;
    await expect(new ItemKnn({ neighbors: 50, memoryBudget: 1000 }).fit(board)).rejects.toThrow(
      new ModelFitError('itemknn: the neighbour table (40 items x 40 neighbours) needs 18.4 KiB, over the memory budget of 1000 bytes (options.memoryBudget)'),
    );
    const two = twoDomains().data;
    await expect(new Bridge({ variant: 'item', neighbors: 10, memoryBudget: 100 }).fit(two)).rejects.toThrow(
      new ModelFitError('bridge: the cross-domain similarity table (6 source items x 10 neighbours) needs 480 bytes, over the memory budget of 100 bytes (options.memoryBudget)'),
    );
    await expect(new Emcdr({ memoryBudget: 2048 }).fit(two)).rejects.toThrow(
      new ModelFitError('emcdr: the factor matrices (84 rows x 64 factors, with ALS scratch) needs 42.0 KiB, over the memory budget of 2.0 KiB (options.memoryBudget)'),
    );
    // A model that fitted before keeps working after a refused refit.
    const ok = new ItemKnn({ neighbors: 5 });
    await ok.fit(board);
    expect(ok.recommend('u2', { k: 1 }).items).toEqual(['i2']);
  });
});

describe('pool: close() while tasks run settles every promise', () => {
  it('pending tasks reject with KernelError, none hang', async () => {
    const pool = createPool({ threads: 2 });
    const x = checkerboard().data.matrix(0);
    const tasks = Array.from({ length: 6 }, () => itemKnn(pool, x, { k: 5 }));
    const closing = pool.close();
    const settled = await Promise.allSettled(tasks);
    await closing;
    for (const s of settled) {
      if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(KernelError);
    }
    await expect(itemKnn(pool, x, { k: 5 })).rejects.toThrow(new KernelError('the kernel pool is closed'));
  });
});
