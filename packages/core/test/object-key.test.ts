import { describe, expect, it } from 'vitest';
import { ColdStoreError, assertValidKey, assertValidPrefix, describeInvalidKey, joinKey, normalizePrefix, stripPrefix } from '@takhin/core';

describe('object keys', () => {
  it.each([
    'segments/orders-0/00000000000000000000.log',
    'a',
    'ünïcødé/日本語/🚀',
    '.hidden/file',
    'with space/and-dash_underscore.x',
  ])('accepts %j', (key) => {
    expect(describeInvalidKey(key)).toBeUndefined();
  });

  it.each([
    ['', /empty/],
    ['/abs', /relative/],
    ['a/../b', /"\.\." segment/],
    ['..', /"\.\." segment/],
    ['./a', /"\." segment/],
    ['a//b', /empty segments/],
    ['a/', /empty segments/],
    ['a\u0000b', /control/],
    ['a\u007fb', /control/],
    ['a\\b', /\\/],
    ['\ud800', /well-formed/],
    [`${'x'.repeat(200)}/`.repeat(5) + 'x'.repeat(20), /at most 1024 UTF-8 bytes/],
    [`${'é'.repeat(100)}/`.repeat(5) + 'é'.repeat(10), /at most 1024 UTF-8 bytes \(this one is 1025\)/],
    ['x'.repeat(256), /each "\/"-separated segment of a key must be at most 255 UTF-8 bytes \(one is 256\)/],
    ['a/\ufffe', /noncharacter U\+FFFE/],
    ['a/\u{10ffff}', /noncharacter U\+10FFFF/],
    ['\ufdd5', /noncharacter U\+FDD5/],
    ['.takhin/probe/x', /reserved/],
    ['.takhin', /reserved/],
  ])('rejects %j', (key, reason) => {
    expect(describeInvalidKey(key)).toMatch(reason);
  });

  it('assertValidKey throws INVALID_KEY naming the backend, the key and the reason', () => {
    let caught: unknown;
    try {
      assertValidKey('s3', 'a/../../etc/passwd');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ColdStoreError);
    expect(caught).toMatchObject({ code: 'INVALID_KEY', backend: 's3', key: 'a/../../etc/passwd', retryable: false });
    expect((caught as Error).message).toMatch(/s3: invalid key "a\/..\/..\/etc\/passwd": .*"\.\." segment/);
  });

  it('respects a backend-specific length limit', () => {
    expect(() => assertValidKey('fs', 'abcdef', 5)).toThrow(/at most 5 UTF-8 bytes/);
  });

  it('prefixes may be empty or end in "/" but may not climb out', () => {
    expect(() => assertValidPrefix('fs', '')).not.toThrow();
    expect(() => assertValidPrefix('fs', 'orders-0/')).not.toThrow();
    expect(() => assertValidPrefix('fs', 'orders-0/000')).not.toThrow();
    expect(() => assertValidPrefix('fs', '../')).toThrow(/a prefix must not contain a "\.\." segment/);
    expect(() => assertValidPrefix('fs', '/abs')).toThrow(/relative/);
  });

  it('joins and strips backend prefixes', () => {
    expect(normalizePrefix('/segments/')).toBe('segments');
    expect(normalizePrefix('')).toBe('');
    expect(normalizePrefix('a/../b')).toBeUndefined();
    expect(joinKey('segments', 'orders-0/1.log')).toBe('segments/orders-0/1.log');
    expect(joinKey('', 'x')).toBe('x');
    expect(stripPrefix('segments', 'segments/orders-0/1.log')).toBe('orders-0/1.log');
    expect(stripPrefix('segments', 'segmentsX/1.log')).toBeUndefined();
  });
});
