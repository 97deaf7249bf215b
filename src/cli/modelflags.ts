/**
 * Model flags, made from the option schemas of the library: every option of any model that the
 * CLI does not set itself becomes `--<kebab(name)>` (`--neighbors`, `--bm25-k1`, `--ridge-grid`),
 * and the fused model's components take `--set COMPONENT.OPTION=VALUE`.
 *
 * The rule, the same in `fit` and `eval`: a model flag applies to every selected model whose schema
 * has the option; a flag that no selected model has is a usage error naming the flag and the models.
 */
import {
  availableModels,
  componentSchema,
  formatOptionsHelp,
  FUSION_COMPONENTS,
  isCliOption,
  kebab,
  MODEL_SCHEMAS,
  nearestName,
  parseOptionText,
  UsageError,
  type OptionSpec,
  type Schema,
} from '../index.js';
import { many, parseNames, parseNumber, splitAssignment, type Values } from './args.js';

/** Model options with CLI flags of their own (`--seed`), so not made from the schemas. */
const OWN_OPTIONS = new Set(['seed']);

/** The fused model, the only one `--set` applies to. */
const FUSED = 'migrec';

/** Every model with an options schema, in the library's order. */
export function schemaModels(): string[] {
  return Object.keys(MODEL_SCHEMAS);
}

function schemaOf(model: string): Schema {
  return MODEL_SCHEMAS[model] ?? {};
}

/** Component names of the fused model, in fusion order. */
function components(): string[] {
  return Object.keys(FUSION_COMPONENTS);
}

/** The options of a schema that are model flags, as [flag, option name, spec]. */
function flagsOf(schema: Schema): Array<[flag: string, name: string, spec: OptionSpec]> {
  return Object.entries(schema)
    .filter(([name, spec]) => isCliOption(spec) && !OWN_OPTIONS.has(name))
    .map(([name, spec]) => [kebab(name), name, spec]);
}

/** Option name of each model flag (flag without the dashes -> option name), over `models`. */
function flagTable(models: readonly string[]): Map<string, string> {
  const table = new Map<string, string>();
  for (const m of models) for (const [flag, name] of flagsOf(schemaOf(m))) table.set(flag, name);
  return table;
}

/**
 * `parseArgs` options of the model flags of `models` (default: every model), all strings parsed by
 * the schemas; flags in `taken` (the command's own) are left to the command.
 */
export function modelFlagOptions(taken: Iterable<string>, models: readonly string[] = schemaModels()): Record<string, { type: 'string' }> {
  const own = new Set(taken);
  const out: Record<string, { type: 'string' }> = {};
  for (const flag of flagTable(models).keys()) if (!own.has(flag)) out[flag] = { type: 'string' };
  return out;
}

/** Placeholder of a value in messages. */
function placeholder(spec: OptionSpec): string {
  if (spec.kind === 'integer' || spec.kind === 'number') return 'N';
  return spec.kind === 'integers' || spec.kind === 'numbers' || spec.kind === 'strings' ? 'LIST' : 'VALUE';
}

/** `--set` and the seed and model flags that a command run passed to each model. */
export type ModelFlagOptions = Record<string, Record<string, unknown>>;

/**
 * The options the model flags, `--seed` and `--set` give each of `models`.
 * @param taken flags the command reads itself (never model flags here)
 * @throws {UsageError} for a flag that no selected model has, a bad value, or a bad `--set`
 */
export function modelOptionsFrom(values: Values, models: readonly string[], taken: Iterable<string>): ModelFlagOptions {
  const own = new Set(taken);
  const seed = parseNumber(String(values.seed ?? '0'), '--seed', Number.isInteger, 'an integer');
  const out: ModelFlagOptions = {};
  for (const m of models) out[m] = accepts(m, 'seed') ? { seed } : {};
  for (const [flag, name] of flagTable(schemaModels())) {
    const text = values[flag];
    if (own.has(flag) || typeof text !== 'string') continue;
    const applies = models.filter((m) => flagsOf(schemaOf(m)).some(([, n]) => n === name));
    if (applies.length === 0) throw new UsageError(notAnOption(flag, name, models));
    for (const m of applies) out[m][name] = parseOptionText(schemaOf(m)[name], text, `--${flag}`);
  }
  const sets = many(values.set);
  if (sets.length > 0) {
    if (!models.includes(FUSED)) throw new UsageError(`--set sets options of the components of ${FUSED}, which is not among the models (${models.join(', ')})`);
    out[FUSED].components = componentOptionsFrom(sets);
  }
  return out;
}

/** The message of a model flag that none of `models` has. */
function notAnOption(flag: string, name: string, models: readonly string[]): string {
  const head = `--${flag} is not an option of ${models.join(', ')}`;
  if (models.includes(FUSED)) {
    const c = components().find((c) => flagsOf(componentSchema(c)).some(([, n]) => n === name));
    if (c !== undefined) return `${head} (use --set ${c}.${name}=${placeholder(componentSchema(c)[name])} for its components)`;
  }
  const owners = schemaModels().filter((m) => flagsOf(schemaOf(m)).some(([, n]) => n === name));
  return `${head} (it is an option of ${owners.join(', ')})`;
}

/**
 * `components` of the fused model from `--set COMPONENT.OPTION=VALUE` entries, each value parsed by
 * the component's schema. @throws {UsageError} naming an unknown component or option
 */
export function componentOptionsFrom(entries: readonly string[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const entry of entries) {
    const [path, text] = splitAssignment(entry, '--set', 'COMPONENT.OPTION=VALUE');
    const dot = path.indexOf('.');
    if (dot <= 0 || dot === path.length - 1) throw new UsageError(`--set takes COMPONENT.OPTION=VALUE (got ${JSON.stringify(entry)})`);
    const component = path.slice(0, dot);
    const given = path.slice(dot + 1);
    const known = components();
    if (!known.includes(component)) {
      throw new UsageError(`--set ${path}: unknown component ${JSON.stringify(component)}${hint(component, known, 'components')}`);
    }
    const options = flagsOf(componentSchema(component));
    // The option as the library names it (bm25K1) or as its flag (bm25-k1).
    const hit = options.find(([flag, name]) => name === given || flag === given);
    if (hit === undefined) {
      const names = options.map(([, name]) => name);
      throw new UsageError(`--set ${path}: ${component} has no option ${JSON.stringify(given)}${hint(given, names, 'options')}`);
    }
    const [, name, spec] = hit;
    (out[component] ??= {})[name] = parseOptionText(spec, text, `--set ${component}.${name}`);
  }
  return out;
}

/** ` (did you mean X?)` when a name is close to one of `candidates`, else ` (LABEL: a, b, c)`. */
export function hint(name: string, candidates: readonly string[], label: string): string {
  const near = nearestName(name, candidates);
  return near === undefined ? ` (${label}: ${candidates.join(', ')})` : ` (did you mean ${near}?)`;
}

/** Help text of the model flags of `models` (default: every model), one block per model. */
export function modelFlagsHelp(models: readonly string[] = schemaModels()): string {
  const blocks = models.map((m) => {
    const flags = Object.fromEntries(flagsOf(schemaOf(m)).map(([, name, spec]) => [name, spec]));
    return Object.keys(flags).length === 0 ? `${m}: no options\n` : `${m}:\n${formatOptionsHelp(flags)}`;
  });
  if (models.includes(FUSED)) {
    blocks.push(`components of ${FUSED}, set with --set COMPONENT.OPTION=VALUE (e.g. --set itemknn.bm25-k1=1.5):\n`);
    for (const c of components()) {
      const flags = Object.fromEntries(flagsOf(componentSchema(c)).map(([, name, spec]) => [name, spec]));
      blocks.push(`${c}:\n${formatOptionsHelp(flags)}`);
    }
  }
  return blocks.map((b) => (b.endsWith('\n') ? b : `${b}\n`)).join('\n');
}

/** The model options part of the help of `fit` and `eval`: the rule, then the options of the `--models` given (default: all). */
export function selectedModelsHelp(values: Values): string {
  const models = values.models === undefined ? undefined : parseModels(String(values.models), availableModels());
  return `
A model option below applies to every selected model that has it; naming one that no selected
model has is an error.

${modelFlagsHelp(models)}`;
}

/** Help of `--seed` and `--set`, for commands with model flags. */
export const SEED_SET_HELP = `  --seed N              seed of every random step (default 0)
  --set C.OPTION=VALUE  an option of component C of the fused model migrec (repeatable), e.g.
                        --set itemknn.neighbors=20 (components: see \`migrec fit --models migrec --help\`)`;

/** Does `model`'s schema have `option` (so `createModel` takes it)? */
export function accepts(model: string, option: string): boolean {
  return Object.hasOwn(schemaOf(model), option);
}

/**
 * Whether `--target D` narrows what the model fits to D (its `targets` option): for the models that
 * can only serve their fitted targets (the bridge, the transfer models) or find the rest again at
 * query time (user kNN). Item kNN keeps every domain's lists, so that its file recommends in all of
 * them as it always did; only the fused model narrows its item-kNN component to its targets.
 */
export function narrowsToTarget(model: string): boolean {
  return accepts(model, 'targets') && model !== 'itemknn';
}

/** Model names of `--models a,b`. @throws {UsageError} for a name that is not an available model */
export function parseModels(text: string, available: readonly string[]): string[] {
  const names = parseNames(text, '--models');
  for (const m of names) {
    if (!available.includes(m)) {
      throw new UsageError(`unknown model ${JSON.stringify(m)} in --models${hint(m, available, 'available')}`);
    }
  }
  if (new Set(names).size !== names.length) throw new UsageError(`--models names a model twice (got ${JSON.stringify(text)})`);
  return names;
}
