import { describe, expect, it } from 'vitest';
import { ChunkBuffers } from '@takhin/core';

const SIZE = 64 * 1024;

describe('ChunkBuffers', () => {
  it('reuses a buffer once its last holder lets go and no read is under way', () => {
    const buffers = new ChunkBuffers();
    const first = buffers.take(SIZE);
    buffers.hold(first);
    buffers.hold(first.subarray(0, 10));
    buffers.release(first);
    expect(buffers.take(SIZE).buffer, 'a holder still has it').not.toBe(first.buffer);
    buffers.release(first.subarray(5));
    expect(buffers.retired).toBe(1);
    expect(buffers.take(SIZE).buffer).toBe(first.buffer);
    expect(buffers.retired).toBe(0);
  });

  it('keeps a released buffer from reuse until every read under way at its release has ended; later reads do not hold it', () => {
    const buffers = new ChunkBuffers();
    const early = buffers.enter();
    const chunk = buffers.take(SIZE);
    buffers.hold(chunk);
    const during = buffers.enter();
    buffers.release(chunk);
    const after = buffers.enter();
    expect(buffers.take(SIZE).buffer, 'two reads that may hold it are under way').not.toBe(chunk.buffer);
    buffers.leave(early);
    expect(buffers.take(SIZE).buffer, 'one read that may hold it is under way').not.toBe(chunk.buffer);
    buffers.leave(during);
    expect(buffers.take(SIZE).buffer, 'only a read that started after its release').toBe(chunk.buffer);
    buffers.leave(after);
  });

  it('reuses only a buffer of the size asked for, keeps a few, and never tracks memory it did not make', () => {
    const buffers = new ChunkBuffers(2);
    const made = [SIZE, SIZE, 2 * SIZE].map((size) => buffers.take(size));
    for (const bytes of made) {
      buffers.hold(bytes);
      buffers.release(bytes);
    }
    expect(buffers.retired, 'the oldest went beyond two').toBe(2);
    expect(buffers.take(2 * SIZE).buffer).toBe(made[2]!.buffer);
    expect(buffers.take(SIZE).buffer).toBe(made[1]!.buffer);
    expect(buffers.take(SIZE).buffer, 'the first one was let go to the collector').not.toBe(made[0]!.buffer);
    const foreign = Buffer.alloc(SIZE);
    buffers.hold(foreign);
    buffers.release(foreign);
    expect(buffers.retired).toBe(0);
  });

  it('refuses to hold a retired buffer again: it may already be another chunk', () => {
    const buffers = new ChunkBuffers();
    const chunk = buffers.take(SIZE);
    buffers.hold(chunk);
    buffers.release(chunk);
    expect(() => buffers.hold(chunk)).toThrow(/retired chunk buffer was held again/);
  });
});
