
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

