/**
 * Distributed batch scoring (`migrec recommend --users FILE --redis URL --out DIR`): the users are
 * cut into parts of `partSize` in file order, one BullMQ job per part; a worker loads the model
 * (once per file version), recommends for its part and writes `DIR/part-00000.jsonl` etc. with the
 * lines `recommend --users` prints (lines.ts), written aside and renamed, so a part is whole or
 * absent. Concatenated in name order the parts are the single-process output. A rerun (after a
 * crash) scores only the parts that are missing; a part made from other users, or a directory
 * made with another model or other options, is refused.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Recommender } from '../engine/facade.js';
import type { RecommendOptions } from '../engine/types.js';
import { ClusterError, OptionRangeError, StorageError } from '../errors.js';
import { checkRedis } from './connection.js';
import { recommendationLines } from './lines.js';
import { clusterSettings, QueueLink, type ClusterOptions } from './remote.js';

/** Options of {@link scoreOnCluster}. */
export interface ClusterScoringOptions extends Omit<ClusterOptions, 'workDir' | 'shards'> {
  /** The model file (at the same path on every worker). */
  model: string;
  /** Directory of the parts (shared with the workers; made when missing). */
  out: string;
  /** Users per part (per job). @default 10000 */
  partSize?: number;
  /** What to recommend, as for `recommendBatch` (k, domain, fallback, filters). */
  options?: RecommendOptions;
}

/** What a distributed scoring did. */
export interface ClusterScoringReport {
  out: string;
  parts: number;
  /** Parts already there from an earlier run (not scored again). */
  reused: number;
  users: number;
  /** Users that got an error line (unknown to the model). */
  failed: number;
}

/** @internal One score job's data. */
export interface ScoreJob {
  model: string;
  users: string;
  part: string;
  meta: string;
  hash: string;
  options: RecommendOptions;
}

/** Users per `recommendBatch` call inside a part (the single-process command's batch). */
const BATCH = 4096;

const partName = (p: number) => `part-${String(p).padStart(5, '0')}`;

/**
 * Score every user of `users` (ids in order) on the workers into `out`.
 * @throws {ClusterError} when Redis is unreachable or lost the jobs, or a part failed every attempt (with its error).
 * @throws {StorageError} when `out` holds parts of another model, other options or other users.
 */
export async function scoreOnCluster(users: AsyncIterable<string>, o: ClusterScoringOptions): Promise<ClusterScoringReport> {
  const s = clusterSettings({ ...o, workDir: o.out });
  const partSize = o.partSize ?? 10_000;
  if (!Number.isInteger(partSize) || partSize < 1) throw new OptionRangeError('partSize', `options.partSize must be a positive integer (got ${partSize})`);
  const model = resolve(o.model);
  const mst = await stat(model).catch(() => undefined);
  if (!mst?.isFile()) throw new StorageError(`model file ${o.model} not found`);
  const out = resolve(o.out);
  const meta = join(out, '.migrec');
  await mkdir(meta, { recursive: true }).catch((e: Error) => {
    throw new StorageError(`--out ${o.out}: cannot make ${meta} (${e.message})`);
  });
  const options = o.options ?? {};
  const manifest = JSON.stringify({ model, size: mst.size, mtimeMs: mst.mtimeMs, options, partSize });
  const manifestPath = join(meta, 'manifest.json');
  const old = await readFile(manifestPath, 'utf8').catch(() => undefined);
  if (old !== undefined && old !== manifest) throw new StorageError(`${o.out} holds parts made with another model file or other options (${manifestPath}): use another --out or remove them`);
  await writeFile(manifestPath, manifest);
  await checkRedis(s.redis);
  const link = new QueueLink(s);
  const runId = `score-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
  const pending = new Map<string, number>();
  const report: ClusterScoringReport = { out, parts: 0, reused: 0, users: 0, failed: 0 };
  let failure: Error | undefined;
  let done = 0;
  let wake = () => {};
  const finish = (id: string, v: { users: number; failed: number } | Error) => {
    if (!pending.delete(id)) return;
    if (v instanceof Error) failure ??= v;
    else {
      report.failed += v.failed;
      o.onProgress?.({ stage: 'score', done: ++done, total: report.parts - report.reused });
    }
    wake();
  };
  try {
    await link.ready();
    link.events.on('completed', ({ jobId, returnvalue }) => finish(jobId, (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as { users: number; failed: number }));
    link.events.on('failed', ({ jobId, failedReason }) => {
      if (!pending.has(jobId)) return;
      void link.queue.getJobState(jobId).then((st) => {
        if (st === 'failed') finish(jobId, new ClusterError(`job ${jobId} (scoring ${partName(pending.get(jobId) ?? 0)}) failed after ${s.attempts} attempts on ${link.label}: ${failedReason}`));
      });
    });
    link.watch((e) => (failure ??= e) && wake(), () => undefined);
    const poll = setInterval(() => void watchdog(), s.pollMs);
    poll.unref();
    let checking = false;
    const watchdog = async () => {
      link.checkDown();
      if (checking) return;
      checking = true;
      try {
        for (const [id] of [...pending]) {
          const st = await link.queue.getJobState(id);
          if (st === 'unknown') finish(id, new ClusterError(`Redis at ${link.label} lost job ${id} of this run (restarted without persistence?): the run stops; rerun to score the missing parts`));
          else if (st === 'completed') finish(id, (await link.queue.getJob(id))?.returnvalue ?? { users: 0, failed: 0 });
        }
      } catch {
        // Redis down: checkDown decides.
      } finally {
        checking = false;
      }
    };
    const opts = { attempts: s.attempts, backoff: { type: 'exponential', delay: s.backoffMs }, removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } };
    const enqueue = async (p: number, ids: string[]) => {
      report.parts++;
      report.users += ids.length;
      const hash = createHash('sha256').update(ids.join('\n')).digest('hex');
      const part = join(out, `${partName(p)}.jsonl`);
      const side = join(meta, `${partName(p)}.json`);
      const have = await readFile(side, 'utf8').then((t) => JSON.parse(t) as { hash: string; failed: number }, () => undefined);
      if (have && (await stat(part).catch(() => undefined))) {
        if (have.hash !== hash) throw new StorageError(`${part} was made from other users than part ${p} of this users file: use another --out or remove the parts`);
        report.reused++;
        report.failed += have.failed;
        return;
      }
      const usersFile = join(meta, `users-${String(p).padStart(5, '0')}.txt`);
      await writeFile(usersFile, ids.join('\n'));
      const id = `${runId}.${p}`;
      const data: ScoreJob = { model, users: usersFile, part, meta: side, hash, options };
      await link.queue.add('score', data, { jobId: id, ...opts });
      // Registered once added (the watchdog reads a missing job as lost); a completion seen
      // before this is caught by the watchdog's state check.
      pending.set(id, p);
    };
    let p = 0;
    let ids: string[] = [];
    for await (const u of users) {
      ids.push(u);
      if (ids.length === partSize) {
        await enqueue(p++, ids);
        ids = [];
        if (failure) throw failure;
      }
    }
    if (ids.length > 0) await enqueue(p++, ids);
    while (pending.size > 0 && !failure) await new Promise<void>((r) => (wake = r));
    clearInterval(poll);
    if (failure) throw failure;
    await removeStale(out, meta, p);
    return report;
  } finally {
    await link.close();
    for (const f of await readdir(meta).catch(() => [] as string[])) if (/^users-\d+\.txt$/.test(f)) await rm(join(meta, f), { force: true });
  }
}

/** Remove parts numbered from `count` on (left by an earlier, longer users file). */
async function removeStale(out: string, meta: string, count: number): Promise<void> {
  for (const f of await readdir(out)) {
    const m = /^part-(\d+)\.jsonl$/.exec(f);
    if (m && Number(m[1]) >= count) {
      await rm(join(out, f), { force: true });
      await rm(join(meta, `part-${m[1]}.json`), { force: true });
    }
  }
}

/** @internal Worker side: score one part and write it (its counts first, then the lines, each written aside and renamed). */
export async function scorePart(job: ScoreJob, models: { get(path: string): Promise<Recommender> }, jobId: string): Promise<{ users: number; failed: number }> {
  const model = await models.get(job.model);
  const text = await readFile(job.users, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new ClusterError(`cannot read ${job.users} (${e.code ?? e.message}): is the --out directory shared with this worker?`);
  });
  const ids = text === '' ? [] : text.split('\n');
  let lines = '';
  let failed = 0;
  for (let b = 0; b < ids.length; b += BATCH) {
    const r = await recommendationLines(model, ids.slice(b, b + BATCH), job.options);
    lines += r.text;
    failed += r.failed;
  }
  const tmp = `.${jobId}.tmp`;
  await writeFile(job.meta + tmp, JSON.stringify({ hash: job.hash, users: ids.length, failed }));
  await rename(job.meta + tmp, job.meta);
  await writeFile(job.part + tmp, lines);
  await rename(job.part + tmp, job.part);
  return { users: ids.length, failed };
}
