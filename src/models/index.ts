import { UsageError } from '../errors.js';
import { Popularity } from './popularity.js';
import { RandomModel } from './random.js';
import type { IndexModel, ModelName } from './types.js';

export { Popularity } from './popularity.js';
export { RandomModel } from './random.js';
export { MODEL_NAMES, RankedLists } from './types.js';
export type { IndexModel, ModelName, FitOptions, RankOptions } from './types.js';

/** Models that `createModel` can build today, in the order `migrec eval` runs them. */
export const AVAILABLE_MODELS: readonly ModelName[] = ['popularity', 'random'];

/**
 * A new, unfitted model by name.
 * @throws {UsageError} for a name that is not an available model.
 */
export function createModel(name: string): IndexModel {
  switch (name) {
    case 'popularity':
      return new Popularity();
    case 'random':
      return new RandomModel();
    default:
      throw new UsageError(`unknown model ${JSON.stringify(name)} (available: ${AVAILABLE_MODELS.join(', ')})`);
  }
}
