export { MigrationRecommender, registerComponent, componentNames } from './migration.js';
export type { MigrationOptions, ComponentFactory } from './migration.js';
export { bucketOf, BUCKETS } from './gating.js';
export type { Bucket } from './gating.js';
