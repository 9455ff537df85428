/**
 * Training settings of a job: the request's Hyperparameters (every field optional) resolved
 * against per-kind defaults and checked, so a job record always holds the exact settings it
 * ran with.
 */
import type { Hyperparameters } from '@nst/proto';
import type { JobKindName } from './job-store';
import { RECOMMENDED_RECIPE } from '../train/recipe';
import { invalidArgument } from './errors';

export interface ResolvedHyperparameters {
  steps: number;
  learningRate: number;
  batchSize: number;
  imageSize: number;
  /** Loss weights the request set; absent terms keep the loss's own defaults. */
  lossWeights: { content?: number; style?: number; tv?: number };
  seed: number;
}

/**
 * Defaults are the measured RECOMMENDED_RECIPE (train/train.ts), the recipe the starter styles
 * were trained with: sized for a 2-core machine without a GPU (WASM backend, about 17 minutes
 * for a new style on one core). A fine-tune continues an existing network for half the steps
 * at a lower learning rate so it adjusts rather than relearns.
 */
export const JOB_DEFAULTS: Record<JobKindName, Omit<ResolvedHyperparameters, 'lossWeights'>> = {
  'create-style': { ...RECOMMENDED_RECIPE.fromScratch, seed: 1 },
  'fine-tune': { ...RECOMMENDED_RECIPE.fineTune, seed: 1 },
};

export const LIMITS = {
  steps: [1, 100_000],
  batchSize: [1, 16],
  imageSize: [32, 512],
  learningRate: [1e-7, 1],
  lossWeight: [0, 1e9],
} as const;

function checkRange(name: string, value: number, [min, max]: readonly [number, number], integer: boolean): number {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw invalidArgument(`hyperparameters.${name} is ${value}; use ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`);
  }
  return value;
}

export function resolveHyperparameters(kind: JobKindName, requested: Hyperparameters | undefined): ResolvedHyperparameters {
  const defaults = JOB_DEFAULTS[kind];
  const r = requested ?? {};
  const imageSize = checkRange('image_size', r.imageSize ?? defaults.imageSize, LIMITS.imageSize, true);
  // The network downsamples twice by 2 and upsamples back: other sizes would not round-trip.
  if (imageSize % 4 !== 0) throw invalidArgument(`hyperparameters.image_size is ${imageSize}; use a multiple of 4`);
  const lossWeights: ResolvedHyperparameters['lossWeights'] = {};
  if (r.contentWeight !== undefined) lossWeights.content = checkRange('content_weight', r.contentWeight, LIMITS.lossWeight, false);
  if (r.styleWeight !== undefined) lossWeights.style = checkRange('style_weight', r.styleWeight, LIMITS.lossWeight, false);
  if (r.tvWeight !== undefined) lossWeights.tv = checkRange('tv_weight', r.tvWeight, LIMITS.lossWeight, false);
  return {
    steps: checkRange('steps', r.steps ?? defaults.steps, LIMITS.steps, true),
    learningRate: checkRange('learning_rate', r.learningRate ?? defaults.learningRate, LIMITS.learningRate, false),
    batchSize: checkRange('batch_size', r.batchSize ?? defaults.batchSize, LIMITS.batchSize, true),
    imageSize,
    lossWeights,
    seed: r.seed ?? defaults.seed,
  };
}
