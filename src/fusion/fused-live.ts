/**
 * `update` and `forget` of the fused model: every component is changed through its own live hook
 * (exact for popularity and the kNN components, re-solved factors for the transfer ones); the
 * fusion weights and score divisors chosen on validation users at fit time are kept, and the
 * long-tail boost (from item popularity) follows the new data.
 */
import { NotSupportedError } from '../errors.js';
import type { LiveChange } from '../engine/live.js';
import { componentSpecs } from './components.js';
import { longTailBoost, type Component, type FusionConfig, type TargetFusion } from './weights.js';

/** The components on the new data. @throws {NotSupportedError} for a component without a live hook. */
export async function liveComponents(components: readonly Component[], c: LiveChange, options: Readonly<Record<string, unknown>>): Promise<Component[]> {
  const specs = componentSpecs(options.components);
  const out: Component[] = [];
  for (const comp of components) {
    const def = specs.find((s) => s.name === comp.name)!.definition;
    if (!def.live) throw new NotSupportedError(`${c.label}: component ${comp.name} cannot be updated in place (refit the model)`);
    out.push({ ...comp, scorer: await def.live(comp.scorer, { ...c, label: `${c.label} (${comp.name})` }, comp.options) });
  }
  return out;
}

/** Each target's fusion with its weights kept and its long-tail boost on the new data. */
export function liveFusion(fusion: ReadonlyArray<TargetFusion | undefined>, c: LiveChange, cfg: FusionConfig): Array<TargetFusion | undefined> {
  return fusion.map((f, t) => f && { ...f, boost: longTailBoost(c.after, t, cfg.longTail) });
}
