import { randomBytes } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import { ChecksumAccumulator, checksumBytes, crc32cCombine, crc32cToBase64 } from '@takhin/core';

describe('crc32cCombine', () => {
  it('gives the CRC32C of a concatenation from its pieces, at every length', () => {
    for (const [a, b] of [[0, 0], [0, 5], [5, 0], [1, 1], [13, 4096], [65_536, 100_003], [1_000_000, 3]] as const) {
      const [left, right] = [randomBytes(a), randomBytes(b)];
      expect(crc32cCombine(crc32c(left), crc32c(right), b), `${a} + ${b}`).toBe(crc32c(Buffer.concat([left, right])) >>> 0);
    }
  });
});

describe('ChecksumAccumulator', () => {
  const body = randomBytes(100_003);

  it('update and updatePart agree with a one-shot digest, however the bytes are cut', () => {
    const accumulator = new ChecksumAccumulator();
    let offset = 0;
    for (const [size, asPart] of [[1, false], [4096, true], [30_000, false], [17, true], [65_889, true]] as const) {
      const piece = body.subarray(offset, offset + size);
      if (asPart) expect(crc32cToBase64(accumulator.updatePart(piece))).toBe(checksumBytes(piece).crc32c);
      else accumulator.update(piece);
      offset += size;
    }
    expect(offset).toBe(body.length);
    expect(accumulator.digest()).toEqual(checksumBytes(body));
  });

  it.each([1, 7, 4096, 65_536, 100_003, 1_000_000])('with chunkSize %i, keeps the CRC32C of every chunk, the last shorter', (chunkSize) => {
    for (const asParts of [false, true]) {
      const accumulator = new ChecksumAccumulator({ chunkSize });
      // Pieces that straddle chunk boundaries: 5000-byte parts, or uneven stream chunks.
      for (let offset = 0, i = 0; offset < body.length; i++) {
        const size = asParts ? 5000 : 1 + ((i * 7919) % 9000);
        const piece = body.subarray(offset, offset + size);
        if (asParts) accumulator.updatePart(piece);
        else accumulator.update(piece);
        offset += piece.length;
      }
      const expected = Array.from({ length: Math.ceil(body.length / chunkSize) }, (_, i) => checksumBytes(body.subarray(i * chunkSize, (i + 1) * chunkSize)).crc32c);
      expect(accumulator.chunks(), `${asParts ? 'parts' : 'stream'}`).toEqual({ size: chunkSize, crc32c: expected });
      expect(accumulator.digest()).toEqual(checksumBytes(body));
    }
  });

  it('has no chunks without chunkSize, and an empty body has one CRC and no chunk', () => {
    expect(new ChecksumAccumulator().chunks()).toBeUndefined();
    const empty = new ChecksumAccumulator({ chunkSize: 16 });
    expect(empty.chunks()).toEqual({ size: 16, crc32c: [] });
    expect(empty.digest()).toEqual(checksumBytes(Buffer.alloc(0)));
  });
});
