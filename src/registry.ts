/**
 * Models by name: what `migrec eval --models`, `migrec fit` and `loadModel` can build. A fixed
 * table: nothing changes it at run time.
 */
import { ModelFormatError, UsageError } from './errors.js';
import { readModelFile } from './io/modelfile.js';
import { nearestName } from './options/index.js';
import type { Recommender } from './engine/facade.js';
import type { ModelOptions } from './engine/types.js';
import { MigrationRecommender } from './fusion/migration.js';
import { Bridge } from './models/bridge.js';
import { ItemKnn } from './models/itemknn.js';
import { Mf } from './models/mf.js';
import { Popularity } from './models/popularity.js';
import { RandomModel } from './models/random.js';
import { UserKnn } from './models/userknn.js';
import { Emcdr } from './transfer/emcdr.js';
import { Ptupcdr } from './transfer/ptupcdr.js';

/** Options accepted by `createModel`: those of the named model (its options schema). */
export type AnyModelOptions = ModelOptions & Record<string, unknown>;

/** The model classes by name, in the order `migrec eval` runs them. */
const MODELS = {
  popularity: Popularity,
  random: RandomModel,
  itemknn: ItemKnn,
  userknn: UserKnn,
  bridge: Bridge,
  mf: Mf,
  emcdr: Emcdr,
  ptupcdr: Ptupcdr,
  migrec: MigrationRecommender,
} as const;

/** Names of the models that can be built, in the order `migrec eval` runs them. */
export function availableModels(): string[] {
  return Object.keys(MODELS);
}

function entry(name: string): (typeof MODELS)[keyof typeof MODELS] | undefined {
  return Object.hasOwn(MODELS, name) ? MODELS[name as keyof typeof MODELS] : undefined;
}

/**
 * A new, unfitted model by name.
 * @throws {UsageError} for a name that is not a model. @throws {OptionTypeError|OptionRangeError}
 * for an option the model does not have (naming the nearest one) or a bad value.
 */
export function createModel(name: string, options: AnyModelOptions = {}): Recommender {
  const M = entry(name);
  if (!M) {
    const near = nearestName(String(name), availableModels());
    throw new UsageError(`unknown model ${JSON.stringify(name)} (${near !== undefined ? `did you mean "${near}"? ` : ''}available: ${availableModels().join(', ')})`);
  }
  return new M(options);
}

/**
 * Load any model file, whatever its model type.
 * @throws {ModelFormatError} for a corrupted or unknown file, or a file of migrec 0.1; {StorageError} when it cannot be read.
 */
export async function loadModel(path: string, options: ModelOptions = {}): Promise<Recommender> {
  const content = await readModelFile(path);
  const M = entry(content.model);
  if (!M) throw new ModelFormatError(`${path}: holds a ${content.model} model, which this migrec cannot load`);
  return M.load(path, options, content);
}
