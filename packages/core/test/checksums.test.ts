import { createHash, randomBytes } from 'node:crypto';
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

  it('hashes a piece larger than a hash slice as node:crypto and @node-rs/crc32 do in one call', () => {
    // Pieces of several 64 KiB slices and a ragged end, as update and as parts, with chunks
    // that straddle the slices: checked against the libraries themselves, not checksumBytes.
    const large = randomBytes(3 * 65_536 + 12_345);
    const reference = { crc32c: crc32cToBase64(crc32c(large)), sha256: createHash('sha256').update(large).digest('hex') };
    const chunkSize = 50_000;
    const chunks = Array.from({ length: Math.ceil(large.length / chunkSize) }, (_, i) => crc32cToBase64(crc32c(large.subarray(i * chunkSize, (i + 1) * chunkSize))));
    for (const cut of [large.length, 131_073, 65_536]) {
      for (const asParts of [false, true]) {
        const plain = new ChecksumAccumulator();
        const chunked = new ChecksumAccumulator({ chunkSize });
        for (let offset = 0; offset < large.length; offset += cut) {
          const piece = large.subarray(offset, offset + cut);
          for (const accumulator of [plain, chunked]) {
            if (!asParts) accumulator.update(piece);
            else expect(crc32cToBase64(accumulator.updatePart(piece))).toBe(crc32cToBase64(crc32c(piece)));
          }
        }
        expect(plain.digest(), `${cut} ${asParts ? 'parts' : 'update'}`).toEqual(reference);
        expect(chunked.digest()).toEqual(reference);
        expect(chunked.chunks()).toEqual({ size: chunkSize, crc32c: chunks });
      }
    }
  });

  it('has no chunks without chunkSize, and an empty body has one CRC and no chunk', () => {
    expect(new ChecksumAccumulator().chunks()).toBeUndefined();
    const empty = new ChecksumAccumulator({ chunkSize: 16 });
    expect(empty.chunks()).toEqual({ size: 16, crc32c: [] });
    expect(empty.digest()).toEqual(checksumBytes(Buffer.alloc(0)));
  });

  it('with crc32c: false, computes the same SHA-256 and no CRC32C, and refuses what needs one', () => {
    const shaOnly = new ChecksumAccumulator({ crc32c: false });
    for (let offset = 0; offset < body.length; offset += 70_000) shaOnly.update(body.subarray(offset, offset + 70_000));
    expect(shaOnly.digests()).toEqual({ sha256: checksumBytes(body).sha256 });
    expect(() => shaOnly.digest()).toThrow(/without CRC32C: use digests\(\)/);
    expect(() => shaOnly.crc32cValue).toThrow(/no CRC32C value/);
    expect(() => new ChecksumAccumulator({ crc32c: false }).updatePart(body)).toThrow(/no part CRC32C/);
    expect(() => new ChecksumAccumulator({ crc32c: false, chunkSize: 16 })).toThrow(RangeError);
    // The default keeps both, through digests() too.
    const both = new ChecksumAccumulator();
    both.update(body);
    expect(both.digests()).toEqual(checksumBytes(body));
  });
});
