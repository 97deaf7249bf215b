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
  /**
   * Ids at indices >= `indexed` are not in `index` yet: the byte-level loader appends the ids it
   * has checked to be new (`appendNew`) and the map is filled on the next `get` or `intern`, so a
   * load of a million new ids never waits for a million map insertions it may not need.
   */
  private indexed = 0;

  /** Number of ids. */
  get size(): number {
    return this.ids.length;
  }

  /** The index of `id`, or -1 when unknown. */
  get(id: string): number {
    if (this.indexed < this.ids.length) this.indexPending();
    const i = this.index.get(id);
    return i === undefined ? -1 : i;
  }

  /** `get` without filling a pending lookup map: a scan of the ids when the map is not filled. */
  find(id: string): number {
    return this.indexed === this.ids.length ? this.get(id) : this.ids.indexOf(id);
  }

  /** The index of `id`, adding it when new. */
  intern(id: string): number {
    if (this.indexed < this.ids.length) this.indexPending();
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.ids.push(id);
      this.index.set(id, i);
      this.indexed = this.ids.length;
    }
    return i;
  }

  /**
   * Append an id the caller knows is not in this vocabulary (it was not found by `get`, nor
   * appended since), and return its index. For loaders that keep their own lookup table.
   */
  appendNew(id: string): number {
    this.ids.push(id);
    return this.ids.length - 1;
  }

  /**
   * `get` without first filling the map: ids appended by `appendNew` since the map was last
   * filled are not found. For a loader whose own table already holds those ids.
   */
  getIndexed(id: string): number {
    if (this.index.size === 0) return -1;
    const i = this.index.get(id);
    return i === undefined ? -1 : i;
  }

  /** Put every id in the lookup map now (a loader calls it before using `getIndexed`). */
  fillIndex(): void {
    if (this.indexed < this.ids.length) this.indexPending();
  }

  private indexPending(): void {
    for (let i = this.indexed; i < this.ids.length; i++) this.index.set(this.ids[i], i);
    this.indexed = this.ids.length;
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
    // pos[k]: the new offset (from `from`) of the id at index from + k.
    let pos = naturalPositions(this.ids, from, n);
    if (!pos) {
      const order = new Array<number>(n);
      for (let i = 0; i < n; i++) order[i] = from + i;
      order.sort((a, b) => naturalCompare(this.ids[a], this.ids[b]));
      pos = new Uint32Array(n);
      for (let i = 0; i < n; i++) pos[order[i] - from] = i;
    }
    let moved = false;
    for (let k = 0; k < n && !moved; k++) if (pos[k] !== k) moved = true;
    if (!moved) return undefined;
    const old = this.ids.slice(from);
    const perm = pos; // re-used in place: perm[old - from] = new
    // Ids not yet in the map stay out of it (their new indices are set when it is filled).
    const inMap = this.indexed > from;
    for (let k = 0; k < n; k++) {
      const p = pos[k];
      this.ids[from + p] = old[k];
      if (inMap && p !== k) this.index.set(old[k], from + p);
      perm[k] = from + p;
    }
    if (inMap && this.indexed < this.ids.length) this.indexPending(); // indexed and pending ids are now interleaved
    return perm;
  }

  /**
   * A copy, optionally without the id at index `drop` (later ids move down by one). Its lookup map
   * is filled on the first `get` or `intern` (`find` does without), as after `appendNew`.
   */
  copy(drop = -1): Vocabulary {
    const v = new Vocabulary();
    const ids = v.ids;
    for (let i = 0; i < this.ids.length; i++) if (i !== drop) ids.push(this.ids[i]);
    return v;
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

/**
 * Natural-order positions without a comparator, for the id shapes loads produce: a prefix without
 * digits followed by at most 15 digits without a leading zero ("u123", "12345", "books:i7"), or
 * no digits at all. Returns pos[k] = rank of ids[from + k] among ids[from..from+n), or undefined
 * when some id has another shape (the caller then sorts with `naturalCompare`).
 *
 * Why it agrees with `naturalCompare`: two ids with the same prefix compare by their numbers
 * (distinct, exact in a double). Two ids with different prefixes P and Q are ordered by P + "0"
 * and Q + "0" whatever their digits: they first differ inside the prefixes (two non-digits), or
 * where one prefix ends and a digit meets a non-digit, and any digit compares to a non-digit as
 * "0" does. So: rank the prefixes once, then sort the numbers of each prefix as doubles.
 */
function naturalPositions(ids: readonly string[], from: number, n: number): Uint32Array | undefined {
  const group = new Uint32Array(n);
  const value = new Float64Array(n);
  const keys: string[] = [];
  const groupOf = new Map<string, number>();
  let lastPrefix = '';
  let lastGroup = -1;
  for (let k = 0; k < n; k++) {
    const s = ids[from + k];
    let j = s.length;
    while (j > 0 && isDigit(s.charCodeAt(j - 1))) j--;
    const digits = s.length - j;
    if (digits > 15 || (digits > 1 && s.charCodeAt(j) === 48)) return undefined;
    let v = digits > 0 ? 0 : -1;
    for (let q = j; q < s.length; q++) v = v * 10 + (s.charCodeAt(q) - 48);
    value[k] = v;
    // Most ids of one load share a prefix: compare with the last one before hashing a new string.
    if (digits > 0 && lastGroup >= 0 && j === lastPrefix.length && s.startsWith(lastPrefix)) {
      group[k] = lastGroup;
      continue;
    }
    for (let q = 0; q < j; q++) if (isDigit(s.charCodeAt(q))) return undefined;
    const prefix = s.slice(0, j);
    const key = digits > 0 ? `${prefix}0` : s;
    let g = groupOf.get(key);
    if (g === undefined) {
      g = keys.length;
      keys.push(key);
      groupOf.set(key, g);
    }
    group[k] = g;
    if (digits > 0) {
      lastPrefix = prefix;
      lastGroup = g;
    }
  }
  // Groups in natural order of their keys, then each group's numbers sorted in its slice.
  const nG = keys.length;
  const byKey = Array.from({ length: nG }, (_, g) => g).sort((a, b) => naturalCompare(keys[a], keys[b]));
  const count = new Uint32Array(nG);
  for (let k = 0; k < n; k++) count[group[k]]++;
  const start = new Uint32Array(nG + 1);
  let acc = 0;
  for (const g of byKey) {
    start[g] = acc;
    acc += count[g];
  }
  const fill = start.slice(0, nG);
  const sorted = new Float64Array(n);
  for (let k = 0; k < n; k++) sorted[fill[group[k]]++] = value[k];
  for (let g = 0; g < nG; g++) if (count[g] > 1) sorted.subarray(start[g], start[g] + count[g]).sort();
  const pos = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const g = group[k];
    let lo = start[g];
    let hi = lo + count[g] - 1;
    const v = value[k];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    pos[k] = lo;
  }
  return pos;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The vocabularies of one data set: users (global), domains, and items per domain. */
export class Vocabularies {
  /**
   * @param users Users, shared by every domain.
   * @param domains Domain names.
   * @param behaviors Behaviour names seen in the data.
   */
  constructor(
    readonly users = new Vocabulary(),
    readonly domains = new Vocabulary(),
    readonly behaviors = new Vocabulary(),
    private readonly itemVocabs: Vocabulary[] = [],
  ) {}

  /** A copy without the user at index `user` (later users move down by one). */
  withoutUser(user: number): Vocabularies {
    return new Vocabularies(this.users.copy(user), this.domains.copy(), this.behaviors.copy(), this.itemVocabs.map((x) => x.copy()));
  }

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
