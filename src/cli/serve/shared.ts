/**
 * What the server thread and the scoring workers of `migrec serve` share: the JSON text of one
 * user's answer (the bytes `migrec recommend --json` prints) and the id of a model file.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Recommendation } from '../../index.js';

/** `{ user, items, scores, fallback }` as JSON text, as `migrec recommend --json` prints it. */
export function answerText(user: string, r: Recommendation): string {
  return JSON.stringify({ user, items: r.items, scores: Array.from(r.scores), fallback: r.fallback });
}

/** First 16 hex digits of the SHA-256 of a file ('unreadable' when it cannot be read: left to `loadModel` to report). */
export async function fileId(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  } catch {
    return 'unreadable';
  }
  return hash.digest('hex').slice(0, 16);
}
