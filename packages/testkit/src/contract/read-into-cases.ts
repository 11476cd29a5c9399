import { describe, expect } from 'vitest';
import type { BodySink, ColdStore, GetOptions } from '@takhin/core';
import { patternedBytes } from '../bodies/patterned-body.js';
import { expectCode } from './assertions.js';
import type { ContractCase } from './subject.js';

const MiB = 1024 * 1024;

/**
 * A sink of small buffers (so one body is many reads) that pauses the read on every third fill,
 * the way a download's sink pauses while its disk catches up; `failAfter` makes it throw.
 */
export function collectingSink(options: { bufferBytes?: number; failAfter?: number } = {}): BodySink & { bytes(): Buffer } {
  const size = options.bufferBytes ?? 7000;
  const done: Buffer[] = [];
  let current = Buffer.alloc(size);
  let used = 0;
  let fills = 0;
  let received = 0;
  return {
    space: () => current.subarray(used),
    filled(bytes) {
      used += bytes;
      received += bytes;
      if (options.failAfter !== undefined && received > options.failAfter) throw new Error('the sink is full');
      if (used === size) {
        done.push(current);
        current = Buffer.alloc(size);
        used = 0;
      }
      if (++fills % 3 === 0) return new Promise<void>((resolve) => setTimeout(resolve, 1));
    },
    bytes: () => Buffer.concat([...done, current.subarray(0, used)]),
  };
}

/** `getObject` requests the store's metrics have counted (DriverColdStore's), for proving a read was one request. */
function getRequests(store: ColdStore): number {
  const metrics = (store as { metrics?: { snapshot(): { requests: Array<{ operation: string; requests: number }> } } }).metrics;
  if (!metrics) throw new Error(`the ${store.backend} store has no metrics to count its reads`);
  return metrics.snapshot().requests.filter((entry) => entry.operation === 'getObject').reduce((sum, entry) => sum + entry.requests, 0);
}

/**
 * The contract's `readInto` cases (docs/ARCHITECTURE.md, "Plain reads"): a store that has it
 * reads exactly what `get` would into a caller's sink, with `get`'s errors, and passes a sink's
 * own error on as it is. With `readsInto`, each read must be one request: the body came over
 * core's lean client (or the driver's own read) and was not read again through `get`. Registered inside
 * `describeColdStoreContract`'s describe.
 */
export function defineReadIntoCases(contractCase: ContractCase, freshKey: (label: string) => string): void {
  describe('readInto', () => {
    const read = async (store: ColdStore, key: string, options?: GetOptions, sinkOptions?: Parameters<typeof collectingSink>[0]) => {
      const sink = collectingSink(sinkOptions);
      await store.readInto!(key, sink, options);
      return sink.bytes();
    };

    contractCase('readInto: present exactly where the backend reads into a sink', async (s) => {
      expect(typeof s.store.readInto).toBe(s.readsInto ? 'function' : 'undefined');
    });

    contractCase('readInto: whole objects and ranges, byte for byte, one request each', async (s) => {
      if (!s.readsInto) return expect(s.store.readInto).toBeUndefined();
      const { store } = s;
      const bytes = patternedBytes(MiB + 7, 5);
      const key = freshKey('read-into');
      await store.put(key, bytes);
      const empty = freshKey('read-into-empty');
      await store.put(empty, Buffer.alloc(0));
      const before = getRequests(store);
      expect(Buffer.compare(await read(store, key), bytes)).toBe(0);
      expect((await read(store, empty)).byteLength).toBe(0);
      expect([...(await read(store, key, { range: { offset: 0, length: 1 } }))]).toEqual([bytes[0]]);
      expect(Buffer.compare(await read(store, key, { range: { offset: 1234, length: 54321 } }), bytes.subarray(1234, 1234 + 54321))).toBe(0);
      expect(Buffer.compare(await read(store, key, { range: { offset: MiB } }), bytes.subarray(MiB))).toBe(0);
      expect(Buffer.compare(await read(store, key, { range: { offset: MiB, length: 500 } }), bytes.subarray(MiB))).toBe(0);
      // One large sink buffer: reads land straight in it, with no pause.
      expect(Buffer.compare(await read(store, key, undefined, { bufferBytes: 2 * MiB }), bytes)).toBe(0);
      expect(getRequests(store) - before).toBe(7);
    });

    contractCase('readInto: a missing key is NOT_FOUND, a range past the end INVALID_RANGE, a bad range refused before any request', async (s) => {
      if (!s.readsInto) return expect(s.store.readInto).toBeUndefined();
      const { store } = s;
      const key = freshKey('read-into-errors');
      await store.put(key, patternedBytes(1000, 3));
      await expectCode(read(store, freshKey('read-into-missing')), 'NOT_FOUND');
      await expectCode(read(store, key, { range: { offset: 1000 } }), 'INVALID_RANGE');
      const before = getRequests(store);
      await expectCode(read(store, key, { range: { offset: -1 } }), 'INVALID_RANGE');
      await expectCode(read(store, '../escape'), 'INVALID_KEY');
      expect(getRequests(store)).toBe(before);
    });

    contractCase('readInto: a failing sink ends the read with its own error, and the store reads on', async (s) => {
      if (!s.readsInto) return expect(s.store.readInto).toBeUndefined();
      const { store } = s;
      const bytes = patternedBytes(MiB, 9);
      const key = freshKey('read-into-sink-fails');
      await store.put(key, bytes);
      await expect(read(store, key, undefined, { failAfter: 100_000 })).rejects.toThrow('the sink is full');
      expect(Buffer.compare(await read(store, key), bytes)).toBe(0);
    });

    contractCase('readInto: an abort in the middle is ABORTED, and an unreachable server UNAVAILABLE', async (s) => {
      if (!s.readsInto) return expect(s.store.readInto).toBeUndefined();
      const { store } = s;
      const key = freshKey('read-into-abort');
      await store.put(key, patternedBytes(4 * MiB, 4));
      const controller = new AbortController();
      const sink = collectingSink();
      const filled = sink.filled.bind(sink);
      let received = 0;
      sink.filled = (bytes) => {
        received += bytes;
        if (received > 100_000 && !controller.signal.aborted) controller.abort(new Error('enough'));
        return filled(bytes);
      };
      await expectCode(store.readInto!(key, sink, { signal: controller.signal }), 'ABORTED');
      expect(received).toBeLessThan(4 * MiB);
      const unreachable = s.createUnreachableStore();
      try {
        await expectCode(read(unreachable, key), 'UNAVAILABLE');
      } finally {
        await unreachable.close();
      }
    });
  });
}
