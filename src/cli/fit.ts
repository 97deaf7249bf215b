/** `migrec fit`: fit one model on training events, optionally save it, report timings and sizes. */
import { availableParallelism } from 'node:os';
import { statSync } from 'node:fs';
import {
  availableModels,
  createModel,
  createPool,
  Dataset,
  getKernels,
  loadCatalog,
  loadEvents,
  MigrationRecommender,
  UsageError,
  type EventTable,
  type KernelPool,
} from '../index.js';
import { DATA_HELP, DATA_OPTIONS, loadOptionsFrom, MODEL_FLAGS, MODEL_HELP, modelOptionsFrom, reportSkipped } from './common.js';
import { parseNumber, required, type CliIO } from './run.js';

export const FIT_OPTIONS = {
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
  ...DATA_OPTIONS,
  ...MODEL_FLAGS,
} as const;

export const FIT_HELP = `Usage: migrec fit --train FILE [--valid FILE] [--target D] [--source D ...] [--models NAME]
                  [--k N] [--threads N] [--out FILE] [--json]

Fits a model on the training events and reports how long each stage took. With --out the fitted
model is saved to one file (see \`migrec recommend\`).

Options:
  --train FILE          training events (CSV, TSV or JSON Lines)
  --valid FILE          validation events (the bridge chooses its variant and neighbours on them)
  --target D            domain to recommend in (default: the only domain of the file)
  --source D            source domain of the bridge (repeatable; default: every other domain)
  --models NAME         one of: ${availableModels().join(', ')}
                        (default: migrec, the fused model)
  --k N                 neighbours of a kNN model (same as --neighbors)
  --threads N           worker threads of the kernel pool; 0 runs in this thread (default: cores)
  --out FILE            save the fitted model here
  --items FILE          item catalog (item[,domain],category,price): enables category and price
                        filters in \`migrec recommend\` and is saved with the model
${MODEL_HELP}
${DATA_HELP}
  --json                print one JSON object: { model, timings: { load_s, similarity_s,
                        transfer_s, fusion_s, total_s }, stats }
`;

/** Run `migrec fit`. */
export async function fitCommand(values: Record<string, unknown>, io: CliIO): Promise<number> {
  const v = values as Record<string, string | boolean | string[] | undefined>;
  const flat = v as Record<string, string | boolean | undefined>;
  const trainPath = required(values, 'train', 'fit');
  const threads =
    v.threads === undefined ? availableParallelism() : parseNumber(String(v.threads), '--threads', (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
  const modelOptions = modelOptionsFrom(flat);
  if (v.k !== undefined) {
    if (v.neighbors !== undefined) throw new UsageError('--k and --neighbors are the same option: give one');
    modelOptions.neighbors = parseNumber(String(v.k), '--k', (x) => Number.isInteger(x) && x > 0, 'a positive integer');
    modelOptions.neighborGrid = [modelOptions.neighbors];
  }
  const loadOpts = loadOptionsFrom(flat);
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
  const loadSeconds = (performance.now() - total0) / 1000;
  const domains = train.vocab.domains.list().slice(0, data.nDomains);
  if (v.target !== undefined && !domains.includes(String(v.target))) {
    throw new UsageError(`--target ${JSON.stringify(v.target)} is not a domain of ${trainPath} (domains: ${domains.join(', ')})`);
  }
  const sources = (v.source as string[] | undefined) ?? undefined;
  for (const s of sources ?? []) {
    if (!domains.includes(s)) throw new UsageError(`--source ${JSON.stringify(s)} is not a domain of ${trainPath} (domains: ${domains.join(', ')})`);
  }
  const name = v.models === undefined ? 'migrec' : String(v.models);
  if (!availableModels().includes(name)) {
    throw new UsageError(`--models must name one model of: ${availableModels().join(', ')} (got ${JSON.stringify(name)})`);
  }
  const target = v.target === undefined ? (domains.length === 1 ? domains[0] : undefined) : String(v.target);
  let pool: KernelPool | undefined;
  try {
    if (threads > 0) pool = createPool({ threads });
    const model = createModel(name, { ...modelOptions, domain: target, target, targets: target === undefined ? undefined : [target], sources, pool });
    const catalog = v.items === undefined ? undefined : await loadCatalog(String(v.items), train.vocab, domains.map((_, d) => data.nItems(d)), { domain: flat.domain as string | undefined });
    if (catalog && catalog.unknownItems > 0) io.stderr(`migrec: ${String(v.items)}: ${catalog.unknownItems} catalog rows name items without training rows (skipped)\n`);
    const f0 = performance.now();
    if (io.isTTY && !v.json) io.stderr(`fitting ${name}...`);
    await model.fit(data, { valid, seed: modelOptions.seed, catalog });
    if (io.isTTY && !v.json) io.stderr('\r\x1b[2K');
    const fitSeconds = (performance.now() - f0) / 1000;
    let outBytes: number | undefined;
    if (v.out !== undefined) {
      await model.save(String(v.out));
      outBytes = statSync(String(v.out)).size;
    }
    const isKnn = ['itemknn', 'userknn', 'bridge'].includes(name);
    // The fused model reports its stages; single models are all similarity (kNN) or all transfer.
    const stages = model instanceof MigrationRecommender ? model.fitSeconds : undefined;
    const sum = (keys: string[]) => keys.reduce((a, k) => a + (stages?.[k] ?? 0), 0);
    const perDomain: Record<string, { items: number; nnz: number; W: number }> = {};
    domains.forEach((d, i) => {
      const m = data.matrix(i);
      let w = 0;
      for (let u = 0; u < m.nRows; u++) w += (m.indptr[u + 1] - m.indptr[u]) ** 2;
      perDomain[d] = { items: m.nCols, nnz: m.indices.length, W: w };
    });
    const report = {
      model: name,
      timings: {
        load_s: loadSeconds,
        similarity_s: stages ? sum(['popularity', 'itemknn', 'userknn', 'bridge-user', 'bridge-item']) : isKnn ? fitSeconds : 0,
        transfer_s: stages ? sum(['emcdr', 'ptupcdr']) : isKnn || name === 'popularity' || name === 'random' ? 0 : fitSeconds,
        fusion_s: stages ? sum(['fusion']) : 0,
        total_s: (performance.now() - total0) / 1000,
      },
      stats: {
        users: data.nUsers,
        rows: train.length,
        domains: perDomain,
        target: target ?? null,
        threads,
        backend: getKernels().backend,
        out: v.out === undefined ? null : { path: String(v.out), bytes: outBytes },
      },
    };
    if (v.json) io.stdout(`${JSON.stringify(report)}\n`);
    else {
      io.stdout(
        `${name}: fitted in ${fitSeconds.toFixed(3)} s (load ${loadSeconds.toFixed(3)} s, ${threads} threads, ${report.stats.backend} kernels)\n` +
          Object.entries(perDomain).map(([d, s]) => `  ${d}: ${s.items} items, ${s.nnz} interactions, W = ${s.W}\n`).join('') +
          (v.out !== undefined ? `saved to ${String(v.out)} (${outBytes} bytes)\n` : ''),
      );
    }
    return 0;
  } finally {
    await pool?.close();
  }
}
