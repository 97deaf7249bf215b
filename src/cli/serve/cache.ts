/**
 * Answers of `GET /v1/recommend` kept per model slot, as the JSON text sent: a hit costs a map
 * lookup instead of a scoring. A slot's cache dies with the slot (a reload starts empty), and
 * behaviour folded in empties it (folded-in rows may change other users' lists too, e.g. through
 * user kNN), so an answer is always the one the model would compute now. Bounded: the oldest
 * answers go first.
 */
export class ResultCache {
  private readonly answers = new Map<string, string>();
  /** Changes at every `clear()`: an answer scored before a clear is not kept after it. */
  epoch = 0;

  /** `capacity` answers at most (0: nothing is kept). */
  constructor(readonly capacity: number) {}

  /** The key of one request. */
  static key(user: string, k: number, domain: string | undefined, fallback: string): string {
    return `${user}\u0000${k}\u0000${domain ?? ''}\u0000${fallback}`;
  }

  get(key: string): string | undefined {
    return this.answers.get(key);
  }

  /** Keep an answer computed while `epoch` was current (dropped when the cache was cleared since). */
  set(key: string, text: string, epoch = this.epoch): void {
    if (this.capacity === 0 || epoch !== this.epoch) return;
    // Maps iterate in insertion order: the first key is the oldest answer.
    if (this.answers.size >= this.capacity) this.answers.delete(this.answers.keys().next().value as string);
    this.answers.set(key, text);
  }

  /** Forget every answer (the model's rows changed). */
  clear(): void {
    this.epoch++;
    this.answers.clear();
  }

  get size(): number {
    return this.answers.size;
  }
}
