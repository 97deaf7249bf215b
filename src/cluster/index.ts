/** The cluster mode: pool tasks and batch scoring as BullMQ jobs on Redis, run by `migrec worker` processes. */
export { checkRedis, type RedisCheck } from './connection.js';
export { recommendationLine, recommendationLines, unknownUserLine } from './lines.js';
export { createClusterPool, type ClusterOptions, type ClusterProgress } from './remote.js';
export { scoreOnCluster, type ClusterScoringOptions, type ClusterScoringReport } from './scoring.js';
export { startWorker, type ClusterWorker, type WorkerOptions } from './worker.js';
