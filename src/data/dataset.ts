/**
 * A training data set: event columns plus the per-domain users x items matrices built from them
 * (lazily, once). Models see only this and dense indices.
 */
import { DataError } from '../errors.js';
import type { Csr } from '../kernels/types.js';
import { keptRows, selectRows, type EventTable } from './events.js';
import { buildMatrix, withoutEntries, type DuplicatePolicy } from './matrix.js';
import type { Vocabularies } from './vocab.js';

/** Options of `Dataset.fromEvents`. */
export interface DatasetOptions {
  /** How duplicate (user, item) rows combine. @default 'sum' */
  duplicates?: DuplicatePolicy;
}

/** Training events with their matrices. Sizes are frozen at creation: later ids are "unknown to training". */
export class Dataset {
  /** Number of users known at creation (matrix rows). */
  readonly nUsers: number;
  /** The vocabularies (shared with any table loaded against them). */
  readonly vocab: Vocabularies;
  private readonly itemCounts: number[];
  private readonly matrices = new Map<number, Csr>();
  /** The rows, or how to select them on first read (`without`). */
  #events: EventTable | (() => EventTable);

  private constructor(
    events: EventTable | { vocab: Vocabularies; select: () => EventTable },
    private readonly options: DatasetOptions,
    sizes?: { nUsers: number; itemCounts: readonly number[] },
  ) {
    this.vocab = events.vocab;
    this.#events = 'select' in events ? events.select : events;
    if (sizes) {
      this.nUsers = sizes.nUsers;
      this.itemCounts = [...sizes.itemCounts];
      return;
    }
    this.nUsers = events.vocab.users.size;
    this.itemCounts = [];
    for (let d = 0; d < events.vocab.domains.size; d++) this.itemCounts.push(events.vocab.items(d).size);
  }

  /**
   * Wrap training events.
   * @throws {DataError} when the table has no rows.
   */
  static fromEvents(events: EventTable, options: DatasetOptions = {}): Dataset {
    if (events.length === 0) throw new DataError({ file: events.source }, 'no training rows');
    return new Dataset(events, options);
  }

  /**
   * The same data set over some of its rows: same vocabularies, sizes (users and items without
   * rows stay, empty) and options. The sizes are this data set's, frozen at its creation: ids that
   * validation or test rows added to the vocabularies since are not part of the subset either.
   */
  subset(rows: ArrayLike<number>): Dataset {
    return new Dataset(selectRows(this.events, rows), this.options, { nUsers: this.nUsers, itemCounts: this.itemCounts });
  }

  /** The training rows. */
  get events(): EventTable {
    if (typeof this.#events === 'function') this.#events = this.#events();
    return this.#events;
  }

  /**
   * This data set without the rows of some (user, item) pairs: `held` maps a domain to users and
   * the items of theirs to drop there. Its matrices are this one's with those entries dropped
   * (what `subset` of the remaining rows would build: all rows of a pair go, so no other entry's
   * merged weight changes), and a domain without dropped pairs keeps this one's matrix object, so
   * results memoised by matrix (FitCache) carry over. Its rows are selected when first read.
   */
  without(held: ReadonlyMap<number, ReadonlyMap<number, ReadonlySet<number>>>): Dataset {
    const out = new Dataset({ vocab: this.vocab, select: () => selectRows(this.events, keptRows(this.events, held)) }, this.options, { nUsers: this.nUsers, itemCounts: this.itemCounts });
    for (let d = 0; d < this.nDomains; d++) {
      const m = this.matrix(d);
      const byUser = held.get(d);
      out.matrices.set(d, byUser && byUser.size > 0 ? withoutEntries(m, byUser) : m);
    }
    return out;
  }

  /** Number of domains known at creation. */
  get nDomains(): number {
    return this.itemCounts.length;
  }

  /** Number of training items of domain `d` (0 for a domain added after creation). */
  nItems(d: number): number {
    return this.itemCounts[d] ?? 0;
  }

  /** The users x items matrix of domain `d` (built on first use). */
  matrix(d: number): Csr {
    let m = this.matrices.get(d);
    if (!m) {
      m = buildMatrix(this.events, d, { duplicates: this.options.duplicates, nUsers: this.nUsers, nItems: this.nItems(d) });
      this.matrices.set(d, m);
    }
    return m;
  }

  /** Number of training rows (after merging duplicates) of user `u` in domain `d`; 0 for unknown users. */
  userRowCount(u: number, d: number): number {
    if (u >= this.nUsers) return 0;
    const m = this.matrix(d);
    return m.indptr[u + 1] - m.indptr[u];
  }
}
