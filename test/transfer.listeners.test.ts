// Its own file, so that this is the process's first initTensorflow() (vitest runs each file in a fresh fork).
import { describe, expect, it } from 'vitest';
import { initTensorflow } from '../src/models/tf.js';

describe('initTensorflow leaves process-wide error handling alone', () => {
  it('adds no uncaughtException / unhandledRejection listeners (the wasm glue installs rethrowing ones)', async () => {
    const a = process.listenerCount('uncaughtException');
    const b = process.listenerCount('unhandledRejection');
    const tf = await initTensorflow();
    expect(tf.getBackend()).toBe('wasm');
    expect(process.listenerCount('uncaughtException')).toBe(a);
    expect(process.listenerCount('unhandledRejection')).toBe(b);
  });
});
