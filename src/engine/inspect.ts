/**
 * Read-only views of a fitted model for people and services: a user's rows per domain as the model
 * knows them (training rows merged with behaviour folded in since), user ids by prefix, and the
 * sizes of what the model holds. None of them touches a scorer.
 */
import { naturalCompare } from '../data/vocab.js';
import type { RequestState } from './requests.js';
import { userIndex } from './requests.js';
import { gatherRows } from './rows.js';

/** One domain of a user's history: items and their weights, strongest first (ties by item id). */
export interface UserDomainEvents {
  domain: string;
  items: string[];
  weights: Float32Array;
}

/** What a fitted model holds: users, and items and stored rows per domain. */
export interface ModelSummary {
  /** The model's name. */
  model: string;
  /** Users known to the model (training users and users folded in since). */
  users: number;
  /** Training users. */
  trainingUsers: number;
  /** Per domain: training items and stored (user, item) rows. */
  domains: Array<{ name: string; items: number; rows: number }>;
  /** The domain calls default to, if any. */
  defaultDomain: string | null;
}

/**
 * A user's rows in every domain where they have any, in domain order.
 * @throws {UnknownIdError} for a user the model does not know.
 */
export function userEvents(s: RequestState, userId: string): UserDomainEvents[] {
  const u = userIndex(s, userId, 'none');
  const out: UserDomainEvents[] = [];
  for (let d = 0; d < s.data.nItems.length; d++) {
    const row = gatherRows(s.data, Uint32Array.of(u), d, s.overlay);
    const n = row.indptr[1];
    if (n === 0) continue;
    const vocab = s.data.vocab.items(d);
    const order = Array.from({ length: n }, (_, t) => t).sort((a, b) => row.data[b] - row.data[a] || row.indices[a] - row.indices[b]);
    out.push({ domain: s.data.vocab.domains.id(d), items: order.map((t) => vocab.id(row.indices[t])), weights: Float32Array.from(order, (t) => row.data[t]) });
  }
  return out;
}

/**
 * Up to `limit` known user ids that start with `prefix`, in natural order (`u2` before `u10`).
 * Linear in the number of users.
 */
export function findUsers(s: RequestState, prefix: string, limit: number): string[] {
  const vocab = s.data.vocab.users;
  const found: string[] = [];
  for (let u = 0; u < vocab.size; u++) {
    if (u >= s.data.nUsers && !s.overlay.has(u)) continue;
    const id = vocab.id(u);
    if (id.startsWith(prefix)) found.push(id);
  }
  return found.sort(naturalCompare).slice(0, limit);
}

/** Sizes of what the model holds. */
export function summarize(model: string, s: RequestState): ModelSummary {
  let extra = 0;
  for (const u of s.overlay.keys()) if (u >= s.data.nUsers) extra++;
  const domains = s.data.nItems.map((items, d) => ({ name: s.data.vocab.domains.id(d), items, rows: s.data.matrices[d].indices.length }));
  return { model, users: s.data.nUsers + extra, trainingUsers: s.data.nUsers, domains, defaultDomain: s.defaultDomain ?? null };
}
