/** Flags shared by the commands that read event files. */
import { DEFAULT_BEHAVIOR_WEIGHTS, UsageError, type Dataset, type LoadOptions } from '../index.js';
import { many, parseNumber, splitAssignment, type Values } from './args.js';

/** Flags that describe how event files are read. */
export const DATA_OPTIONS = {
  domain: { type: 'string' },
  'domain-column': { type: 'string' },
  format: { type: 'string' },
  columns: { type: 'string' },
  'half-life-days': { type: 'string' },
  'behavior-weight': { type: 'string', multiple: true },
  'skip-invalid': { type: 'boolean', default: false },
} as const;

export const DATA_HELP = `  --domain D            domain of rows in files without a domain column (default "default")
  --domain-column C     the column that names the domain, e.g. scene, channel or behavior (default domain)
  --format F            csv, tsv, jsonl or parquet (default: from the file extension or content)
  --columns LIST        column names of files without a header row, e.g. user,item,rating,timestamp
                        (MovieLens u.data / u1.base: --columns user,item,rating,timestamp)
  --behavior-weight B=W weight of behaviour B (repeatable), e.g. --behavior-weight buy=8
                        (defaults: ${Object.entries(DEFAULT_BEHAVIOR_WEIGHTS).map(([b, w]) => `${b} ${w}`).join(', ')})
  --half-life-days N    time decay of interaction weights
  --skip-invalid        skip malformed rows (and report how many) instead of failing`;

/** `LoadOptions` from the data flags. @throws {UsageError} */
export function loadOptionsFrom(v: Values): LoadOptions {
  const format = v.format as LoadOptions['format'] | undefined;
  if (format !== undefined && !['csv', 'tsv', 'jsonl', 'parquet'].includes(format)) throw new UsageError(`--format must be csv, tsv, jsonl or parquet (got ${JSON.stringify(format)})`);
  const columns = v.columns === undefined ? undefined : String(v.columns).split(',').map((c) => c.trim());
  if (columns && columns.some((c) => c === '')) throw new UsageError(`--columns must be a comma-separated list of names (got ${JSON.stringify(v.columns)})`);
  for (const flag of ['domain', 'domain-column']) if (v[flag] === '') throw new UsageError(`--${flag} must be a non-empty name`);
  return {
    columns,
    format,
    domain: v.domain as string | undefined,
    domainColumn: v['domain-column'] as string | undefined,
    skipInvalid: v['skip-invalid'] === true,
    halfLifeDays: v['half-life-days'] === undefined ? undefined : parseNumber(String(v['half-life-days']), '--half-life-days', (x) => x > 0, 'a positive number'),
    behaviorWeights: behaviorWeightsFrom(many(v['behavior-weight'])),
  };
}

/** `behaviorWeights` from `--behavior-weight NAME=W` entries (undefined without any). @throws {UsageError} */
function behaviorWeightsFrom(entries: readonly string[]): Record<string, number> | undefined {
  if (entries.length === 0) return undefined;
  // A null-prototype object: a behaviour named __proto__ or constructor is a key like any other.
  const out: Record<string, number> = Object.create(null);
  for (const e of entries) {
    const [name, w] = splitAssignment(e, '--behavior-weight', 'NAME=WEIGHT');
    out[name] = parseNumber(w, `--behavior-weight ${name}`, (x) => x > 0, 'a positive number');
  }
  return out;
}

/** Report rows skipped with --skip-invalid on stderr. */
export function reportSkipped(stderr: (s: string) => void, label: string, t: { skipped: number }): void {
  if (t.skipped > 0) stderr(`migrec: ${label}: skipped ${t.skipped} malformed rows (--skip-invalid)\n`);
}

/** Per domain of `data`: items, interactions and W = sum over users of n_u^2 (the work of the item-item similarity). */
export function domainSizes(data: Dataset, domains: readonly string[]): Record<string, { items: number; nnz: number; W: number }> {
  const out: Record<string, { items: number; nnz: number; W: number }> = Object.create(null);
  domains.forEach((name, d) => {
    const m = data.matrix(d);
    let w = 0;
    for (let u = 0; u < m.nRows; u++) w += (m.indptr[u + 1] - m.indptr[u]) ** 2;
    out[name] = { items: m.nCols, nnz: m.indices.length, W: w };
  });
  return out;
}
