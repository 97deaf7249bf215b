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
  ClusterError,
  OptionTypeError,
  OptionRangeError,
  isMigrecError,
  isOptionError,
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
export { generateTwoDomain, generateTwoDomainRows, writeTwoDomainCsv, resolveTwoDomainOptions, type TwoDomainOptions, type ResolvedTwoDomainOptions, type TwoDomainSummary, type TwoDomainRowCallback } from './data/index.js';
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
export { Recommender } from './engine/facade.js';
export type { RankOptions } from './engine/facade.js';
export type { ModelSummary, UserDomainEvents } from './engine/inspect.js';
export { RecommendationBatch, RankedLists } from './engine/types.js';
export type { ModelOptions, FitOptions, RecommendOptions, Recommendation, Explanation, Contribution, FoldInEvent, FitReport, FitProgress } from './engine/types.js';
export { FitCache } from './engine/cache.js';
export type { LiveReport } from './engine/live.js';
export type { Capabilities } from './engine/scorer.js';
export { Popularity, RandomModel, ItemKnn, UserKnn, Bridge, Mf, MODEL_NAMES, initTensorflow } from './models/index.js';
export type {
  IndexModel,
  ModelName,
  ItemKnnOptions,
  UserKnnOptions,
  BridgeOptions,
  BridgeVariant,
  MfOptions,
  FactorOptions,
  ItemFeatures,
  EncoderOptions,
  EncoderReport,
  Weighting,
} from './models/index.js';
export { Emcdr, Ptupcdr } from './transfer/index.js';
export type { EmcdrOptions, PtupcdrOptions, CrossDomainOptions, MappingKind, Coupling } from './transfer/index.js';
export { MigrationRecommender, componentNames, bucketOf, BUCKETS } from './fusion/index.js';
export type { MigrationOptions, Bucket } from './fusion/index.js';
export { createModel, loadModel, availableModels } from './registry.js';
export type { AnyModelOptions } from './registry.js';
export {
  MODEL_SCHEMAS,
  COMMON_OPTIONS,
  FUSION_COMPONENTS,
  RENAMED_OPTIONS,
  modelSchema,
  componentSchema,
  resolveOptions,
  nearestName,
  kebab,
  parseOptionText,
  formatOptionsHelp,
  optionsMarkdown,
  describeOption,
  isCliOption,
} from './options/index.js';
export type { OptionKind, OptionSpec, Schema, FusionComponent } from './options/index.js';
export { createPool, KernelPool, maxThreads, THREADS_PER_CORE, MAX_TOP_K } from './pool/index.js';
export type { PoolOptions } from './pool/index.js';
export { getKernels, referenceKernels, WasmKernels } from './kernels/index.js';
export type { Kernels, BackendName, TopK, Csr } from './kernels/types.js';
export { createClusterPool, startWorker, scoreOnCluster, checkRedis, recommendationLines, recommendationLine, unknownUserLine } from './cluster/index.js';
export type { ClusterOptions, ClusterProgress, ClusterWorker, WorkerOptions, ClusterScoringOptions, ClusterScoringReport, RedisCheck } from './cluster/index.js';
