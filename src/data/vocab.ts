/**
 * Vocabularies: string id <-> dense u32 index. Users share one vocabulary across every domain (a
 * user id means the same person everywhere); items and their indices are per domain.
 *
 * Indices are assigned in natural id order ("i2" before "i10") for the ids each load adds, not in
 * order of appearance, so the same rows in any order give the same indices, and ties that break
 * "by the lower index" break by the id.
 */

/** A string <-> dense index map. */
export class Vocabulary {
  private readonly ids: string[] = [];
  private readonly index = new Map<string, number>();

  /** Number of ids. */
  get size(): number {
    return this.ids.length;
  }

  /** The index of `id`, or -1 when unknown. */
  get(id: string): number {
    const i = this.index.get(id);
    return i === undefined ? -1 : i;
  }

  /** The index of `id`, adding it when new. */
  intern(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.ids.push(id);
      this.index.set(id, i);
    }
    return i;
  }

  /** The id at `index`. @throws {RangeError} when out of range. */
  id(index: number): string {
    const s = this.ids[index];
    if (s === undefined) throw new RangeError(`index ${index} is outside the vocabulary (size ${this.ids.length})`);
    return s;
  }

  /** All ids, by index (a copy). */
  list(): string[] {
    return this.ids.slice();
  }

  /**
   * Re-number the ids at indices >= `from` in natural order and return the old -> new map for
   * that range (`perm[old - from] = new`), or undefined when nothing moved.
   */
  sortFrom(from: number): Uint32Array | undefined {
    const n = this.ids.length - from;
    if (n <= 1) return undefined;
    const order = new Array<number>(n);
    for (let i = 0; i < n; i++) order[i] = from + i;
    order.sort((a, b) => naturalCompare(this.ids[a], this.ids[b]));
    let moved = false;
    for (let i = 0; i < n; i++) if (order[i] !== from + i) moved = true;
    if (!moved) return undefined;
    const perm = new Uint32Array(n);
    const sorted = order.map((o) => this.ids[o]);
    for (let i = 0; i < n; i++) {
      perm[order[i] - from] = from + i;
      this.ids[from + i] = sorted[i];
      this.index.set(sorted[i], from + i);
    }
    return perm;
  }

  /** Build from a list of ids in index order (used by model files). @throws {RangeError} on duplicates. */
  static fromList(ids: readonly string[]): Vocabulary {
    const v = new Vocabulary();
    for (const id of ids) {
      if (v.index.has(id)) throw new RangeError(`duplicate id ${JSON.stringify(id)} in vocabulary`);
      v.intern(id);
    }
    return v;
  }
}

/**
 * Compare two ids in natural order: runs of ASCII digits compare by numeric value ("i2" < "i10"),
 * everything else by UTF-16 code unit. Equal numeric values with different zero padding fall
 * back to plain comparison, so the order is total.
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    const da = ca >= 48 && ca <= 57;
    const db = cb >= 48 && cb <= 57;
    if (da && db) {
      // Skip leading zeros, then compare run lengths, then digits.
      let si = i;
      let sj = j;
      while (si < a.length && a.charCodeAt(si) === 48) si++;
      while (sj < b.length && b.charCodeAt(sj) === 48) sj++;
      let ei = si;
      let ej = sj;
      while (ei < a.length && isDigit(a.charCodeAt(ei))) ei++;
      while (ej < b.length && isDigit(b.charCodeAt(ej))) ej++;
      const la = ei - si;
      const lb = ej - sj;
      if (la !== lb) return la - lb;
      for (let q = 0; q < la; q++) {
        const d = a.charCodeAt(si + q) - b.charCodeAt(sj + q);
        if (d !== 0) return d;
      }
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) return ca - cb;
    i++;
    j++;
  }
  if (a.length - i !== b.length - j) return a.length - i - (b.length - j);
  return a < b ? -1 : a > b ? 1 : 0;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The vocabularies of one data set: users (global), domains, and items per domain. */
export class Vocabularies {
  /** Users, shared by every domain. */
  readonly users = new Vocabulary();
  /** Domain names. */
  readonly domains = new Vocabulary();
  /** Behaviour names seen in the data. */
  readonly behaviors = new Vocabulary();
  private readonly itemVocabs: Vocabulary[] = [];

  /** The item vocabulary of domain index `d` (created on first use). */
  items(d: number): Vocabulary {
    while (this.itemVocabs.length <= d) this.itemVocabs.push(new Vocabulary());
    return this.itemVocabs[d];
  }

  /** The index of a domain name. @throws {RangeError} when unknown. */
  domainIndex(name: string): number {
    const d = this.domains.get(name);
    if (d < 0) {
      const known = this.domains.list().map((s) => JSON.stringify(s)).join(', ');
      throw new RangeError(`unknown domain ${JSON.stringify(name)} (known: ${known || 'none'})`);
    }
    return d;
  }

  /** Sizes, for logs and manifests. */
  sizes(): { users: number; domains: Record<string, number> } {
    const domains: Record<string, number> = {};
    // defineProperty: a domain called "__proto__" is an own key like any other.
    for (let d = 0; d < this.domains.size; d++) {
      Object.defineProperty(domains, this.domains.id(d), { value: this.items(d).size, enumerable: true, writable: true, configurable: true });
    }
    return { users: this.users.size, domains };
  }
}
