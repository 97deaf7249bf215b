import { UsageError } from '../errors.js';
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
