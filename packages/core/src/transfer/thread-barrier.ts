/**
 * A one-shot barrier in shared memory. The pool sends one release task per worker; each task
 * waits here until all have arrived, so no worker can take two while another takes none (a
 * worker runs one task at a time). Bounded: gives up after `timeoutMs` and reports false.
 */
export async function arriveAndWait(barrier: Int32Array, parties: number, timeoutMs: number): Promise<boolean> {
  Atomics.add(barrier, 0, 1);
  Atomics.notify(barrier, 0);
  const deadline = performance.now() + timeoutMs;
  for (let arrived = Atomics.load(barrier, 0); arrived < parties; arrived = Atomics.load(barrier, 0)) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    const wait = Atomics.waitAsync(barrier, 0, arrived, left);
    if (wait.async) await wait.value;
  }
  return true;
}

/** A fresh barrier for `arriveAndWait`. */
export function createBarrier(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
}

/** Lets every party waiting at `barrier` go at once: one of them will never arrive (its thread died). */
export function breakBarrier(barrier: Int32Array, parties: number): void {
  Atomics.store(barrier, 0, parties);
  Atomics.notify(barrier, 0);
}
