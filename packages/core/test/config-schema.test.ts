import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigObject } from '@takhin/core';

const schema = {
  bucket: { type: 'string', required: true, nonEmpty: true },
  partSizeMb: { type: 'number', default: 8, min: 5, integer: true },
  forcePathStyle: { type: 'boolean' },
  sse: { type: 'string', oneOf: ['AES256', 'aws:kms'] },
} as const;

describe('parseConfigObject', () => {
  it('fills defaults and accepts string forms of numbers and booleans (env overrides)', () => {
    expect(parseConfigObject('storage.tiered.s3', { bucket: 'b', partSizeMb: '16', forcePathStyle: 'true' }, schema)).toEqual({
      bucket: 'b',
      partSizeMb: 16,
      forcePathStyle: true,
    });
  });

  it.each([
    [{ bucket: 'b', buckett: 'x' }, 'storage.tiered.s3.buckett', /unknown key \(did you mean "bucket"\?\); known keys: bucket, partSizeMb/],
    [{ bucket: 'b', region_name: 'x' }, 'storage.tiered.s3.region_name', /unknown key; known keys/],
    [{ bucket: 'b', partSizeMB: 8 }, 'storage.tiered.s3.partSizeMB', /did you mean "partSizeMb"/],
    [{}, 'storage.tiered.s3.bucket', /is required/],
    [{ bucket: ' ' }, 'storage.tiered.s3.bucket', /must not be empty/],
    [{ bucket: 'b', partSizeMb: 4 }, 'storage.tiered.s3.partSizeMb', /at least 5/],
    [{ bucket: 'b', partSizeMb: 5.5 }, 'storage.tiered.s3.partSizeMb', /whole number/],
    [{ bucket: 'b', partSizeMb: 'lots' }, 'storage.tiered.s3.partSizeMb', /expected a decimal number, got "lots"/],
    [{ bucket: 'b', forcePathStyle: 'yes' }, 'storage.tiered.s3.forcePathStyle', /true or false/],
    [{ bucket: 'b', sse: 'rot13' }, 'storage.tiered.s3.sse', /one of "AES256", "aws:kms"/],
    [{ bucket: 42 }, 'storage.tiered.s3.bucket', /expected a string/],
    // A NaN is a number to typeof; the message must say what is wrong with it.
    [{ bucket: 'b', partSizeMb: Number.NaN }, 'storage.tiered.s3.partSizeMb', /expected a finite number, got NaN/],
    [{ bucket: 'b', partSizeMb: Number.POSITIVE_INFINITY }, 'storage.tiered.s3.partSizeMb', /expected a finite number, got Infinity/],
    // String forms (env overrides) are decimal only: "0x10" is not 16, "1e1" not 10.
    [{ bucket: 'b', partSizeMb: '0x10' }, 'storage.tiered.s3.partSizeMb', /expected a decimal number, got "0x10"/],
    [{ bucket: 'b', partSizeMb: '0b101' }, 'storage.tiered.s3.partSizeMb', /expected a decimal number, got "0b101"/],
    [{ bucket: 'b', partSizeMb: '1e1' }, 'storage.tiered.s3.partSizeMb', /expected a decimal number, got "1e1"/],
    [{ bucket: 'b', partSizeMb: 'Infinity' }, 'storage.tiered.s3.partSizeMb', /expected a decimal number, got "Infinity"/],
  ])('rejects %j naming %s', (raw, path, reason) => {
    let caught: unknown;
    try {
      parseConfigObject('storage.tiered.s3', raw, schema);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).path).toBe(path);
    expect((caught as Error).message).toContain(`"${path}"`);
    expect((caught as Error).message).toMatch(reason);
  });

  it('echoes a long value cut to a few dozen characters', () => {
    const long = `https//${'a'.repeat(5000)}`;
    expect(() => parseConfigObject('storage.tiered.s3', { endpoint: long }, { endpoint: { type: 'string', httpUrl: true } })).toThrow(/got "https\/\/a{53}…"$/);
    expect(() => parseConfigObject('storage.tiered.s3', { bucket: 'b', sse: long }, schema)).toThrow(/got "https\/\/a{53}…"$/);
    expect(() => parseConfigObject('storage.tiered.s3', { bucket: 'b', partSizeMb: long }, schema)).toThrow(/got "https\/\/a{53}…"$/);
    // Exactly 60 characters are echoed whole; an emoji is never cut in half.
    expect(() => parseConfigObject('storage.tiered.s3', { bucket: 'b', sse: 'b'.repeat(60) }, schema)).toThrow(new RegExp(`got "b{60}"$`));
    expect(() => parseConfigObject('storage.tiered.s3', { bucket: 'b', sse: `${'b'.repeat(59)}😀😀` }, schema)).toThrow(/got "b{59}…"$/);
  });

  it('rejects a section that is not an object', () => {
    expect(() => parseConfigObject('storage.tiered.s3', ['x'], schema)).toThrow(/"storage.tiered.s3": expected an object/);
  });
});
