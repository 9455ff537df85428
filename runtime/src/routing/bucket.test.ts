import { describe, expect, it } from 'vitest';
import { bucketOf, fnv1a32 } from './bucket';

describe('FNV-1a 32 client buckets', () => {
  it('matches the published FNV-1a 32 test vectors', () => {
    // From the FNV reference test suite (Fowler/Noll/Vo), 32-bit FNV-1a.
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes, not UTF-16 code units', () => {
    // 'é' is 0xC3 0xA9 in UTF-8.
    let hash = 0x811c9dc5;
    for (const byte of [0xc3, 0xa9]) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    expect(fnv1a32('é')).toBe(hash);
  });

  it('spreads client ids evenly over 100 buckets', () => {
    const counts = new Array<number>(100).fill(0);
    for (let i = 0; i < 20_000; i++) counts[bucketOf(`client-${i}`)]!++;
    expect(Math.min(...counts)).toBeGreaterThan(130);
    expect(Math.max(...counts)).toBeLessThan(270);
  });
});
