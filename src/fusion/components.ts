/**
 * The components of the fused model: which model each is, the options it gets (its schema's
 * defaults inside the fusion, the user's `components` settings, and what the fusion fixes), and
 * the definitions that fit them. Fixed tables: nothing here can be changed at run time.
 */
import { OptionTypeError } from '../errors.js';
import { componentSchema, FUSION_COMPONENTS, MODEL_SCHEMAS, nearestName, resolveOptions } from '../options/index.js';
import type { ModelDefinition } from '../engine/scorer.js';
import { BRIDGE } from '../models/bridge.js';
import { ITEMKNN } from '../models/itemknn.js';
import { POPULARITY } from '../models/popularity.js';
import { USERKNN } from '../models/userknn.js';
import { EMCDR } from '../transfer/emcdr.js';
import { PTUPCDR } from '../transfer/ptupcdr.js';

/** The definition of each model a component can be. */
const DEFINITIONS: Readonly<Record<string, ModelDefinition>> = Object.freeze({ popularity: POPULARITY, itemknn: ITEMKNN, userknn: USERKNN, bridge: BRIDGE, emcdr: EMCDR, ptupcdr: PTUPCDR });

/** Components that need a source domain. */
const CROSS_DOMAIN: ReadonlySet<string> = new Set(['bridge-user', 'bridge-item', 'emcdr', 'ptupcdr']);

/** One configured component: its name, its model's definition, and its own options (resolved). */
export interface ComponentSpec {
  name: string;
  definition: ModelDefinition;
  /** The options set for it (defaults inside the fusion applied), without what each fit adds. */
  options: Readonly<Record<string, unknown>>;
  /** Whether it needs a source domain. */
  crossDomain: boolean;
}

/** Names of the fused model's components, in fusion order. */
export function componentNames(): string[] {
  return Object.keys(FUSION_COMPONENTS);
}

/**
 * The components of `options.components`: a list of names (those, with their defaults), or an
 * object `{ name: options | true | false }` applied on top of every default component (false drops
 * one). Popularity, the last fallback, is always there. Fusion order is `componentNames()`.
 * @throws {OptionTypeError|OptionRangeError} naming `components.<name>[.option]`.
 */
export function componentSpecs(given: unknown): ComponentSpec[] {
  const names = componentNames();
  const settings = new Map<string, unknown>();
  if (given === undefined) for (const n of names) settings.set(n, {});
  else if (Array.isArray(given)) {
    for (const n of given) {
      if (typeof n !== 'string') throw new OptionTypeError('components', `options.components must list component names (got ${JSON.stringify(n)})`);
      checkName(n, names);
      settings.set(n, {});
    }
  } else if (typeof given === 'object' && given !== null) {
    for (const n of names) settings.set(n, {});
    for (const [n, v] of Object.entries(given)) {
      checkName(n, names);
      if (v === false) settings.delete(n);
      else settings.set(n, v === true ? {} : v);
    }
  } else throw new OptionTypeError('components', `options.components must be a list of names or an object { name: options | false } (got ${JSON.stringify(given)})`);
  settings.set('popularity', settings.get('popularity') ?? {});
  return names
    .filter((n) => settings.has(n))
    .map((name) => ({
      name,
      definition: DEFINITIONS[FUSION_COMPONENTS[name].model],
      options: resolveOptions('migrec', componentSchema(name), settings.get(name), `components.${name}`),
      crossDomain: CROSS_DOMAIN.has(name),
    }));
}

/**
 * The full options of a component's fit: its own, what the fusion fixes, and the fused model's
 * seed, sources and targets where its schema has them.
 */
export function componentOptions(spec: ComponentSpec, shared: { seed: number; sources?: readonly string[]; targets?: readonly string[] }): Readonly<Record<string, unknown>> {
  const model = FUSION_COMPONENTS[spec.name].model;
  const schema = MODEL_SCHEMAS[model];
  const o: Record<string, unknown> = { ...spec.options, ...FUSION_COMPONENTS[spec.name].fixed, seed: shared.seed };
  if ('sources' in schema) o.sources = shared.sources;
  if ('targets' in schema) o.targets = shared.targets;
  return resolveOptions(model, schema, o);
}

/**
 * A component's full options as saved in a model file, checked against its model's schema.
 * @throws {OptionTypeError|OptionRangeError} when they are not valid options of that model.
 */
export function savedComponentOptions(spec: ComponentSpec, saved: unknown): Readonly<Record<string, unknown>> {
  const model = FUSION_COMPONENTS[spec.name].model;
  return resolveOptions(model, MODEL_SCHEMAS[model], saved);
}

/** @throws {OptionTypeError} for a name that is not a component, naming the nearest. */
function checkName(n: string, names: readonly string[]): void {
  if (names.includes(n)) return;
  const near = nearestName(n, names);
  throw new OptionTypeError(`components.${n}`, `unknown component ${JSON.stringify(n)} for migrec (${near !== undefined ? `did you mean "${near}"?` : `components: ${names.join(', ')}`})`);
}
