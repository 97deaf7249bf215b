export { hits, hitRate, recall, precision, ndcg, reciprocalRank, averagePrecision, coverage, longTailShare, mae, rmse } from './metrics.js';
export { evaluate, METRIC_NAMES, CONTRACT_METRICS } from './runner.js';
export type { EvaluateOptions, EvalReport, EvalResult, MetricName, Segment } from './runner.js';
export { bootstrapMean } from './bootstrap.js';
export type { BootstrapInterval, BootstrapOptions } from './bootstrap.js';
