export { MigrationRecommender } from './migration.js';
export type { MigrationOptions } from './migration.js';
export { componentNames } from './components.js';
export { bucketOf, BUCKETS } from './gating.js';
export type { Bucket } from './gating.js';
