/**
 * Option schemas: one description per option (kind, range, default, one-line doc) that drives
 * validation of model options, CLI flags and their parsing, per-model help and the README table.
 *
 * Validation errors are `OptionTypeError` (unknown key, wrong JS type, missing required key) or
 * `OptionRangeError` (right type, wrong value: out of range, not an integer, NaN, not an allowed
 * value, empty list), each with the dotted path of the option in `option`. CLI text that cannot be
 * parsed is a `UsageError` naming the flag.
 */
import { OptionRangeError, OptionTypeError, UsageError } from '../errors.js';

/** The errors of this module (re-exported so that schema files need only this one). */
export { isOptionError, OptionRangeError, OptionTypeError, UsageError } from '../errors.js';

/** What kind of value an option takes. Lists (`integers`, `numbers`, `strings`) are arrays. */
export type OptionKind = 'integer' | 'number' | 'boolean' | 'string' | 'enum' | 'integers' | 'numbers' | 'strings' | 'object';

/** One option. */
export interface OptionSpec {
  kind: OptionKind;
  /** One line: what the option does. */
  doc: string;
  /** Applied by `resolveOptions` when the key is absent (or undefined). Left out when the model decides (e.g. on validation data). */
  default?: unknown;
  /** How the default reads in docs when it is not a literal, e.g. "2 x factors". */
  defaultText?: string;
  /** Smallest value (each element, for lists). */
  min?: number;
  /** Largest value (each element, for lists). `max: Infinity` admits +Infinity. */
  max?: number;
  /** `min` itself is not allowed. */
  minExclusive?: boolean;
  /** The allowed values of an `enum`. */
  values?: readonly string[];
  /** Lists: at least one element. Strings: not empty. */
  nonEmpty?: boolean;
  /** Kind `object` with known keys: validated recursively (paths `name.key`). */
  keys?: Schema;
  /** The key must be given (used inside objects with `keys`, e.g. `coupling.weight`). */
  required?: boolean;
  /** Names this option had in earlier versions (an unknown key with one of them says what it is now called). */
  formerly?: readonly string[];
  /** Exposed as a CLI flag. @default true for every kind but 'object' */
  cli?: boolean;
}

/** The options of one model (or of one object option), in display order. */
export type Schema = Readonly<Record<string, OptionSpec>>;

// ---- names -------------------------------------------------------------------------------

/** Edit distance (insertions, deletions, substitutions) between two strings. */
function editDistance(a: string, b: string): number {
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1] + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1);
      cur[j] = Math.min(sub, prev[j] + 1, cur[j - 1] + 1);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/**
 * The candidate closest to `name` by edit distance (ignoring case), when it is close enough: at
 * most max(2, floor(name.length / 3)) edits. Ties go to the first candidate in order.
 */
export function nearestName(name: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(name.length / 3));
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** camelCase to kebab-case: "bm25K1" -> "bm25-k1", "learningRate" -> "learning-rate". */
export function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/** Whether an option is exposed as a CLI flag. */
export function isCliOption(spec: OptionSpec): boolean {
  return spec.cli ?? spec.kind !== 'object';
}

// ---- describing values -------------------------------------------------------------------

const LIST_ELEMENT: Partial<Record<OptionKind, 'integer' | 'number' | 'string'>> = { integers: 'integer', numbers: 'number', strings: 'string' };

/** " in [0, 1]", " >= 0", " > 0", " <= 5" or "". */
function rangeSuffix(spec: OptionSpec): string {
  const lo = spec.min !== undefined && spec.min !== -Infinity ? spec.min : undefined;
  const hi = spec.max !== undefined && spec.max !== Infinity ? spec.max : undefined;
  if (lo !== undefined && hi !== undefined) return ` in ${spec.minExclusive ? '(' : '['}${lo}, ${hi}]`;
  if (lo !== undefined) return ` ${spec.minExclusive ? '>' : '>='} ${lo}`;
  if (hi !== undefined) return ` <= ${hi}`;
  return '';
}

/** Whether the range is "positive" (> 0, or >= 1 for integers) with no upper bound. */
function isPositive(spec: OptionSpec, integer: boolean): boolean {
  if (spec.max !== undefined && spec.max !== Infinity) return false;
  return (spec.min === 0 && spec.minExclusive === true) || (integer && spec.min === 1 && !spec.minExclusive);
}

/** What a scalar of this kind and range is, e.g. "a positive integer" or (plural) "numbers in [0, 1]". */
function describeScalar(kind: 'integer' | 'number' | 'string', spec: OptionSpec, plural: boolean): string {
  if (kind === 'string') return spec.nonEmpty && !plural ? 'a non-empty string' : plural ? 'non-empty strings' : 'a string';
  const integer = kind === 'integer';
  if (isPositive(spec, integer)) return plural ? `positive ${kind}s` : `a positive ${kind}`;
  const suffix = rangeSuffix(spec);
  if (integer) return (plural ? 'integers' : 'an integer') + suffix;
  if (suffix === '' && spec.max !== Infinity && spec.min !== -Infinity) return plural ? 'finite numbers' : 'a finite number';
  return (plural ? 'numbers' : 'a number') + suffix;
}

/** What a value of this option must be, e.g. "a positive integer", "one of none, tfidf, bm25". */
export function describeOption(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'integer':
    case 'number':
    case 'string':
      return describeScalar(spec.kind, spec, false);
    case 'boolean':
      return 'a boolean';
    case 'enum':
      return `one of ${(spec.values ?? []).join(', ')}`;
    case 'integers':
    case 'numbers':
    case 'strings':
      return `${spec.nonEmpty ? 'a non-empty list' : 'a list'} of ${describeScalar(LIST_ELEMENT[spec.kind]!, spec, true)}`;
    case 'object':
      return 'an object';
  }
}

/** A value as it reads after "got" in a message. */
function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  if (Array.isArray(v)) {
    const head = v.slice(0, 6).map((x) => (Array.isArray(x) || (typeof x === 'object' && x !== null) ? '…' : shown(x)));
    return `[${head.join(', ')}${v.length > 6 ? ', …' : ''}]`;
  }
  return 'an object';
}

// ---- checking values ---------------------------------------------------------------------

/** What is wrong with a value: its JS type, or its value. */
type Problem = 'type' | 'range' | undefined;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function scalarProblem(kind: 'integer' | 'number' | 'string', spec: OptionSpec, v: unknown): Problem {
  if (kind === 'string') {
    if (typeof v !== 'string') return 'type';
    return spec.nonEmpty && v === '' ? 'range' : undefined;
  }
  if (typeof v !== 'number') return 'type';
  if (Number.isNaN(v)) return 'range';
  if (kind === 'integer' && !Number.isInteger(v)) return 'range';
  if (v === Infinity && spec.max !== Infinity) return 'range';
  if (v === -Infinity && spec.min !== -Infinity) return 'range';
  if (spec.min !== undefined && (spec.minExclusive ? !(v > spec.min) : !(v >= spec.min))) return 'range';
  if (spec.max !== undefined && !(v <= spec.max)) return 'range';
  return undefined;
}

function raise(problem: 'type' | 'range', option: string, message: string): never {
  throw problem === 'type' ? new OptionTypeError(option, message) : new OptionRangeError(option, message);
}

/** Validate one given value of `spec` at `option` (dotted path); returns the value to keep. */
function resolveValue(model: string, spec: OptionSpec, v: unknown, option: string): unknown {
  const where = `options.${option}`;
  const fail = (problem: 'type' | 'range', got: unknown = v): never => raise(problem, option, `${where} must be ${describeOption(spec)} (got ${shown(got)})`);
  switch (spec.kind) {
    case 'integer':
    case 'number':
    case 'string': {
      const p = scalarProblem(spec.kind, spec, v);
      if (p) fail(p);
      return v;
    }
    case 'boolean':
      if (typeof v !== 'boolean') fail('type');
      return v;
    case 'enum':
      if (typeof v !== 'string') fail('type');
      if (!(spec.values ?? []).includes(v as string)) fail('range');
      return v;
    case 'integers':
    case 'numbers':
    case 'strings': {
      if (!Array.isArray(v)) fail('type');
      const list = v as unknown[];
      if (spec.nonEmpty && list.length === 0) fail('range');
      const kind = LIST_ELEMENT[spec.kind]!;
      list.forEach((x, i) => {
        const p = scalarProblem(kind, spec, x);
        if (p) raise(p, option, `${where}[${i}] must be ${describeScalar(kind, { ...spec, nonEmpty: kind === 'string' ? true : spec.nonEmpty }, false)} (got ${shown(x)})`);
      });
      return Object.freeze(list.slice());
    }
    case 'object':
      if (spec.keys) {
        if (!isPlainObject(v)) fail('type');
        return resolveOptions(model, spec.keys, v, option);
      }
      if (typeof v !== 'object' || v === null) fail('type');
      return v;
  }
}

/** A default as stored in the result: lists copied and frozen, objects with keys resolved. */
function resolveDefault(model: string, spec: OptionSpec, option: string): unknown {
  const d = spec.default;
  if (Array.isArray(d)) return Object.freeze(d.slice());
  if (spec.kind === 'object' && spec.keys && isPlainObject(d)) return resolveOptions(model, spec.keys, d, option);
  return d;
}

/**
 * Validate `given` against a model's schema and apply defaults.
 * - `given` must be a plain object (undefined counts as `{}`); keys whose value is undefined count as absent.
 * - Every key must be in the schema; each value must have the option's kind and range.
 * - The result is a new frozen object: every given key, plus the `default` of each absent key that
 *   has one. Lists are copied and frozen; objects with `keys` are resolved recursively (and frozen);
 *   other objects (a kernel pool, item features) are kept by reference.
 * `path` is the dotted prefix of nested options (e.g. "coupling"), used in messages.
 * @throws {OptionTypeError} for an unknown key, a value of the wrong type or a missing required key.
 * @throws {OptionRangeError} for a value out of range.
 */
export function resolveOptions(model: string, schema: Schema, given: unknown, path?: string): Readonly<Record<string, unknown>> {
  const at = (key: string) => (path ? `${path}.${key}` : key);
  if (given === undefined) given = {};
  if (!isPlainObject(given)) {
    if (path) throw new OptionTypeError(path, `options.${path} must be an object (got ${shown(given)})`);
    throw new OptionTypeError('', 'options must be an object');
  }
  const names = Object.keys(schema);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    const v = given[key];
    if (v === undefined) continue;
    const spec = Object.prototype.hasOwnProperty.call(schema, key) ? schema[key] : undefined;
    if (!spec) {
      const renamed = names.find((n) => schema[n].formerly?.includes(key));
      const near = renamed ?? nearestName(key, names);
      const hint =
        renamed !== undefined
          ? `renamed "${at(renamed)}" in migrec 0.2`
          : near !== undefined
            ? `did you mean "${at(near)}"?`
            : names.length > 0
              ? `options: ${names.map(at).join(', ')}`
              : 'it takes no options';
      throw new OptionTypeError(at(key), `unknown option "${at(key)}" for ${model} (${hint})`);
    }
    out[key] = resolveValue(model, spec, v, at(key));
  }
  for (const key of names) {
    if (key in out) continue;
    const spec = schema[key];
    if (spec.required) throw new OptionTypeError(at(key), `options.${at(key)} is required (${describeOption(spec)})`);
    if (spec.default !== undefined) out[key] = resolveDefault(model, spec, at(key));
  }
  return Object.freeze(out);
}

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
