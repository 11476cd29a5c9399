import type { Readable } from 'node:stream';
import type { BodySink, ColdStore, GetOptions } from '../contracts/cold-store.js';
import { isColdStoreError } from '../errors/cold-store-error.js';
import { aborted, unrecognizedFailure } from '../errors/factories.js';

/**
 * Copies a body stream into `sink`, waiting whenever the sink asks to; the stream is destroyed if
 * the sink fails. The body's own failures go through `bodyFailure` (the sink's are thrown as they
 * are), so a caller can tell the store's side from its own.
 */
export async function copyInto(body: Readable, sink: BodySink, bodyFailure: (error: unknown) => unknown = (error) => error): Promise<void> {
  const chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (error) {
        throw bodyFailure(error);
      }
      if (next.done) break;
      const chunk = next.value;
      for (let at = 0; at < chunk.byteLength; ) {
        const space = sink.space();
        if (space.byteLength === 0) throw new RangeError('the sink lent no space');
        const bytes = Math.min(space.byteLength, chunk.byteLength - at);
        chunk.copy(space, 0, at, at + bytes);
        at += bytes;
        await sink.filled(bytes);
      }
    }
  } finally {
    body.destroy();
  }
}

/**
 * Reads `key` into `sink`: in place where the store can (`readInto`), else copied from its `get`
 * body. A failure of `get` or of its body that is no `ColdStoreError` (a store of someone else's)
 * becomes one naming the store and the key, so it is never taken for the sink's (a download's
 * local file, whose raw errors are what is left after this).
 */
export async function readIntoSink(store: ColdStore, key: string, sink: BodySink, options: GetOptions = {}): Promise<void> {
  if (store.readInto) return store.readInto(key, sink, options);
  const storeFailure = (error: unknown) => {
    if (isColdStoreError(error)) return error;
    if (options.signal?.aborted) return aborted(store.backend, key, error);
    return unrecognizedFailure(store.backend, key, `reading the object failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, error);
  };
  const body = await store.get(key, options).catch((error: unknown) => {
    throw storeFailure(error);
  });
  await copyInto(body, sink, storeFailure);
}
