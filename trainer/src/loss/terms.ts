import { InvalidArgumentError } from 'commander';

// Kept apart from style-loss.ts so TrainerService's main process can check recorded loss
// weights without loading TF.js.
export const LOSS_TERMS = ['style', 'content', 'colour', 'edges', 'pixel', 'tv', 'patches', 'mrf'] as const;
export type LossTerm = (typeof LOSS_TERMS)[number];
export type LossWeights = Record<LossTerm, number>;

/** Commander argument parser for a repeatable `--weight term=value` (the trainer CLI, scripts/ceiling.ts). */
export function lossWeightArgument(value: string, previous: Partial<LossWeights>): Partial<LossWeights> {
  const [name, raw] = value.split('=');
  const n = Number(raw);
  if (!name || !raw?.trim() || !(LOSS_TERMS as readonly string[]).includes(name) || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError(`expected term=number with term one of ${LOSS_TERMS.join(', ')}, e.g. style=2`);
  }
  return { ...previous, [name]: n };
}
