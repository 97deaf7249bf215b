/**
 * The lines of a batch recommendation (`migrec recommend --users`): one JSON object per user, in
 * the order given. One function for the single-process command and the cluster's scoring jobs, so
 * their output is the same byte for byte.
 */
import type { Recommender } from '../engine/facade.js';
import type { Recommendation, RecommendOptions } from '../engine/types.js';
import { UnknownIdError } from '../errors.js';

/** The hint of an unknown user's line. */
const UNKNOWN_HINT = 'not in the training data (use --fallback popularity to recommend popular items)';

/** The JSON line of one result: `{ user, items, scores, fallback }`. */
export function recommendationLine(user: string, r: Recommendation): string {
  return `${JSON.stringify({ user, items: r.items, scores: Array.from(r.scores), fallback: r.fallback })}\n`;
}

/** The JSON line of a user the model does not know: `{ user, error: { code: 'UNKNOWN_ID', message } }`. */
export function unknownUserLine(user: string): string {
  return `${JSON.stringify({ user, error: { code: 'UNKNOWN_ID', message: new UnknownIdError('user', user, UNKNOWN_HINT).message } })}\n`;
}

/**
 * Recommend for `users` in one `recommendBatch` (on the model's pool) and format their lines; users
 * the model does not know get an error line (unless `options.fallback` is 'popularity').
 * @returns the text and how many users got an error line.
 */
export async function recommendationLines(model: Recommender, users: readonly string[], options: RecommendOptions): Promise<{ text: string; failed: number }> {
  const scoreAll = options.fallback === 'popularity';
  const known = users.map((u) => scoreAll || model.hasUser(u));
  const lists = await model.recommendBatch(
    users.filter((_, i) => known[i]),
    options,
  );
  let next = 0;
  let failed = 0;
  let text = '';
  for (const [i, user] of users.entries()) {
    if (known[i]) text += recommendationLine(user, lists.get(next++));
    else {
      failed++;
      text += unknownUserLine(user);
    }
  }
  return { text, failed };
}
