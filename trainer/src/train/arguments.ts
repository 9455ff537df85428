// Command-line arguments shared by nst-train and the scripts (scripts/ceiling.ts); kept out of
// loss/terms.ts, which TrainerService's main process loads and which needs no commander.
import { InvalidArgumentError } from 'commander';
import { LOSS_TERMS, type LossWeights } from '../loss/terms.js';

/** Commander argument parser for a repeatable `--weight term=value`. */
export function lossWeightArgument(value: string, previous: Partial<LossWeights>): Partial<LossWeights> {
  const [name, raw] = value.split('=');
  const n = Number(raw);
  if (!name || !raw?.trim() || !(LOSS_TERMS as readonly string[]).includes(name) || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError(`expected term=number with term one of ${LOSS_TERMS.join(', ')}, e.g. style=2`);
  }
  return { ...previous, [name]: n };
}
