import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { lossWeightArgument } from './arguments';

describe('--weight term=value', () => {
  it('accumulates one weight per flag, the last of a term winning', () => {
    const once = lossWeightArgument('mrf=20', {});
    expect(lossWeightArgument('style=0.5', lossWeightArgument('style=5', once))).toEqual({ mrf: 20, style: 0.5 });
  });

  it('refuses unknown terms, negative or missing numbers, naming the terms it knows', () => {
    for (const bad of ['gram=1', 'style=-1', 'style=', 'style', 'style=much']) {
      expect(() => lossWeightArgument(bad, {}), bad).toThrow(InvalidArgumentError);
    }
    expect(() => lossWeightArgument('gram=1', {})).toThrow(/style, content, colour, edges, pixel, tv, patches, mrf, tone, cells, lead/);
  });
});
