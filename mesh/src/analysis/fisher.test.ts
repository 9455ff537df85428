import { describe, expect, it } from 'vitest';
import { fisherExactLess } from './fisher';

// Reference values from scipy 1.17: fisher_exact([[cg, cb], [sg, sb]], alternative='less').
const CASES: [number, number, number, number, number][] = [
  [3, 1, 1, 3, 0.9857142857142858],
  [1, 9, 11, 3, 0.0013797280926100418],
  [12, 18, 25, 5, 0.0005965811570247422],
  [40, 10, 45, 5, 0.13116972867668567],
  [30, 20, 60, 40, 0.5685760036795434],
  [0, 5, 5, 0, 0.003968253968253969],
  [10, 10, 10, 10, 0.6238144327180455],
];

describe('fisherExactLess (one-sided: canary rated worse)', () => {
  it.each(CASES)('canary %i good / %i bad vs stable %i / %i gives p = %f', (cg, cb, sg, sb, expected) => {
    expect(fisherExactLess({ good: cg, bad: cb }, { good: sg, bad: sb })).toBeCloseTo(expected, 10);
  });

  it('is 1 when either arm has no ratings, and falls as the canary gets worse', () => {
    expect(fisherExactLess({ good: 0, bad: 0 }, { good: 5, bad: 5 })).toBe(1);
    expect(fisherExactLess({ good: 5, bad: 5 }, { good: 0, bad: 0 })).toBe(1);
    const ps = [16, 12, 8, 4].map((good) => fisherExactLess({ good, bad: 20 - good }, { good: 16, bad: 4 }));
    for (let i = 1; i < ps.length; i++) expect(ps[i]).toBeLessThan(ps[i - 1] as number);
  });

  it('stays finite and accurate with thousands of ratings', () => {
    const p = fisherExactLess({ good: 1400, bad: 600 }, { good: 1500, bad: 500 });
    // scipy: 0.00022631629103043435
    expect(p / 0.00022631629103043435).toBeCloseTo(1, 8);
  });
});
