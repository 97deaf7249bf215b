// migrec public surface: named exports only; the CLI uses nothing else.
export {
  MigrecError,
  DataError,
  UnknownIdError,
  NotFittedError,
  ModelFitError,
  KernelError,
  ModelFormatError,
  NotSupportedError,
  StorageError,
  UsageError,
  isMigrecError,
} from './errors.js';
export type { MigrecErrorCode, DataLocation } from './errors.js';
export { Rng } from './random.js';
export {
  Vocabulary,
  Vocabularies,
  naturalCompare,
  loadEvents,
  loadMovieLens,
  parseEvents,
  buildMatrix,
  Dataset,
  selectRows,
  concatTables,
  DEFAULT_BEHAVIOR_WEIGHTS,
  coldStartSplit,
  temporalSplit,
  holdoutSplit,
  loadCatalog,
} from './data/index.js';
export type {
  EventTable,
  LoadOptions,
  LoadedEvents,
  MatrixOptions,
  DuplicatePolicy,
  DatasetOptions,
  Split,
  ColdStartOptions,
  TemporalOptions,
  HoldoutOptions,
  ItemCatalog,
  CatalogOptions,
} from './data/index.js';
export {
  hitRate,
  recall,
  precision,
  ndcg,
  reciprocalRank,
  averagePrecision,
  coverage,
  longTailShare,
  mae,
  rmse,
  evaluate,
  METRIC_NAMES,
  CONTRACT_METRICS,
  bootstrapMean,
} from './eval/index.js';
export type { EvaluateOptions, EvalReport, EvalResult, MetricName, Segment, BootstrapInterval, BootstrapOptions } from './eval/index.js';
export {
  Recommender,
  RecommendationBatch,
  Popularity,
  RandomModel,
  ItemKnn,
  UserKnn,
  Bridge,
  RankedLists,
  MODEL_NAMES,
} from './models/index.js';
export { createModel, loadModel, registerModel, availableModels } from './registry.js';
export type { AnyModelOptions, ModelEntry } from './registry.js';
export { MigrationRecommender, registerComponent, componentNames } from './fusion/index.js';
export type { MigrationOptions, ComponentFactory, Bucket } from './fusion/index.js';
export type {
  IndexModel,
  ModelName,
  FitOptions,
  RankOptions,
  ModelOptions,
  RecommendOptions,
  Recommendation,
  Explanation,
  Contribution,
  FoldInEvent,
  ItemKnnOptions,
  UserKnnOptions,
  BridgeOptions,
  BridgeVariant,
  Weighting,
} from './models/index.js';
export { Mf, Emcdr, Ptupcdr, CrossDomainModel, initTensorflow } from './transfer/index.js';
export type { MfOptions, EmcdrOptions, PtupcdrOptions, CrossDomainOptions, FactorOptions, ItemFeatures, EncoderOptions, EncoderReport, MappingKind } from './transfer/index.js';
export { createPool, KernelPool } from './pool/index.js';
export type { PoolOptions } from './pool/index.js';
export { getKernels, referenceKernels, WasmKernels } from './kernels/index.js';
export type { Kernels, BackendName, TopK, Csr } from './kernels/types.js';
