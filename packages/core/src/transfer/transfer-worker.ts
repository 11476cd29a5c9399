import { isColdStoreError } from '../errors/cold-store-error.js';
import { aborted } from '../errors/factories.js';
import { InMemoryStoreMetrics, isEmptySnapshot } from '../metrics/in-memory-store-metrics.js';
import { downloadToLocalFile } from './atomic-download.js';
import { BackendCache } from './backend-cache.js';
import { checksumLocalFile } from './file-checksum.js';
import { uploadLocalFile } from './file-upload.js';
import { WorkerTaskControl } from './task-control.js';
import { arriveAndWait } from './thread-barrier.js';
import { serializeTransferError, toPoolError, TRANSFER_POOL } from './transfer-error.js';
import type { TaskOutcome, TransferTask } from './transfer-task.js';

// Runs inside a TransferPool worker thread (loaded by piscina from dist). Every byte of every
// file and object passes through here, never through the main thread.

/** What this thread's stores count; handed back, as a delta, with every task's outcome. */
const metrics = new InMemoryStoreMetrics();
const backends = new BackendCache({ metrics });

/** piscina's task handler: performs one task and reports its outcome as plain data. */
export default async function runTransferTask(task: TransferTask): Promise<TaskOutcome<unknown>> {
  const outcome = await runTask(task);
  // One task per thread at a time, so the delta is this task's (plus any abort retried meanwhile).
  const delta = metrics.takeDelta();
  return isEmptySnapshot(delta) ? outcome : { ...outcome, metrics: delta };
}

async function runTask(task: TransferTask): Promise<TaskOutcome<unknown>> {
  if (task.op === 'release') {
    await arriveAndWait(task.barrier, task.parties, task.timeoutMs);
    await backends.closeAll();
    return { ok: true, value: undefined };
  }
  if (task.op === 'warm') {
    await arriveAndWait(task.barrier, task.parties, task.timeoutMs);
    try {
      await backends.get(task.target);
      return { ok: true, value: undefined };
    } catch (error) {
      return { ok: false, error: serializeTransferError(toPoolError(error, TRANSFER_POOL, undefined)) };
    }
  }
  const key = task.op === 'checksum' ? undefined : task.key;
  const control = WorkerTaskControl.begin(task.control);
  if (!control) return { ok: false, error: serializeTransferError(aborted(TRANSFER_POOL, key)) };
  let backend = TRANSFER_POOL;
  try {
    const common = { signal: control.signal, onProgress: control.reportProgress };
    if (task.op === 'checksum') return { ok: true, value: await checksumLocalFile(task.path, { ...common, chunkSize: task.chunkSize, readOnThisThread: true }) };
    const store = await backends.get(task.target);
    backend = store.backend;
    const value =
      task.op === 'upload'
        ? await uploadLocalFile(store, task.path, task.key, { ...common, metadata: task.metadata, ifNoneMatch: task.ifNoneMatch, chunkSize: task.chunkSize })
        : await downloadToLocalFile(store, task.key, task.path, { ...common, expected: task.expected, range: task.range, syncDirectory: task.syncDirectory, size: task.size, streams: task.streams, temp: task.temp, syncOnThisThread: true });
    return { ok: true, value };
  } catch (error) {
    // Whatever shape an SDK gives an abort, the caller sees ABORTED; whatever else, a library error.
    const reported = control.signal.aborted && !isColdStoreError(error, 'ABORTED') ? aborted(backend, key, error) : toPoolError(error, backend, key);
    return { ok: false, error: serializeTransferError(reported) };
  } finally {
    control.finish();
  }
}
