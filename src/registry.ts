/**
 * Models by name: what `migrec eval --models`, `migrec fit` and `loadModel` can build. Code that
 * defines a model of its own can add it with `registerModel`.
 */
import { ModelFormatError, UsageError } from './errors.js';
import { MigrationRecommender } from './fusion/migration.js';
import { readModelFile, type ModelFileContent } from './io/modelfile.js';
import type { ModelOptions, Recommender } from './models/base.js';
import { Bridge } from './models/bridge.js';
import { ItemKnn } from './models/itemknn.js';
import { Popularity } from './models/popularity.js';
import { RandomModel } from './models/random.js';
import { UserKnn } from './models/userknn.js';
import { Emcdr } from './transfer/emcdr.js';
import { Mf } from './transfer/mf.js';
import { Ptupcdr } from './transfer/ptupcdr.js';

/** Options accepted by `createModel` (each model reads the ones it knows). */
export type AnyModelOptions = ModelOptions & Record<string, unknown>;

/** How to build and load one model type. */
export interface ModelEntry {
  create(options: AnyModelOptions): Recommender;
  load(path: string, options: ModelOptions, content: ModelFileContent): Promise<Recommender>;
}

const MODELS = new Map<string, ModelEntry>([
  ['popularity', { create: (o) => new Popularity(o), load: (p, o, c) => Popularity.load(p, o, c) }],
  ['random', { create: (o) => new RandomModel(o), load: (p, o, c) => RandomModel.load(p, o, c) }],
  ['itemknn', { create: (o) => new ItemKnn(o), load: (p, o, c) => ItemKnn.load(p, o, c) }],
  ['userknn', { create: (o) => new UserKnn(o), load: (p, o, c) => UserKnn.load(p, o, c) }],
  ['bridge', { create: (o) => new Bridge(o), load: (p, o, c) => Bridge.load(p, o, c) }],
  ['mf', { create: (o) => new Mf(o), load: (p, o, c) => Mf.load(p, o, c) }],
  ['emcdr', { create: (o) => new Emcdr(o), load: (p, o, c) => Emcdr.load(p, o, c) }],
  ['ptupcdr', { create: (o) => new Ptupcdr(o), load: (p, o, c) => Ptupcdr.load(p, o, c) }],
  ['migrec', { create: (o) => new MigrationRecommender(o), load: (p, o, c) => MigrationRecommender.load(p, o, c) }],
]);

/** Register a model type (name as in DESIGN.md). */
export function registerModel(name: string, entry: ModelEntry): void {
  MODELS.set(name, entry);
}

/** Names of the models that can be built, in the order `migrec eval` runs them. */
export function availableModels(): string[] {
  return [...MODELS.keys()];
}

/**
 * A new, unfitted model by name.
 * @throws {UsageError} for a name that is not an available model.
 */
export function createModel(name: string, options: AnyModelOptions = {}): Recommender {
  const e = MODELS.get(name);
  if (!e) throw new UsageError(`unknown model ${JSON.stringify(name)} (available: ${availableModels().join(', ')})`);
  return e.create(options);
}

/**
 * Load any model file, whatever its model type.
 * @throws {ModelFormatError} for a corrupted or unknown file; {StorageError} when it cannot be read.
 */
export async function loadModel(path: string, options: ModelOptions = {}): Promise<Recommender> {
  const content = await readModelFile(path);
  const e = MODELS.get(content.model);
  if (!e) throw new ModelFormatError(`${path}: holds a ${content.model} model, which this migrec cannot load`);
  return e.load(path, options, content);
}
