import { ModelFormatError, UsageError } from '../errors.js';
import { readModelFile, type ModelFileContent } from '../io/modelfile.js';
import type { ModelOptions } from './base.js';
import { Bridge } from './bridge.js';
import { ItemKnn } from './itemknn.js';
import { Popularity } from './popularity.js';
import { RandomModel } from './random.js';
import type { ModelName } from './types.js';
import { UserKnn } from './userknn.js';
import type { Recommender } from './base.js';

export { Recommender, RecommendationBatch, UserBatch, checkK } from './base.js';
export type { ModelOptions, RecommendOptions, Recommendation, Explanation, Contribution, FoldInEvent, ScoreFilter, ModelData } from './base.js';
export { Popularity } from './popularity.js';
export { RandomModel } from './random.js';
export { ItemKnn } from './itemknn.js';
export type { ItemKnnOptions } from './itemknn.js';
export { UserKnn } from './userknn.js';
export type { UserKnnOptions } from './userknn.js';
export { Bridge } from './bridge.js';
export type { BridgeOptions, BridgeVariant } from './bridge.js';
export type { Weighting } from './weighting.js';
export { MODEL_NAMES, RankedLists } from './types.js';
export type { IndexModel, ModelName, FitOptions, RankOptions } from './types.js';

/** Models that `createModel` can build today, in the order `migrec eval` runs them. */
export const AVAILABLE_MODELS: readonly ModelName[] = ['popularity', 'random', 'itemknn', 'userknn', 'bridge'];

/** Options accepted by `createModel` (each model reads the ones it knows). */
export type AnyModelOptions = ModelOptions & Record<string, unknown>;

/**
 * A new, unfitted model by name.
 * @throws {UsageError} for a name that is not an available model.
 */
export function createModel(name: string, options: AnyModelOptions = {}): Recommender {
  switch (name) {
    case 'popularity':
      return new Popularity(options);
    case 'random':
      return new RandomModel(options);
    case 'itemknn':
      return new ItemKnn(options);
    case 'userknn':
      return new UserKnn(options);
    case 'bridge':
      return new Bridge(options);
    default:
      throw new UsageError(`unknown model ${JSON.stringify(name)} (available: ${AVAILABLE_MODELS.join(', ')})`);
  }
}

/**
 * Load any model file, whatever its model type.
 * @throws {ModelFormatError} for a corrupted or unknown file; {StorageError} when it cannot be read.
 */
export async function loadModel(path: string, options: ModelOptions = {}): Promise<Recommender> {
  const content = await readModelFile(path);
  const loader = LOADERS[content.model];
  if (!loader) throw new ModelFormatError(`${path}: holds a ${content.model} model, which this migrec cannot load`);
  return loader(path, options, content);
}

type Loader = (path: string, options: ModelOptions, content: ModelFileContent) => Promise<Recommender>;

/** Loaders by model type; other modules (transfer, fusion) register theirs. */
const LOADERS: Record<string, Loader> = {
  popularity: (p, o, c) => Popularity.load(p, o, c),
  random: (p, o, c) => RandomModel.load(p, o, c),
  itemknn: (p, o, c) => ItemKnn.load(p, o, c),
  userknn: (p, o, c) => UserKnn.load(p, o, c),
  bridge: (p, o, c) => Bridge.load(p, o, c),
};

/** Make `loadModel` able to read files of another model type. */
export function registerModelLoader(model: string, loader: Loader): void {
  LOADERS[model] = loader;
}
