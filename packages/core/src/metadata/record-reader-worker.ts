import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import { STOPPED, TAKEN } from './record-reader.js';
import { packRows, type PackedRows, type Row } from './record-rows.js';

// The thread that reads a metadata file's rows after its first page (see record-reader.ts): its
// own read-only connection, one page per query in key order, each page packed and posted, never
// more than `ahead` pages beyond what the reader has taken.

export interface RecordReaderData {
  readonly file: string;
  /** The page query: its first parameter is the path to start after, then `params`. */
  readonly sql: string;
  readonly params: readonly (string | number)[];
  readonly after: string;
  readonly pageSize: number;
  readonly ahead: number;
  /** Two Int32 slots, `TAKEN` and `STOPPED` (record-reader.ts). */
  readonly flow: SharedArrayBuffer;
}

export type RecordReaderMessage = { page: PackedRows } | { done: true } | { error: string; errcode?: number };

const { file, sql, params, after: first, pageSize, ahead, flow: shared } = workerData as RecordReaderData;
const flow = new Int32Array(shared);

function post(message: RecordReaderMessage, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(message, transfer);
}

try {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const page = db.prepare(sql);
    page.setReturnArrays(true);
    for (let after = first, sent = 0; ; sent++) {
      for (;;) {
        const taken = Atomics.load(flow, TAKEN);
        if (sent - taken < ahead || Atomics.load(flow, STOPPED) !== 0) break;
        Atomics.wait(flow, TAKEN, taken);
      }
      if (Atomics.load(flow, STOPPED) !== 0) break;
      const rows = page.all(after, ...params) as unknown as Row[];
      const packed = packRows(rows);
      post({ page: packed }, [packed.integers.buffer as ArrayBuffer]);
      if (rows.length < pageSize) break;
      after = rows[rows.length - 1]![0] as string;
    }
  } finally {
    db.close();
  }
  post({ done: true });
} catch (error) {
  post({ error: (error as Error).message, errcode: (error as { errcode?: number }).errcode });
}
