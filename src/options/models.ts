/**
 * The option schema of every model: one meaning per option name across all models, the defaults
 * of the model code, and the components of the fused model. These drive option validation, CLI
 * flags, per-model help, re-validation of options saved in model files, and the README table.
 */
import { nearestName, OptionTypeError, UsageError, type OptionSpec, type Schema } from './schema.js';

/** Freeze a schema, its specs, their value lists and nested schemas. */
function frozen<S extends Record<string, OptionSpec>>(schema: S): Readonly<S> {
  for (const spec of Object.values(schema)) {
    if (Object.isFrozen(spec)) continue;
    if (spec.values) Object.freeze(spec.values);
    if (Array.isArray(spec.default)) Object.freeze(spec.default);
    else if (typeof spec.default === 'object' && spec.default !== null) Object.freeze(spec.default);
    if (spec.keys) frozen(spec.keys as Record<string, OptionSpec>);
    Object.freeze(spec);
  }
  return Object.freeze(schema);
}

// ---- shared specs (the same object wherever the name appears) -------------------------------

/** Options every model takes. */
export const COMMON_OPTIONS: Schema = frozen({
  seed: { kind: 'integer', default: 0, doc: 'Seed of every random step' },
  pool: { kind: 'object', cli: false, doc: 'Kernel pool the caller owns (a createPool()) for fit and recommendBatch; exclusive with threads', defaultText: 'none (this thread)' },
  threads: { kind: 'integer', min: 0, cli: false, doc: 'Worker threads of a pool the model starts on first use and close() closes; 0 = in this thread', defaultText: 'this thread' },
  backend: { kind: 'enum', values: ['auto', 'wasm', 'js'], default: 'auto', cli: false, doc: 'Kernel implementation: wasm SIMD, the TypeScript reference, or auto (wasm, else js)' },
  memoryBudget: { kind: 'number', min: 0, minExclusive: true, doc: 'Largest model tables fit may build, in bytes; inputs that need more are refused before any work', defaultText: 'no limit' },
  domain: { kind: 'string', nonEmpty: true, cli: false, doc: 'Domain used when a call names none', defaultText: 'the only domain, when the data has one' },
});

const SOURCES: OptionSpec = { kind: 'strings', nonEmpty: true, cli: false, doc: 'Source domains of every target', defaultText: 'every other domain' };
const TARGETS: OptionSpec = { kind: 'strings', nonEmpty: true, cli: false, doc: 'Target domains to fit', defaultText: 'every domain' };
const SHRINK_DOC = 'Shrinkage added to the cosine denominator: dot / (|a| |b| + shrink)';

/** The per-domain matrix factorisation of mf, emcdr and ptupcdr. */
const FACTOR_OPTIONS: Schema = frozen({
  factors: { kind: 'integer', min: 1, default: 64, doc: 'Latent dimension of the ALS factors' },
  iterations: { kind: 'integer', min: 1, default: 12, doc: 'ALS iterations (the most, when stopping early on validation data)' },
  regularization: { kind: 'number', min: 0, default: 0.05, doc: 'L2 regularisation of the ALS factors' },
  alpha: { kind: 'number', min: 0, default: 40, doc: 'ALS confidence slope: confidence = 1 + alpha x weight (Hu et al. 2008)' },
  cgSteps: { kind: 'integer', min: 1, default: 3, doc: 'ALS conjugate-gradient steps per row and half-iteration' },
});

/** `coupling` of emcdr and ptupcdr. */
const COUPLING: OptionSpec = {
  kind: 'object',
  cli: false,
  doc: 'Couple the target factors to the sources (a prior towards the mapped source factors) before the maps are learned',
  defaultText: 'off',
  keys: {
    weight: { kind: 'number', min: 0, required: true, doc: "Weight of the prior pulling an overlapping user's target factors towards their mapped source factors" },
    rounds: { kind: 'integer', min: 1, default: 4, doc: 'Rounds of (linear maps, target user half-step with the prior, target item half-step)' },
    ridge: { kind: 'number', min: 0, default: 100, doc: 'Ridge strength of the linear maps that make the prior' },
  },
};

const RIDGE_GRID_DOC = 'Ridge strengths tried on validation data (ties keep the stronger ridge)';
const BATCH_DOC = 'Training mini-batch size';

// ---- the models ---------------------------------------------------------------------------

const ITEMKNN = {
  neighbors: { kind: 'integer', min: 1, default: 50, doc: 'Neighbours kept per item' },
  shrink: { kind: 'number', min: 0, default: 0, doc: SHRINK_DOC },
  weighting: { kind: 'enum', values: ['none', 'tfidf', 'bm25'], default: 'none', doc: 'Weighting before similarity: none (cosine), tfidf (cosine on TF-IDF), bm25 (dot product on BM25, as implicit)' },
  bm25K1: { kind: 'number', min: 0, minExclusive: true, default: 1.2, formerly: ['K1'], doc: 'BM25 saturation of large weights (weighting bm25)' },
  bm25B: { kind: 'number', min: 0, max: 1, default: 0.75, formerly: ['B'], doc: 'BM25 strength of the length normalisation (weighting bm25)' },
  // Fitted for these domains only: the others have no neighbour lists and cannot be scored (the fused model passes its targets).
  targets: TARGETS,
} satisfies Record<string, OptionSpec>;

const USERKNN = {
  neighbors: { kind: 'integer', min: 1, default: 50, doc: 'Neighbours kept per user (the most similar users)' },
  shrink: { kind: 'number', min: 0, default: 0, doc: SHRINK_DOC },
  // Fitted for these domains: their training users' neighbour lists are found now and saved; users of the others are searched at query time (same lists).
  targets: TARGETS,
} satisfies Record<string, OptionSpec>;

const BRIDGE = {
  variant: { kind: 'enum', values: ['auto', 'user', 'item'], default: 'auto', doc: 'Bridge variant: user, item, or auto (chosen per target on validation data; user without it)' },
  neighbors: { kind: 'integer', min: 1, doc: 'Neighbours kept: users (user variant) or target items per source item (item variant)', defaultText: '100, or chosen from the grid on validation data' },
  neighborGrid: { kind: 'integers', min: 1, nonEmpty: true, doc: 'Candidates for neighbors of the user variant, tried on validation data', defaultText: 'neighbors when given, else 25, 50, 100, 200, 400, 800' },
  itemNeighborGrid: { kind: 'integers', min: 1, nonEmpty: true, doc: 'Candidates for neighbors of the item variant, tried on validation data', defaultText: 'neighborGrid, else neighbors, else 25, 50, 100, 200' },
  sources: SOURCES,
  targets: TARGETS,
  shrink: { kind: 'number', min: 0, doc: SHRINK_DOC, defaultText: '0, or (item variant) chosen from 0, 20, 100 on validation data' },
  exponent: { kind: 'number', min: 0, minExclusive: true, doc: 'Similarities are raised to this power before use (larger: trust the closest neighbours more)', defaultText: '1, or chosen from 1, 2 on validation data' },
  idf: { kind: 'boolean', doc: 'Inverse-frequency weighting: of source items (user variant), of shared users (item variant)', defaultText: 'false, or chosen on validation data' },
  asymmetry: { kind: 'number', min: 0, max: 1, formerly: ['alpha'], doc: 'Item variant: asymmetric cosine exponent, dot / (|source|^(2a) |target|^(2(1-a)) + shrink); 0.5 is the cosine', defaultText: '0.5, or chosen from 0.5, 0.8, 1 on validation data' },
} satisfies Record<string, OptionSpec>;

const ENCODER: OptionSpec = {
  kind: 'object',
  cli: false,
  default: {},
  doc: 'Settings of the long-tail item encoder (with itemFeatures)',
  keys: {
    minInteractions: { kind: 'integer', min: 1, default: 5, doc: 'Items with fewer training interactions get (partly) encoded factors; items with at least this many train the encoder' },
    hidden: { kind: 'integer', min: 1, default: 64, doc: 'Hidden units of the encoder' },
    epochs: { kind: 'integer', min: 1, default: 300, doc: 'Most encoder epochs (early stopping on a seeded 10% of the training items)' },
    learningRate: { kind: 'number', min: 0, minExclusive: true, default: 0.005, doc: 'Adam learning rate of the encoder' },
    l2: { kind: 'number', min: 0, default: 0.0001, doc: 'L2 penalty on the encoder weights' },
  },
};

const MF = {
  ...FACTOR_OPTIONS,
  patience: { kind: 'integer', min: 1, default: 2, doc: 'Validation evaluations without improvement before ALS stops (with validation data)' },
  itemFeatures: { kind: 'object', cli: false, doc: 'Item features (one domain: items, width, values) for the long-tail encoder', defaultText: 'none (no encoder)' },
  encoder: ENCODER,
} satisfies Record<string, OptionSpec>;

const EMCDR = {
  ...FACTOR_OPTIONS,
  sources: SOURCES,
  targets: TARGETS,
  coupling: COUPLING,
  mapping: { kind: 'enum', values: ['auto', 'linear', 'mlp'], default: 'auto', doc: 'Map from source to target factors: linear, mlp, or auto (chosen on validation data; linear without it)' },
  ridge: { kind: 'number', min: 0, default: 10, doc: 'Ridge strength of the linear map without validation data (the intercept is not penalised)' },
  ridgeGrid: { kind: 'numbers', min: 0, nonEmpty: true, default: [1, 10, 100, 1000], doc: RIDGE_GRID_DOC },
  mlpHidden: { kind: 'integer', min: 1, formerly: ['hidden'], doc: 'Hidden units of the MLP map', defaultText: '2 x factors' },
  epochs: { kind: 'integer', min: 1, default: 60, doc: 'Most MLP epochs (early stopping on validation data every 5 epochs, patience 4)' },
  learningRate: { kind: 'number', min: 0, minExclusive: true, default: 0.003, doc: 'Adam learning rate of the MLP map' },
  batchSize: { kind: 'integer', min: 1, default: 256, doc: `${BATCH_DOC} (MLP samples per mini-batch)` },
} satisfies Record<string, OptionSpec>;

const PTUPCDR = {
  ...FACTOR_OPTIONS,
  sources: SOURCES,
  targets: TARGETS,
  coupling: COUPLING,
  rank: { kind: 'integer', min: 1, default: 8, doc: 'Rank of the personal correction A_u B_u' },
  metaHidden: { kind: 'integer', min: 1, default: 64, formerly: ['hidden'], doc: 'Hidden units of the meta network' },
  attentionHidden: { kind: 'integer', min: 1, default: 32, doc: 'Hidden units of the attention over the source history' },
  maxHistory: { kind: 'integer', min: 1, default: 50, doc: 'Source items per user history (the first ones by index)' },
  epochs: { kind: 'integer', min: 1, default: 40, doc: 'Most epochs (early stopping on validation data, patience 2; 2 epochs without it)' },
  learningRate: { kind: 'number', min: 0, minExclusive: true, default: 0.002, doc: 'Adam learning rate of the meta network and the shared map' },
  batchSize: { kind: 'integer', min: 1, default: 128, doc: `${BATCH_DOC} (users per mini-batch)` },
  negatives: { kind: 'integer', min: 1, default: 2048, doc: 'Sampled negative target items per mini-batch' },
  l2: { kind: 'number', min: 0, default: 0.0001, doc: "L2 penalty on the meta network and the shared map's change" },
  ridge: { kind: 'number', min: 0, doc: "Ridge strength of the shared map's start", defaultText: 'chosen from ridgeGrid on validation data, else 100' },
  ridgeGrid: { kind: 'numbers', min: 0, nonEmpty: true, default: [1, 10, 100, 1000], doc: RIDGE_GRID_DOC },
} satisfies Record<string, OptionSpec>;

const MIGREC = {
  target: { kind: 'string', nonEmpty: true, cli: false, doc: 'Target domain (also the default domain)', defaultText: 'every domain of targets' },
  targets: TARGETS,
  sources: SOURCES,
  components: { kind: 'object', cli: false, copy: true, doc: 'Component models: a list of names, or { name: options | false } on top of the defaults', defaultText: 'every registered component' },
  candidatesPerComponent: { kind: 'integer', min: 1, max: 2 ** 24, default: 100, formerly: ['candidates'], doc: 'Candidates taken from each component per user' },
  minBucketUsers: { kind: 'integer', min: 1, default: 30, doc: "Validation users a bucket needs to get its own weights (else the target's overall weights)" },
  bagging: { kind: 'integer', min: 1, default: 8, doc: 'Bootstrap resamples of the validation users whose weight searches are averaged (1: one search)' },
  validationSample: { kind: 'integer', min: 0, default: 5000, doc: "Validation users per target the weight search uses at most (a seeded sample; 0: all)" },
  holdoutUsers: { kind: 'integer', min: 0, default: 500, doc: 'Training users per bucket held out to tune buckets the validation data leaves with fewer than minBucketUsers (0: off)' },
  longTail: {
    kind: 'object',
    cli: false,
    default: {},
    doc: 'Long-tail exposure: the fused score of items below the popularity percentile is multiplied by (1 + boost)',
    keys: {
      percentile: { kind: 'number', min: 0, max: 1, default: 0.8, doc: 'Popularity percentile below which items are boosted' },
      boost: { kind: 'number', min: 0, default: 0, doc: 'Boost of long-tail items (0: off)' },
    },
  },
} satisfies Record<string, OptionSpec>;

/** The schema of every model, by name, in the order `migrec eval` runs them. Each includes `COMMON_OPTIONS` (last). */
export const MODEL_SCHEMAS: Readonly<Record<string, Schema>> = Object.freeze({
  popularity: frozen({ ...COMMON_OPTIONS }),
  random: frozen({ ...COMMON_OPTIONS }),
  itemknn: frozen({ ...ITEMKNN, ...COMMON_OPTIONS }),
  userknn: frozen({ ...USERKNN, ...COMMON_OPTIONS }),
  bridge: frozen({ ...BRIDGE, ...COMMON_OPTIONS }),
  mf: frozen({ ...MF, ...COMMON_OPTIONS }),
  emcdr: frozen({ ...EMCDR, ...COMMON_OPTIONS }),
  ptupcdr: frozen({ ...PTUPCDR, ...COMMON_OPTIONS }),
  migrec: frozen({ ...MIGREC, ...COMMON_OPTIONS }),
});

/**
 * Option names of earlier versions, per model: old name -> current name. For reading options
 * saved by migrec 0.1 (model files) and for messages about them.
 */
export const RENAMED_OPTIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.freeze({
  itemknn: Object.freeze({ K1: 'bm25K1', B: 'bm25B' }),
  bridge: Object.freeze({ alpha: 'asymmetry' }),
  emcdr: Object.freeze({ hidden: 'mlpHidden' }),
  ptupcdr: Object.freeze({ hidden: 'metaHidden' }),
  migrec: Object.freeze({ candidates: 'candidatesPerComponent' }),
});

/**
 * The schema of a model by name.
 * @throws {UsageError} for a name that is not a model, listing the names.
 */
export function modelSchema(name: string): Schema {
  if (Object.prototype.hasOwnProperty.call(MODEL_SCHEMAS, name)) return MODEL_SCHEMAS[name];
  const names = Object.keys(MODEL_SCHEMAS);
  const near = nearestName(String(name), names);
  throw new UsageError(`unknown model ${JSON.stringify(name)} (${near !== undefined ? `did you mean "${near}"? ` : ''}models: ${names.join(', ')})`);
}

/** One component of the fused model: the model it is, its defaults there, and the options the fusion fixes. */
export interface FusionComponent {
  model: string;
  /** Defaults that differ from the model's own inside the fused model. */
  defaults?: Readonly<Record<string, unknown>>;
  /** Options the fused model sets for this component (not settable). */
  fixed?: Readonly<Record<string, unknown>>;
}

/** The components of the fused model (`migrec`), in fusion order. */
export const FUSION_COMPONENTS: Readonly<Record<string, FusionComponent>> = Object.freeze({
  popularity: { model: 'popularity' },
  itemknn: { model: 'itemknn', defaults: Object.freeze({ neighbors: 100 }) },
  userknn: { model: 'userknn', defaults: Object.freeze({ neighbors: 50 }) },
  'bridge-user': { model: 'bridge', fixed: Object.freeze({ variant: 'user' }) },
  'bridge-item': { model: 'bridge', fixed: Object.freeze({ variant: 'item' }) },
  emcdr: { model: 'emcdr' },
  ptupcdr: { model: 'ptupcdr' },
});
for (const c of Object.values(FUSION_COMPONENTS)) Object.freeze(c);

/** Options the fused model sets for every component. */
const SET_BY_FUSION = ['sources', 'targets', 'target'];

/**
 * The options a component of the fused model takes: its model's schema without the options of
 * every model, without `sources` / `targets` / `target` (the fused model sets them) and without
 * the component's fixed options; defaults are the component's (e.g. itemknn: neighbors 100).
 * @throws {OptionTypeError} for an unknown component (option `components.<name>`), naming the nearest.
 */
export function componentSchema(name: string): Schema {
  if (!Object.prototype.hasOwnProperty.call(FUSION_COMPONENTS, name)) {
    const names = Object.keys(FUSION_COMPONENTS);
    const near = nearestName(String(name), names);
    const hint = near !== undefined ? `did you mean "${near}"?` : `components: ${names.join(', ')}`;
    throw new OptionTypeError(`components.${name}`, `unknown component ${JSON.stringify(name)} for migrec (${hint})`);
  }
  const c = FUSION_COMPONENTS[name];
  const out: Record<string, OptionSpec> = {};
  for (const [key, spec] of Object.entries(MODEL_SCHEMAS[c.model])) {
    if (key in COMMON_OPTIONS || SET_BY_FUSION.includes(key) || (c.fixed && key in c.fixed)) continue;
    out[key] = c.defaults && key in c.defaults ? { ...spec, default: c.defaults[key], defaultText: undefined } : spec;
  }
  return frozen(out);
}
