/**
 * `update` and `forget` of the transfer models (emcdr, ptupcdr): their factors (plain, and coupled
 * target factors) re-solved on the touched rows (models/factor-live.ts; the coupling prior is not
 * applied to these re-solves), their learned mappings kept. A mapping is exported and read back
 * against the new factors, so mappings that read source item factors (ptupcdr's attention) see the
 * re-solved ones; a per-target-item bias gets 0 for new items.
 */
import type { LiveChange } from '../engine/live.js';
import type { SectionArray } from '../io/modelfile.js';
import { liveFactors } from '../models/factor-live.js';
import { factorSettings, type DomainFactors, type FactorSettings } from '../models/factors.js';
import type { CrossScorer, PairMapping, TransferKind } from './cross.js';

/** The parts of a transfer model's new scorer. */
export interface CrossParts {
  settings: FactorSettings;
  factors: Array<DomainFactors | undefined>;
  coupled: Array<DomainFactors | undefined>;
  pairs: Array<Array<{ source: number; mapping: PairMapping }>>;
}

/** New factors and re-bound mappings of a transfer model for a live change. */
export async function liveCrossParts(s: CrossScorer, c: LiveChange, options: Readonly<Record<string, unknown>>, kind: TransferKind): Promise<CrossParts> {
  const settings = factorSettings(options);
  const factors = await liveFactors(s.factors, c, settings);
  const coupled = s.coupled.some(Boolean) ? await liveFactors(s.coupled, c, settings) : [];
  const pairs = s.pairs.map((list, t) =>
    list.map(({ source, mapping }) => {
      const sections: Record<string, SectionArray> = {};
      const meta = mapping.export('p', sections);
      const n = c.after.nItems[t];
      for (const [key, v] of Object.entries(sections)) {
        if (key === 'p.bias' && v instanceof Float32Array && v.length < n) {
          const grown = new Float32Array(n);
          grown.set(v);
          sections[key] = grown;
        }
      }
      const m = kind.importPair(options, meta, 'p', sections, (coupled[t] ?? factors[t])!, factors[source]!, c.label);
      m.report = mapping.report;
      return { source, mapping: m };
    }),
  );
  return { settings, factors, coupled, pairs };
}
