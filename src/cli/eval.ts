/** `migrec eval`: load or split events, fit the chosen models, print the contract JSON or a table. */
import {
  availableModels,
  coldStartSplit,
  createModel,
  Dataset,
  evaluate,
  FitCache,
  holdoutSplit,
  loadEvents,
  temporalSplit,
  UsageError,
  type EvalReport,
  type EventTable,
} from '../index.js';
import { parseKs, parseNumber, required, type CliIO, type Command, type FlagOptions, type Values } from './args.js';
import { DATA_HELP, DATA_OPTIONS, loadOptionsFrom, reportSkipped } from './common.js';
import { accepts, modelFlagOptions, modelOptionsFrom, parseModels, SEED_SET_HELP, selectedModelsHelp, type ModelFlagOptions } from './modelflags.js';

/** The flags of `migrec eval` other than the model flags. */
const EVAL_OPTIONS = {
  train: { type: 'string' },
  valid: { type: 'string' },
  test: { type: 'string' },
  k: { type: 'string', default: '10,20' },
  models: { type: 'string' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  split: { type: 'string' },
  source: { type: 'string' },
  target: { type: 'string' },
  beta: { type: 'string', default: '0.2' },
  'valid-beta': { type: 'string', default: '0.1' },
  'test-fraction': { type: 'string', default: '0.2' },
  seed: { type: 'string', default: '0' },
  set: { type: 'string', multiple: true },
  ...DATA_OPTIONS,
} satisfies FlagOptions;

const EVAL_HELP = `Usage: migrec eval --train FILE --test FILE [--valid FILE] [options]
       migrec eval --train FILE --split cold-start --source A --target B [--beta 0.2] [--seed S]
       migrec eval --train FILE --split temporal | holdout [--seed S]

Fits each model on the training events and ranks every training item of each test domain for
every test user (items the user has in training in that domain excluded). Prints HR, Recall,
NDCG and MRR at each K, per model, domain and segment (cold: no training rows in that domain;
warm: some; all).

Options:
  --train FILE          training events (CSV, TSV or JSON Lines; columns user,item[,domain,...])
  --test FILE           test events (same format); not with --split
  --valid FILE          validation events, for tuning and early stopping only
  --split KIND          make the split from --train: cold-start, temporal (leave-last-out), holdout
  --source D --target D domains of a cold-start split
  --beta X              cold-start: fraction of overlapping users held out for test (default 0.2)
  --valid-beta X        cold-start: fraction held out for validation (default 0.1)
  --test-fraction X     holdout: fraction of each user's rows held out (default 0.2)
  --k LIST              cut-offs, e.g. 10,20 (default 10,20)
  --models LIST         comma-separated subset of: ${availableModels().join(', ')}
                        (default: every model that applies, random excepted; the cross-domain
                        ones need two domains)
${SEED_SET_HELP}
${DATA_HELP}
  --json                print one JSON object (the stable contract, plus the options each model
                        was given) instead of a table
  --quiet               no progress line (it is drawn on stderr only when stderr is a terminal)
  --debug               print stack traces of failures
`;

/** `migrec eval`. */
export const evalCmd: Command = {
  options: () => ({ ...EVAL_OPTIONS, ...modelFlagOptions(Object.keys(EVAL_OPTIONS)) }),
  help: (values) => EVAL_HELP + selectedModelsHelp(values),
  run: evalCommand,
};

/** Run `migrec eval`. */
async function evalCommand(v: Values, io: CliIO): Promise<number> {
  const trainPath = required(v, 'train', 'eval');
  const ks = parseKs(String(v.k));
  const loadOpts = loadOptionsFrom(v);
  const seed = parseNumber(String(v.seed), '--seed', Number.isInteger, 'an integer');
  const taken = Object.keys(EVAL_OPTIONS);
  // With --models the model flags are checked before any file is read; the default models
  // depend on the number of domains in the data.
  const explicit = v.models === undefined ? undefined : parseModels(String(v.models), availableModels());
  let flagOptions = explicit && modelOptionsFrom(v, explicit, taken);

  const t0 = performance.now();
  const report = (label: string, t: { skipped: number }) => reportSkipped(io.stderr, label, t);
  let train: EventTable;
  let data: Dataset;
  let valid: EventTable | undefined;
  let test: EventTable;
  if (v.split !== undefined) {
    if (v.test !== undefined || v.valid !== undefined) throw new UsageError('--split makes its own test and valid sets: drop --test and --valid');
    const all = await loadEvents(trainPath, loadOpts);
    report(trainPath, all);
    const split = makeSplit(String(v.split), all, trainPath, v, seed);
    ({ train, valid, test } = split);
    data = Dataset.fromEvents(train);
    if (valid.length === 0) valid = undefined;
  } else {
    const testPath = required(v, 'test', 'eval');
    const t = await loadEvents(trainPath, loadOpts);
    report(trainPath, t);
    train = t;
    // Freeze the training catalogue before valid/test add their ids.
    data = Dataset.fromEvents(train);
    if (v.valid !== undefined) {
      const vv = await loadEvents(String(v.valid), { ...loadOpts, vocab: t.vocab });
      report(String(v.valid), vv);
      valid = vv;
    }
    const tt = await loadEvents(testPath, { ...loadOpts, vocab: t.vocab });
    report(testPath, tt);
    test = tt;
  }
  if (test.length === 0) throw new UsageError('the test set is empty');
  const loadSeconds = (performance.now() - t0) / 1000;
  const modelNames = explicit ?? defaultModels(data.nDomains);
  flagOptions ??= modelOptionsFrom(v, modelNames, taken);
  // Cross-domain models fit only the domains the test set asks about.
  const testDomains = [...new Set(Array.from(test.domain))].map((d) => test.vocab.domains.id(d)).sort();
  const models = modelNames.map((m) => createModel(m, { ...flagOptions[m], ...(accepts(m, 'targets') ? { targets: testDomains } : {}) }));
  // One fit cache for the run: emcdr and ptupcdr (alone or inside migrec) train the same ALS factors once.
  const result = await evaluate(data, test, models, {
    ks,
    valid,
    seed,
    cache: new FitCache(),
    onProgress: io.isTTY && !v.json && !v.quiet ? (m) => io.stderr(`\r\x1b[2K${m}`) : undefined,
  });
  if (io.isTTY && !v.json && !v.quiet) io.stderr('\r\x1b[2K');
  if (result.unknownItems.rows > 0) {
    const parts = Object.entries(result.unknownItems.byDomain).map(([d, n]) => `${d}: ${n}`).join(', ');
    io.stderr(`migrec: ${result.unknownItems.rows} test rows name items not in training (${parts}); they count as relevant and can never be recommended\n`);
  }
  const split = { train: train.length, valid: valid?.length ?? 0, test: test.length };
  if (v.json) io.stdout(`${JSON.stringify(contractJson(result, split, flagOptions))}\n`);
  else io.stdout(formatTable(result, split, loadSeconds));
  return 0;
}

function makeSplit(kind: string, all: EventTable, path: string, v: Values, seed: number) {
  switch (kind) {
    case 'cold-start': {
      if (v.source === undefined || v.target === undefined) throw new UsageError('--split cold-start needs --source and --target');
      const frac = (flag: string) => parseNumber(String(v[flag]), `--${flag}`, (x) => x >= 0 && x <= 1, 'a number in [0, 1]');
      const [beta, validBeta] = [frac('beta'), frac('valid-beta')];
      if (beta + validBeta > 1) throw new UsageError(`--beta + --valid-beta must be at most 1 (got ${beta + validBeta})`);
      const domains = all.vocab.domains.list();
      for (const flag of ['source', 'target']) {
        if (!domains.includes(String(v[flag]))) throw new UsageError(`--${flag} ${JSON.stringify(v[flag])} is not a domain of ${path} (domains: ${domains.join(', ')})`);
      }
      if (v.source === v.target) throw new UsageError(`--source and --target must differ (both ${JSON.stringify(v.source)})`);
      return coldStartSplit(all, { source: String(v.source), target: String(v.target), beta, validBeta, seed });
    }
    case 'temporal':
      return temporalSplit(all);
    case 'holdout':
      return holdoutSplit(all, {
        testFraction: parseNumber(String(v['test-fraction']), '--test-fraction', (x) => x > 0 && x < 1, 'a number in (0, 1)'),
        seed,
      });
    default:
      throw new UsageError(`--split must be cold-start, temporal or holdout (got ${JSON.stringify(kind)})`);
  }
}

/**
 * The `migrec eval --json` object of DESIGN.md: keys and order exactly as the contract, then
 * `options`, what the CLI passed to each model (seed, model flags, --set).
 */
export function contractJson(r: EvalReport, split: { train: number; valid: number; test: number }, options: ModelFlagOptions): unknown {
  return {
    k: r.k,
    split,
    results: r.results.map((x) => ({ model: x.model, domain: x.domain, segment: x.segment, users: x.users, ...x.metrics })),
    timings: r.timings,
    options,
  };
}

function formatTable(r: EvalReport, split: { train: number; valid: number; test: number }, loadSeconds: number): string {
  const out = [
    `rows: train ${split.train}, valid ${split.valid}, test ${split.test} (loaded in ${loadSeconds.toFixed(2)} s)`,
    '',
    ...metricsTable(r.results),
    '',
    timingsLine(r.timings),
  ];
  return `${out.join('\n')}\n`;
}

/** The lines of the metrics table of `migrec eval` (a header, then one line per result), as `migrec demo` prints it too. */
export function metricsTable(results: EvalReport['results']): string[] {
  const keys = results.length > 0 ? Object.keys(results[0].metrics) : [];
  const head = ['model', 'domain', 'segment', 'users', ...keys];
  const rows = results.map((x) => [x.model, x.domain, x.segment, String(x.users), ...keys.map((k) => x.metrics[k].toFixed(4))]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)];
}

/** `timings (s): popularity fit 0.028 score 0.008; ...` */
export function timingsLine(timings: EvalReport['timings']): string {
  return 'timings (s): ' + Object.entries(timings).map(([m, t]) => `${m} fit ${t.fit_s.toFixed(3)} score ${t.score_s.toFixed(3)}`).join('; ');
}

/** Models `migrec eval` runs by default: all that apply to data with `nDomains` domains, the random baseline excepted. */
function defaultModels(nDomains: number): string[] {
  return availableModels().filter((m) => m !== 'random' && (nDomains > 1 || !['bridge', 'emcdr', 'ptupcdr'].includes(m)));
}
