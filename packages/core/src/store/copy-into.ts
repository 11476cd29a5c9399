import type { Readable } from 'node:stream';
import type { BodySink, ColdStore, GetOptions } from '../contracts/cold-store.js';

/** Copies a body stream into `sink`, waiting whenever the sink asks to; the stream is destroyed if the sink fails. */
export async function copyInto(body: Readable, sink: BodySink): Promise<void> {
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
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

/** Reads `key` into `sink`: in place where the store can (`readInto`), else copied from its `get` body. */
export async function readIntoSink(store: ColdStore, key: string, sink: BodySink, options: GetOptions = {}): Promise<void> {
  if (store.readInto) await store.readInto(key, sink, options);
  else await copyInto(await store.get(key, options), sink);
}
