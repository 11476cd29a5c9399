import { Worker } from 'node:worker_threads';
import type { RecordReaderData, RecordReaderMessage } from './record-reader-worker.js';
import type { PackedRows } from './record-rows.js';

/** Pages the reading thread may have read beyond those taken: enough to keep it busy, few enough to bound memory. */
const PAGES_AHEAD = 2;

/** The slots of the `flow` the two threads share: pages the reader has taken, and 1 once it wants no more. */
export const TAKEN = 0;
export const STOPPED = 1;

/**
 * Reads the pages of `sql` after the path `after` on another thread, and yields them packed, in
 * order. Opening a large catalog is then two threads' work side by side: SQLite stepping
 * through rows and `node:sqlite` making values of them on one, records built and indexed on
 * this one (docs/ARCHITECTURE.md, "Metadata"). SQLite's own failures come back as errors with
 * their `errcode`, after the pages read before them. Returning early (or a failure) stops the
 * thread.
 */
export async function* readPagesOnAnotherThread(file: string, sql: string, params: readonly (string | number)[], after: string, pageSize: number): AsyncGenerator<PackedRows> {
  const flow = new Int32Array(new SharedArrayBuffer(8));
  const workerData: RecordReaderData = { file, sql, params, after, pageSize, ahead: PAGES_AHEAD, flow: flow.buffer as SharedArrayBuffer };
  // No flags of the caller's (`--input-type` from `node -e` would stop a file worker starting).
  const worker = new Worker(new URL('./record-reader-worker.js', import.meta.url), { execArgv: [], workerData });
  // Only a wait for its next page keeps the process alive: a reader dropped unfinished must not.
  worker.unref();
  const pages: PackedRows[] = [];
  let done = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const settle = (): void => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (message: RecordReaderMessage) => {
    if ('page' in message) pages.push(message.page);
    else if ('done' in message) done = true;
    else failure ??= Object.assign(new Error(message.error), { errcode: message.errcode });
    settle();
  });
  worker.on('error', (error) => {
    failure ??= error;
    settle();
  });
  worker.on('exit', (code) => {
    if (!done) failure ??= new Error(`the thread reading the metadata file stopped (exit code ${code}) before its last page`);
    settle();
  });
  try {
    for (;;) {
      const page = pages.shift();
      if (page) {
        Atomics.add(flow, TAKEN, 1);
        Atomics.notify(flow, TAKEN);
        yield page;
        continue;
      }
      if (failure) throw failure;
      if (done) return;
      worker.ref();
      await new Promise<void>((resolve) => (wake = resolve));
      worker.unref();
    }
  } finally {
    // Wakes a thread waiting for room, which then stops.
    Atomics.store(flow, STOPPED, 1);
    Atomics.add(flow, TAKEN, 1);
    Atomics.notify(flow, TAKEN);
    await worker.terminate();
  }
}
