import { describe, expect, it } from 'vitest';
import { parseBackends, parseShapes, positiveInteger, UsageError } from '../dist/args.js';

describe('the bench’s options', () => {
  it('takes lists of backends and shapes', () => {
    expect(parseBackends('fs,s3, azure')).toEqual(['fs', 's3', 'azure']);
    expect(parseShapes('1x1024,64x16')).toEqual([
      [1, 1024],
      [64, 16],
    ]);
    expect(positiveInteger('--runs', '5', 99)).toBe(5);
  });

  it.each([
    ['backends', () => parseBackends('fs,s4'), /--backends: unknown backend "s4" \(choose from fs, s3, minio, gcs, azure\)/],
    ['backends', () => parseBackends(''), /--backends: unknown backend ""/],
    ['backends', () => parseBackends('fs,fs'), /--backends names fs twice/],
    ['shapes', () => parseShapes('1x'), /--shapes: "1x" is not COUNTxMIB/],
    ['shapes', () => parseShapes('1x64x3'), /--shapes: "1x64x3" is not COUNTxMIB/],
    ['shapes', () => parseShapes('64x16,0x4'), /--shapes 0x4: COUNT must be an integer from 1 to 1024, got "0"/],
    ['shapes', () => parseShapes('1x64,1x64'), /--shapes names 1x64 twice/],
    ['runs', () => positiveInteger('--runs', '0', 99), /--runs must be an integer from 1 to 99, got "0"/],
    ['runs', () => positiveInteger('--runs', '1.5', 99), /got "1.5"/],
    ['runs', () => positiveInteger('--runs', '', 99), /got ""/],
    ['runs', () => positiveInteger('--runs', '1e1', 99), /got "1e1"/],
  ])('refuses a bad --%s, naming the value', (_flag, parse, message) => {
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(message);
  });
});
