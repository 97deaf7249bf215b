/** `migrec fit`: fit one or more models on training events, save them, report timings and sizes. */
import { accessSync, constants, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  availableModels,
  checkRedis,
  createClusterPool,
  createModel,
  createPool,
  Dataset,
  getKernels,
  loadCatalog,
  loadEvents,
  StorageError,
  UsageError,
  type EventTable,
  type KernelPool,
} from '../index.js';
import { clearProgress, neighborsAlias, parseNumber, parseThreads, progressLine, required, type CliIO, type Command, type FlagOptions, type Values } from './args.js';
import { DATA_HELP, DATA_OPTIONS, domainSizes, loadOptionsFrom, reportSkipped } from './common.js';
import { accepts, modelFlagOptions, narrowsToTarget, modelOptionsFrom, parseModels, SEED_SET_HELP, selectedModelsHelp } from './modelflags.js';

/** The flags of `migrec fit` other than the model flags. */
const FIT_OPTIONS = {
  train: { type: 'string' },
  valid: { type: 'string' },
  target: { type: 'string' },
  source: { type: 'string', multiple: true },
  models: { type: 'string' },
  k: { type: 'string' },
  threads: { type: 'string' },
  out: { type: 'string' },
  items: { type: 'string' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  seed: { type: 'string', default: '0' },
  set: { type: 'string', multiple: true },
  redis: { type: 'string' },
  'work-dir': { type: 'string' },
  queue: { type: 'string' },
  shards: { type: 'string' },
  ...DATA_OPTIONS,
} satisfies FlagOptions;

const FIT_HELP = `Usage: migrec fit --train FILE [--valid FILE] [--target D] [--source D ...] [--models LIST]
                  [model options] [--threads N] [--out FILE|DIR] [--json]

Fits models on the training events and reports how long each stage took. With --out each fitted
model is saved to one file (see \`migrec recommend\`): FILE for one model, DIR/<model>.migrec for
several (DIR must exist). --out is checked before anything is read or fitted.

Options:
  --train FILE          training events (CSV, TSV or JSON Lines)
  --valid FILE          validation events (the bridge chooses its variant and neighbours on them)
  --target D            domain to recommend in (default: the only domain of the file)
  --source D            source domain of the cross-domain models (repeatable; default: every other domain)
  --models LIST         one or more of: ${availableModels().join(', ')}
                        (default: migrec, the fused model)
  --threads N           worker threads of the kernel pool; 0 runs in this thread (default: cores)
  --out FILE|DIR        save the fitted model here (a directory with several models)
  --redis URL           run the heavy stages as jobs on \`migrec worker\` processes through this Redis
                        (see docs/deployment.md); needs --work-dir; the model is the same
  --work-dir DIR        with --redis: a directory the workers share (same path on every machine)
  --queue NAME          with --redis: the workers' queue (default migrec)
  --shards N            with --redis: shards per stage (kNN stages make 8 jobs per shard, ALS 4;
                        default: half the job slots of the connected workers, at least 1)
  --items FILE          item catalog (item[,domain],category,price): enables category and price
                        filters in \`migrec recommend\` and is saved with the model
  --k N                 deprecated: the same as --neighbors
${SEED_SET_HELP}
${DATA_HELP}
  --json                print one JSON object per model: { model, timings: { load_s, similarity_s,
                        transfer_s, fusion_s, total_s }, stats }
  --quiet               no progress line (it is drawn on stderr only when stderr is a terminal)
`;

/** `migrec fit`. */
export const fit: Command = {
  options: () => ({ ...FIT_OPTIONS, ...modelFlagOptions(Object.keys(FIT_OPTIONS)) }),
  help: (values) => FIT_HELP + selectedModelsHelp(values),
  run: fitCommand,
};

/** Stage names of the fused model's `fitReport().seconds` that are similarity (kNN) work, and transfer work. */
const SIMILARITY_STAGES = ['popularity', 'itemknn', 'userknn', 'bridge-user', 'bridge-item'];
const TRANSFER_STAGES = ['emcdr', 'ptupcdr'];
const KNN_MODELS = ['itemknn', 'userknn', 'bridge'];
const TRANSFER_MODELS = ['mf', 'emcdr', 'ptupcdr'];

/** Run `migrec fit`. */
async function fitCommand(given: Values, io: CliIO): Promise<number> {
  const trainPath = required(given, 'train', 'fit');
  const v = neighborsAlias(given, 'fit', io);
  const threads = v.threads === undefined ? availableParallelism() : parseThreads(String(v.threads));
  const names = v.models === undefined ? ['migrec'] : parseModels(String(v.models), availableModels());
  const flagOptions = modelOptionsFrom(v, names, Object.keys(FIT_OPTIONS));
  if (v.target !== undefined && (v.source as string[] | undefined)?.includes(String(v.target))) sameDomain(String(v.target));
  const outs = outPaths(v.out as string | undefined, names);
  const loadOpts = loadOptionsFrom(v);
  const cluster = clusterFlags(v);
  // An unreachable Redis is reported before anything is read or fitted.
  if (cluster) for (const w of (await checkRedis(cluster.redis)).warnings) io.stderr(`migrec: ${w}\n`);

  const total0 = performance.now();
  const train = await loadEvents(trainPath, loadOpts);
  reportSkipped(io.stderr, trainPath, train);
  const data = Dataset.fromEvents(train);
  let valid: EventTable | undefined;
  if (v.valid !== undefined) {
    const vv = await loadEvents(String(v.valid), { ...loadOpts, vocab: train.vocab });
    reportSkipped(io.stderr, String(v.valid), vv);
    valid = vv;
  }
  const domains = train.vocab.domains.list().slice(0, data.nDomains);
  if (v.target !== undefined && !domains.includes(String(v.target))) {
    throw new UsageError(`--target ${JSON.stringify(v.target)} is not a domain of ${trainPath} (domains: ${domains.join(', ')})`);
  }
  const sources = v.source as string[] | undefined;
  for (const s of sources ?? []) {
    if (!domains.includes(s)) throw new UsageError(`--source ${JSON.stringify(s)} is not a domain of ${trainPath} (domains: ${domains.join(', ')})`);
  }
  const target = v.target === undefined ? (domains.length === 1 ? domains[0] : undefined) : String(v.target);
  // A model whose only source is its target learns no transfer and cannot recommend there: refused, as in eval.
  if (target !== undefined && sources?.includes(target)) sameDomain(target);
  const catalog = v.items === undefined ? undefined : await loadCatalog(String(v.items), train.vocab, domains.map((_, d) => data.nItems(d)), { domain: v.domain as string | undefined });
  if (catalog && catalog.unknownItems > 0) io.stderr(`migrec: ${String(v.items)}: ${catalog.unknownItems} catalog rows name items without training rows (skipped)\n`);
  const loadSeconds = (performance.now() - total0) / 1000;
  const sizes = domainSizes(data, domains);
  const backend = getKernels().backend;

  let pool: KernelPool | undefined;
  try {
    if (cluster) {
      const line = progressLine(io, v.quiet === true || v.json === true);
      pool = await createClusterPool({ ...cluster, onProgress: line && ((p) => line({ model: 'cluster', stage: `${p.stage} jobs`, done: p.done, total: p.total })) });
    } else if (threads > 0) pool = createPool({ threads });
    for (const [m, name] of names.entries()) {
      const start = performance.now();
      // Where the model recommends, for the models that take each setting.
      const placement: Record<string, unknown> = {};
      if (target !== undefined && accepts(name, 'domain')) placement.domain = target;
      if (target !== undefined && accepts(name, 'target')) placement.target = target;
      else if (target !== undefined && narrowsToTarget(name)) placement.targets = [target];
      if (sources !== undefined && accepts(name, 'sources')) placement.sources = sources;
      if (pool !== undefined && accepts(name, 'pool')) placement.pool = pool;
      const model = createModel(name, { ...flagOptions[name], ...placement });
      try {
        const progress = progressLine(io, v.quiet === true || v.json === true);
        const f0 = performance.now();
        await model.fit(data, { valid, seed: flagOptions[name].seed as number | undefined, catalog, onProgress: progress });
        const fitSeconds = (performance.now() - f0) / 1000;
        clearProgress(io, progress);
        const out = outs[m];
        if (out !== undefined) await model.save(out);
        const fitted = model.fitReport();
        const report = {
          model: name,
          timings: { load_s: loadSeconds, ...stageSeconds(name, fitted.seconds, fitSeconds), total_s: loadSeconds + (performance.now() - start) / 1000 },
          stats: {
            users: data.nUsers,
            rows: train.length,
            domains: sizes,
            target: target ?? null,
            threads: cluster ? 0 : threads,
            ...(cluster ? { cluster: { queue: cluster.queue ?? 'migrec', shards: pool?.threads } } : {}),
            backend,
            out: out === undefined ? null : { path: out, bytes: statSync(out).size },
            seconds: fitted.seconds,
            choices: fitted.choices,
            fit: fitted.stats,
          },
        };
        if (v.json) io.stdout(`${JSON.stringify(report)}\n`);
        else {
          io.stdout(
            `${name}: fitted in ${fitSeconds.toFixed(3)} s (load ${loadSeconds.toFixed(3)} s, ${cluster ? `${pool?.threads} shards on the workers of ${cluster.queue ?? 'migrec'}` : `${threads} threads`}, ${backend} kernels)\n` +
              Object.entries(sizes).map(([d, s]) => `  ${d}: ${s.items} items, ${s.nnz} interactions, W = ${s.W}\n`).join('') +
              (report.stats.out ? `saved to ${out} (${report.stats.out.bytes} bytes)\n` : ''),
          );
        }
      } finally {
        await model.close();
      }
    }
  } finally {
    await pool?.close();
  }
  if (v.out === undefined) {
    io.stderr(names.length === 1 ? 'migrec: the fitted model was not saved (pass --out FILE to keep it)\n' : 'migrec: the fitted models were not saved (pass --out DIR to keep them)\n');
  }
  return 0;
}

/** The cluster flags (--redis, --work-dir, --queue, --shards), or undefined without --redis. @throws {UsageError} */
function clusterFlags(v: Values): { redis: string; workDir: string; queue?: string; shards?: number } | undefined {
  if (v.redis === undefined) {
    for (const f of ['work-dir', 'queue', 'shards']) if (v[f] !== undefined) throw new UsageError(`--${f} is for a distributed fit: give --redis URL too`);
    return undefined;
  }
  if (v['work-dir'] === undefined) throw new UsageError('--redis needs --work-dir DIR: a directory every worker can read, at the same path (see docs/deployment.md)');
  if (v.threads !== undefined) throw new UsageError('--threads is for a fit in this process: with --redis the workers run the stages (--shards N cuts them)');
  const workDir = String(v['work-dir']);
  if (!statSync(workDir, { throwIfNoEntry: false })?.isDirectory()) throw new StorageError(`--work-dir ${workDir}: not an existing directory`);
  try {
    accessSync(workDir, constants.W_OK);
  } catch {
    throw new StorageError(`--work-dir ${workDir}: not writable`);
  }
  const shards = v.shards === undefined ? undefined : parseNumber(String(v.shards), '--shards', (x) => Number.isInteger(x) && x >= 1, 'a positive integer');
  return { redis: String(v.redis), workDir, queue: v.queue as string | undefined, shards };
}

/** @throws {UsageError} for a --source that is the target domain. */
function sameDomain(target: string): never {
  throw new UsageError(`--source and --target must differ (--source ${JSON.stringify(target)} is the target domain)`);
}

/**
 * The `fit --json` stages from `fitReport().seconds`: the fused model sums its components; a kNN
 * model is all similarity, MF and the transfer models all transfer.
 */
function stageSeconds(name: string, seconds: Record<string, number>, measured: number): { similarity_s: number; transfer_s: number; fusion_s: number } {
  const sum = (keys: readonly string[]) => keys.reduce((a, k) => a + (seconds[k] ?? 0), 0);
  if (name === 'migrec') return { similarity_s: sum(SIMILARITY_STAGES), transfer_s: sum(TRANSFER_STAGES), fusion_s: sum(['fusion']) };
  const total = seconds.total ?? measured;
  return { similarity_s: KNN_MODELS.includes(name) ? total : 0, transfer_s: TRANSFER_MODELS.includes(name) ? total : 0, fusion_s: 0 };
}

/**
 * Where each model is saved, checked before any data is read: one model takes a file in a writable
 * directory, several an existing writable directory (DIR/<model>.migrec).
 * @throws {UsageError} for a directory given for one model or a file for several; {StorageError} when it cannot be written
 */
function outPaths(out: string | undefined, names: readonly string[]): Array<string | undefined> {
  if (out === undefined) return names.map(() => undefined);
  const stat = statSync(out, { throwIfNoEntry: false });
  if (names.length > 1) {
    if (!stat?.isDirectory()) throw new UsageError(`--out must be an existing directory when fitting several models (got ${JSON.stringify(out)})`);
    writable(out, out);
    const paths = names.map((n) => join(out, `${n}.migrec`));
    for (const p of paths) if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--out ${out}: ${p} is a directory`);
    return paths;
  }
  if (stat?.isDirectory()) throw new UsageError(`--out ${out} is a directory: give a file name (a directory is for several models, --models a,b)`);
  const parent = dirname(resolve(out));
  if (!statSync(parent, { throwIfNoEntry: false })?.isDirectory()) throw new StorageError(`--out ${out}: directory ${parent} does not exist`);
  writable(out, stat ? out : parent);
  return [out];
}

/** @throws {StorageError} unless `path` can be written. */
function writable(out: string, path: string): void {
  try {
    accessSync(path, constants.W_OK);
  } catch {
    throw new StorageError(`--out ${out}: ${path} is not writable`);
  }
}
