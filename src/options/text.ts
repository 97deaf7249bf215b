/**
 * Options as text: CLI flag values parsed by the option's kind and range, `--help` lines, and the
 * README options table.
 */
import { OptionRangeError, OptionTypeError, UsageError } from '../errors.js';
import { describeOption, isCliOption, kebab, LIST_ELEMENT, rangeSuffix, resolveOptions, scalarProblem, type OptionKind, type OptionSpec, type Schema } from './schema.js';

// ---- command line -------------------------------------------------------------------------

/** Parse one scalar from CLI text; undefined when it does not parse or is out of range. */
function parseScalar(kind: 'integer' | 'number' | 'string', spec: OptionSpec, text: string): { value: unknown } | undefined {
  if (kind === 'string') return scalarProblem(kind, spec, text) ? undefined : { value: text };
  const t = text.trim();
  let x: number;
  if (/^[+-]?inf(inity)?$/i.test(t)) x = t.startsWith('-') ? -Infinity : Infinity;
  else if (t === '' || !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return undefined;
  else x = Number(t);
  return scalarProblem(kind, spec, x) ? undefined : { value: x };
}

/**
 * Turn the text of a CLI flag into a value of the option: numbers in decimal, booleans `true` /
 * `false`, lists comma-separated, objects as JSON. The value is range-checked like `resolveOptions`.
 * @throws {UsageError} naming the flag, e.g. `--neighbors must be a positive integer (got "x")`.
 */
export function parseOptionText(spec: OptionSpec, text: string, flag: string): unknown {
  const fail = (what = describeOption(spec)): never => {
    throw new UsageError(`${flag} must be ${what} (got ${JSON.stringify(text)})`);
  };
  switch (spec.kind) {
    case 'integer':
    case 'number':
    case 'string':
      return (parseScalar(spec.kind, spec, text) ?? fail()).value;
    case 'boolean': {
      const t = text.trim().toLowerCase();
      if (t === 'true') return true;
      if (t === 'false') return false;
      return fail('true or false');
    }
    case 'enum':
      if (!(spec.values ?? []).includes(text.trim())) fail();
      return text.trim();
    case 'integers':
    case 'numbers':
    case 'strings': {
      const what = `a comma-separated ${describeOption(spec).replace(/^an? /, '')}`;
      const parts = text.trim() === '' ? [] : text.split(',').map((p) => p.trim());
      if (spec.nonEmpty && parts.length === 0) fail(what);
      const kind = LIST_ELEMENT[spec.kind]!;
      return parts.map((p) => (parseScalar(kind, { ...spec, nonEmpty: true }, p) ?? fail(what)).value);
    }
    case 'object': {
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        return fail('a JSON object');
      }
      if (typeof v !== 'object' || v === null || (spec.keys && Array.isArray(v))) fail('a JSON object');
      if (!spec.keys) return v;
      try {
        return resolveOptions(flag, spec.keys, v);
      } catch (e) {
        if (e instanceof OptionTypeError || e instanceof OptionRangeError) throw new UsageError(`${flag}: ${e.message}`);
        throw e;
      }
    }
  }
}

/** The placeholder after a flag in help, e.g. "N", "X", "none|tfidf|bm25". */
function metavar(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'integer':
      return 'N';
    case 'number':
      return 'X';
    case 'boolean':
      return 'true|false';
    case 'string':
      return 'NAME';
    case 'enum':
      return (spec.values ?? []).join('|');
    case 'integers':
      return 'N,...';
    case 'numbers':
      return 'X,...';
    case 'strings':
      return 'NAME,...';
    case 'object':
      return 'JSON';
  }
}

/** A literal default as it reads in docs: lists joined by `sep`, objects as JSON. */
function literal(v: unknown, sep: string): string {
  if (Array.isArray(v)) return v.map((x) => literal(x, sep)).join(sep);
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

/** The default as it reads in docs, or undefined when there is none to show. */
function defaultOf(spec: OptionSpec, sep: string): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.default === undefined) return undefined;
  if (spec.kind === 'object' && spec.keys) return undefined; // the keys show their own defaults
  return literal(spec.default, sep);
}

/**
 * Help lines for the CLI options of a schema, one per flag, e.g.
 * `  --neighbors N           Neighbours kept per item (default 50)`. Empty when there are none.
 */
export function formatOptionsHelp(schema: Schema, indent = '  '): string {
  const rows = Object.entries(schema)
    .filter(([, spec]) => isCliOption(spec))
    .map(([name, spec]) => {
      const d = defaultOf(spec, ',');
      return [`--${kebab(name)} ${metavar(spec)}`, d === undefined ? spec.doc : `${spec.doc} (default ${d})`] as const;
    });
  const width = Math.max(22, ...rows.map(([flag]) => flag.length + 2));
  return rows.map(([flag, doc]) => `${indent}${flag.padEnd(width)}${doc}`).join('\n');
}

// ---- markdown ---------------------------------------------------------------------------

const KIND_TEXT: Record<OptionKind, string> = {
  integer: 'integer',
  number: 'number',
  boolean: 'boolean',
  string: 'string',
  enum: 'enum',
  integers: 'integer list',
  numbers: 'number list',
  strings: 'string list',
  object: 'object',
};

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The range column: "> 0", "[0, 1]", "`none`, `tfidf`", "non-empty, >= 0". */
function rangeText(spec: OptionSpec): string {
  if (spec.kind === 'enum') return (spec.values ?? []).map((v) => `\`${v}\``).join(', ');
  const parts: string[] = [];
  if (spec.nonEmpty && (LIST_ELEMENT[spec.kind] !== undefined || spec.kind === 'string')) parts.push('non-empty');
  if (spec.kind === 'integer' || spec.kind === 'number' || spec.kind === 'integers' || spec.kind === 'numbers') {
    const r = rangeSuffix(spec).trim();
    if (r !== '') parts.push(r.startsWith('in ') ? r.slice(3) : r);
  }
  return parts.join(', ');
}

/** Table rows of one schema (nested keys as `name.key`). */
function markdownRows(model: string, schema: Schema, prefix = ''): string[][] {
  const rows: string[][] = [];
  for (const [name, spec] of Object.entries(schema)) {
    const d = spec.required ? 'required' : typeof spec.default === 'string' && spec.defaultText === undefined ? `\`${spec.default}\`` : defaultOf(spec, ', ');
    rows.push([model, `\`${prefix}${name}\``, KIND_TEXT[spec.kind], rangeText(spec), d ?? '', spec.doc]);
    if (spec.keys) rows.push(...markdownRows(model, spec.keys, `${prefix}${name}.`));
  }
  return rows;
}

/**
 * One markdown table of the options of every model: | model | option | type | range | default | meaning |.
 * With several schemas, options every schema shares (the same spec object under the same name) are
 * listed once, as model "(every model)"; a model with no options of its own gets one row saying so.
 */
export function optionsMarkdown(schemas: Readonly<Record<string, Schema>>): string {
  const all = Object.values(schemas);
  const shared = new Set<string>();
  if (all.length > 1) {
    for (const name of Object.keys(all[0])) if (all.every((s) => Object.prototype.hasOwnProperty.call(s, name) && s[name] === all[0][name])) shared.add(name);
  }
  const rows: string[][] = [];
  if (shared.size > 0) {
    const common: Record<string, OptionSpec> = {};
    for (const name of shared) common[name] = all[0][name];
    rows.push(...markdownRows('(every model)', common));
  }
  for (const [model, schema] of Object.entries(schemas)) {
    const own: Record<string, OptionSpec> = {};
    for (const [name, spec] of Object.entries(schema)) if (!shared.has(name)) own[name] = spec;
    const r = markdownRows(`\`${model}\``, own);
    rows.push(...(r.length > 0 ? r : [[`\`${model}\``, '', '', '', '', 'no options of its own']]));
  }
  // The model name only on the first row of its group.
  for (let i = rows.length - 1; i > 0; i--) if (rows[i][0] === rows[i - 1][0]) rows[i][0] = '';
  const lines = ['| model | option | type | range | default | meaning |', '|---|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
  return lines.join('\n');
}
