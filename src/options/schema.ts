/**
 * Option schemas: one description per option (kind, range, default, one-line doc) that drives
 * validation of model options, CLI flags and their parsing, per-model help and the README table.
 *
 * Validation errors are `OptionTypeError` (unknown key, wrong JS type, missing required key) or
 * `OptionRangeError` (right type, wrong value: out of range, not an integer, NaN, not an allowed
 * value, empty list), each with the dotted path of the option in `option`. CLI text that cannot be
 * parsed is a `UsageError` naming the flag.
 */
import { OptionRangeError, OptionTypeError } from '../errors.js';

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
  /** Kind 'object' without keys: the value is plain data, copied deeply and frozen (not kept by reference). */
  copy?: boolean;
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

export const LIST_ELEMENT: Partial<Record<OptionKind, 'integer' | 'number' | 'string'>> = { integers: 'integer', numbers: 'number', strings: 'string' };

/** " in [0, 1]", " >= 0", " > 0", " <= 5" or "". */
export function rangeSuffix(spec: OptionSpec): string {
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

export function scalarProblem(kind: 'integer' | 'number' | 'string', spec: OptionSpec, v: unknown): Problem {
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
      return spec.kind === 'integer' ? smallInteger(v as number) : v;
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
      return Object.freeze(kind === 'integer' ? list.map((x) => smallInteger(x as number)) : list.slice());
    }
    case 'object':
      if (spec.keys) {
        if (!isPlainObject(v)) fail('type');
        return resolveOptions(model, spec.keys, v, option);
      }
      if (typeof v !== 'object' || v === null) fail('type');
      return spec.copy ? deepFreeze(structuredClone(v)) : v;
  }
}

/** Freeze a plain-data value and everything in it. */
function deepFreeze<V>(v: V): V {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** A default as stored in the result: lists copied and frozen, objects with keys resolved. */
function resolveDefault(model: string, spec: OptionSpec, option: string): unknown {
  const d = spec.default;
  if (Array.isArray(d)) return Object.freeze(spec.kind === 'integers' ? d.map((x: number) => smallInteger(x)) : d.slice());
  if (spec.kind === 'object' && spec.keys && isPlainObject(d)) return resolveOptions(model, spec.keys, d, option);
  return spec.kind === 'integer' ? smallInteger(d as number) : d;
}

/**
 * An integer option as a small integer again. A number read from an object field that also held
 * fractions (a schema's `default`, say) comes out boxed as a double, and loops that index arrays
 * with it (`u * factors + a`) then run in floating point: the ALS solver ran about 40% slower with
 * `factors` from a resolved schema than with a literal 64. `x | 0` gives V8 its small-integer form.
 */
function smallInteger(x: number): number {
  return Number.isInteger(x) && Math.abs(x) < 2 ** 31 ? x | 0 : x;
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
