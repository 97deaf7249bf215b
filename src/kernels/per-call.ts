/**
 * Arrays whose contents belong to one kernel call: rows gathered for one range of users, say, in
 * buffers that are refilled for the next range. A backend that keeps inputs resident between calls
 * (the wasm kernels, by array identity) copies these into the call's scratch instead, so a refilled
 * buffer is never mistaken for its earlier contents and never piles up as resident.
 */
const oneCall = new WeakSet<object>();

/** Mark `a` as valid for one call only; returns `a`. */
export function forOneCall<T extends object>(a: T): T {
  oneCall.add(a);
  return a;
}

/** Whether `a` was marked with {@link forOneCall}. */
export function isForOneCall(a: object): boolean {
  return oneCall.has(a);
}
