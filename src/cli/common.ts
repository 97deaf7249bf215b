/** Options shared by the CLI commands: how to read event files, and model hyper-parameters. */
import { UsageError, type AnyModelOptions, type LoadOptions } from '../index.js';
import { parseNumber } from './run.js';

/** Flags that describe how event files are read. */
export const DATA_OPTIONS = {
  domain: { type: 'string' },
  'domain-column': { type: 'string' },
  format: { type: 'string' },
  columns: { type: 'string' },
  'half-life-days': { type: 'string' },
  'skip-invalid': { type: 'boolean', default: false },
} as const;

export const DATA_HELP = `  --domain D            domain of rows in files without a domain column (default "default")
  --domain-column C     the column that names the domain, e.g. scene, channel or behavior (default domain)
  --format F            csv, tsv or jsonl (default: from the file extension)
  --columns LIST        column names of files without a header row, e.g. user,item,rating,timestamp
                        (MovieLens u.data / u1.base: --columns user,item,rating,timestamp)
  --half-life-days N    time decay of interaction weights
  --skip-invalid        skip malformed rows (and report how many) instead of failing`;

/** Flags of model hyper-parameters. */
export const MODEL_FLAGS = {
  seed: { type: 'string', default: '0' },
  neighbors: { type: 'string' },
  shrink: { type: 'string' },
  weighting: { type: 'string' },
} as const;

export const MODEL_HELP = `  --seed N              seed of every random step (default 0)
  --neighbors N         neighbours of the kNN models (default: itemknn/userknn 50, bridge chosen on valid)
  --shrink X            shrinkage of the kNN cosine denominator (default 0)
  --weighting W         itemknn interaction weighting: none, tfidf or bm25 (default none)`;

type Values = Record<string, string | boolean | undefined>;

/** `LoadOptions` from the data flags. @throws {UsageError} */
export function loadOptionsFrom(v: Values): LoadOptions {
  const format = v.format as LoadOptions['format'] | undefined;
  if (format !== undefined && !['csv', 'tsv', 'jsonl'].includes(format)) throw new UsageError(`--format must be csv, tsv or jsonl (got ${JSON.stringify(format)})`);
  const columns = v.columns === undefined ? undefined : String(v.columns).split(',').map((c) => c.trim());
  if (columns && columns.some((c) => c === '')) throw new UsageError(`--columns must be a comma-separated list of names (got ${JSON.stringify(v.columns)})`);
  return {
    columns,
    format,
    domain: v.domain as string | undefined,
    domainColumn: v['domain-column'] as string | undefined,
    skipInvalid: v['skip-invalid'] === true,
    halfLifeDays: v['half-life-days'] === undefined ? undefined : parseNumber(String(v['half-life-days']), '--half-life-days', (x) => x > 0, 'a positive number'),
  };
}

/** Model options from the model flags. @throws {UsageError} */
export function modelOptionsFrom(v: Values): AnyModelOptions {
  const seed = parseNumber(String(v.seed ?? '0'), '--seed', Number.isInteger, 'an integer');
  const o: AnyModelOptions = { seed };
  if (v.neighbors !== undefined) {
    o.neighbors = parseNumber(String(v.neighbors), '--neighbors', (x) => Number.isInteger(x) && x > 0, 'a positive integer');
    o.neighborGrid = [o.neighbors];
  }
  if (v.shrink !== undefined) o.shrink = parseNumber(String(v.shrink), '--shrink', (x) => x >= 0, 'a number >= 0');
  if (v.weighting !== undefined) {
    if (!['none', 'tfidf', 'bm25'].includes(String(v.weighting))) throw new UsageError(`--weighting must be none, tfidf or bm25 (got ${JSON.stringify(v.weighting)})`);
    o.weighting = String(v.weighting);
  }
  return o;
}

/** Report rows skipped with --skip-invalid on stderr. */
export function reportSkipped(stderr: (s: string) => void, label: string, t: { skipped: number }): void {
  if (t.skipped > 0) stderr(`migrec: ${label}: skipped ${t.skipped} malformed rows (--skip-invalid)\n`);
}
