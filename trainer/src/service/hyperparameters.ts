/**
 * Training settings of a job: the request's Hyperparameters (every field optional) resolved
 * against per-kind defaults and checked, so a job record always holds the exact settings it
 * ran with.
 */
import { LossNetwork, StylePooling as StylePoolingMessage, StyleStatistic as StyleStatisticMessage, type Hyperparameters } from '@nst/proto';
import type { JobKindName } from './job-store';
import type { InceptionDeepLayer, LossNetworkName, LossWeights, StylePooling, StyleStatistic } from '../loss/style-loss';
import type { SeedWindows } from '../train/train';
import { RECOMMENDED_RECIPE, SLICED_STYLE_LOSS } from '../train/recipe';
import { invalidArgument } from './errors';

/** The loss a version was trained with, which its fine-tunes keep. */
export interface TrainingLoss {
  lossNetwork: LossNetworkName;
  styleScale: number;
  /** Its weights (hatch weights colour 5x; a sliced-statistic style, style 20x). */
  lossWeights?: Partial<LossWeights>;
  /** Absent: covariance, which every version before the choice matched. */
  statistic?: StyleStatistic;
  /** With statistic 'sliced', the loss layers it applies to (absent: all). */
  slicedLayers?: number[];
  /** Multipliers of each loss layer's style term (absent: 1 each). */
  styleLayerWeights?: number[];
  /** Pooling factors of the pixel-patch term (absent: DEFAULT_PATCH_POOLS). */
  patchPools?: number[];
  /** 'batch' when style statistics were pooled over the batch (absent: per image). */
  stylePooling?: StylePooling;
  /** InceptionV3 layers past mixed2 in the style term (absent: none). */
  deepLayers?: InceptionDeepLayer[];
  /** Share of the content term kept where the photo is flat (absent: 1, everywhere alike). */
  flatContent?: number;
  /** Pixels of reflection around what the loss network saw (absent: 0). */
  lossMargin?: number;
  /** 'image' when a seeded network read a window of its cell seed per image (absent: per batch). */
  seedWindows?: SeedWindows;
}

export interface ResolvedHyperparameters {
  steps: number;
  learningRate: number;
  batchSize: number;
  imageSize: number;
  /** Loss weights the request set, over a fine-tune's base version's; absent terms keep the loss's own defaults. */
  lossWeights: Partial<LossWeights>;
  seed: number;
  lossNetwork: LossNetworkName;
  styleScale: number;
  /** Absent: covariance (and in every job record written before the choice). */
  statistic?: StyleStatistic;
  /** With statistic 'sliced', the loss layers it applies to (absent: all). */
  slicedLayers?: number[];
  /** Multipliers of each loss layer's style term (absent: 1 each). */
  styleLayerWeights?: number[];
  /** Pooling factors of the pixel-patch term (absent: DEFAULT_PATCH_POOLS). */
  patchPools?: number[];
  /** 'batch' when style statistics were pooled over the batch (absent: per image). */
  stylePooling?: StylePooling;
  /** InceptionV3 layers past mixed2 in the style term (absent: none). */
  deepLayers?: InceptionDeepLayer[];
  /** Share of the content term kept where the photo is flat (absent: 1, everywhere alike). */
  flatContent?: number;
  /** Pixels of reflection around what the loss network saw (absent: 0). */
  lossMargin?: number;
  /** 'image' when a seeded network read a window of its cell seed per image (absent: per batch). */
  seedWindows?: SeedWindows;
}

/**
 * Defaults are the measured RECOMMENDED_RECIPE (train/recipe.ts), the recipe the starter styles
 * were trained with: sized for a 2-core machine without a GPU (WASM backend on both cores,
 * NST_TRAIN_THREADS), on the ImageNet loss at style scale 2 like every starter's latest
 * version, matching covariances unless the request asks for SLICED_STYLE_LOSS. A fine-tune
 * continues an existing network for half the steps so it adjusts rather than relearns, on the
 * loss its base version was trained with (JOB_DEFAULTS['fine-tune']
 * holds the loss only for versions that recorded none: those predate the ImageNet loss).
 */
export const JOB_DEFAULTS: Record<JobKindName, Omit<ResolvedHyperparameters, 'lossWeights'>> = {
  'create-style': { ...RECOMMENDED_RECIPE.fromScratch, seed: 1, lossNetwork: 'inception', styleScale: 2 },
  'fine-tune': { ...RECOMMENDED_RECIPE.fineTune, seed: 1, lossNetwork: 'random', styleScale: 1 },
};

export const LIMITS = {
  steps: [1, 100_000],
  batchSize: [1, 16],
  imageSize: [32, 512],
  learningRate: [1e-7, 1],
  lossWeight: [0, 1e9],
  styleScale: [0.25, 4],
  /**
   * The ImageNet loss's deepest style layers (mixed0, mixed2) downsample by about 10: a 96 px
   * crop gives them 9x9 positions, a 64 px one 5x5, too few for a Gram matrix to describe
   * strokes (and under 24 px the stem's pooling has nothing left to pool).
   */
  imagenetMinImageSize: 96,
} as const;

const LOSS_NETWORKS: Partial<Record<LossNetwork, LossNetworkName>> = {
  [LossNetwork.LOSS_NETWORK_IMAGENET]: 'inception',
  [LossNetwork.LOSS_NETWORK_RANDOM]: 'random',
};

const STATISTICS: Partial<Record<StyleStatisticMessage, 'covariance' | 'sliced'>> = {
  [StyleStatisticMessage.STYLE_STATISTIC_COVARIANCE]: 'covariance',
  [StyleStatisticMessage.STYLE_STATISTIC_SLICED]: 'sliced',
};

const POOLINGS: Partial<Record<StylePoolingMessage, StylePooling>> = {
  [StylePoolingMessage.STYLE_POOLING_IMAGE]: 'image',
  [StylePoolingMessage.STYLE_POOLING_BATCH]: 'batch',
};

function checkRange(name: string, value: number, [min, max]: readonly [number, number], integer: boolean): number {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw invalidArgument(`hyperparameters.${name} is ${value}; use ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`);
  }
  return value;
}

/**
 * `base` is the loss of the version a fine-tune starts from (absent for a new style, or for a
 * version trained before versions recorded it).
 */
export function resolveHyperparameters(kind: JobKindName, requested: Hyperparameters | undefined, base?: TrainingLoss): ResolvedHyperparameters {
  const defaults = { ...JOB_DEFAULTS[kind], ...(kind === 'fine-tune' ? base : {}) };
  const r = requested ?? {};
  const imageSize = checkRange('image_size', r.imageSize ?? defaults.imageSize, LIMITS.imageSize, true);
  // The network downsamples twice by 2 and upsamples back: other sizes would not round-trip.
  if (imageSize % 4 !== 0) throw invalidArgument(`hyperparameters.image_size is ${imageSize}; use a multiple of 4`);
  let lossNetwork = defaults.lossNetwork;
  if (r.lossNetwork !== undefined && r.lossNetwork !== LossNetwork.LOSS_NETWORK_UNSPECIFIED) {
    const named = LOSS_NETWORKS[r.lossNetwork];
    if (!named) throw invalidArgument(`hyperparameters.loss_network ${r.lossNetwork} is not known; use LOSS_NETWORK_IMAGENET or LOSS_NETWORK_RANDOM`);
    lossNetwork = named;
  }
  if (lossNetwork === 'inception' && imageSize < LIMITS.imagenetMinImageSize) {
    throw invalidArgument(
      `hyperparameters.image_size is ${imageSize}; the ImageNet loss needs crops of at least ${LIMITS.imagenetMinImageSize} px (its deepest layers would see too few positions): use a larger image_size, or loss_network LOSS_NETWORK_RANDOM for a quick trial`,
    );
  }
  // A fine-tune keeps the weights and statistic its base was trained with: the same loss at
  // other weights would pull the network away from the style instead of refining it. A new
  // style asking for the sliced statistic gets SLICED_STYLE_LOSS's layers and weight.
  let statistic: StyleStatistic | undefined = kind === 'fine-tune' ? base?.statistic : undefined;
  if (r.styleStatistic !== undefined && r.styleStatistic !== StyleStatisticMessage.STYLE_STATISTIC_UNSPECIFIED) {
    const named = STATISTICS[r.styleStatistic];
    if (!named) throw invalidArgument(`hyperparameters.style_statistic ${r.styleStatistic} is not known; use STYLE_STATISTIC_SLICED or STYLE_STATISTIC_COVARIANCE`);
    statistic = named;
  }
  if (statistic === 'sliced' && lossNetwork !== 'inception') {
    throw invalidArgument('hyperparameters.style_statistic is sliced, which matches the ImageNet network\'s mixed layers: use loss_network LOSS_NETWORK_IMAGENET, or STYLE_STATISTIC_COVARIANCE');
  }
  const slicedStyle = kind === 'create-style' && statistic === 'sliced';
  const lossWeights: ResolvedHyperparameters['lossWeights'] = { ...(kind === 'fine-tune' ? base?.lossWeights : slicedStyle ? SLICED_STYLE_LOSS.lossWeights : {}) };
  const slicedLayers = statistic !== 'sliced' ? undefined : kind === 'fine-tune' && base?.statistic === 'sliced' ? base.slicedLayers : [...SLICED_STYLE_LOSS.slicedLayers];
  const styleLayerWeights = kind === 'fine-tune' ? base?.styleLayerWeights : undefined;
  const patchPools = kind === 'fine-tune' ? base?.patchPools : undefined;
  // The stained glass's cells come from these three together (MEASUREMENTS 28): a fine-tune
  // without them would wash the cells out under the content term. Deep layers exist only in
  // the ImageNet network, so a fine-tune switched to the random one leaves them.
  const deepLayers = kind === 'fine-tune' && lossNetwork === 'inception' ? base?.deepLayers : undefined;
  const flatContent = kind === 'fine-tune' ? base?.flatContent : undefined;
  // A fine-tune charges the edges as its base did: without the margin, a network trained with
  // one would relearn the edge band the margin removed (MEASUREMENTS 30).
  const lossMargin = kind === 'fine-tune' ? base?.lossMargin : undefined;
  const seedWindows = kind === 'fine-tune' ? base?.seedWindows : undefined;
  let stylePooling = kind === 'fine-tune' ? base?.stylePooling : undefined;
  if (r.stylePooling !== undefined && r.stylePooling !== StylePoolingMessage.STYLE_POOLING_UNSPECIFIED) {
    const named = POOLINGS[r.stylePooling];
    if (!named) throw invalidArgument(`hyperparameters.style_pooling ${r.stylePooling} is not known; use STYLE_POOLING_BATCH or STYLE_POOLING_IMAGE`);
    stylePooling = named;
  }
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
    lossNetwork,
    styleScale: checkRange('style_scale', r.styleScale ?? defaults.styleScale, LIMITS.styleScale, false),
    ...(statistic && statistic !== 'covariance' ? { statistic } : {}),
    ...(slicedLayers ? { slicedLayers } : {}),
    ...(styleLayerWeights ? { styleLayerWeights } : {}),
    ...(patchPools ? { patchPools } : {}),
    ...(stylePooling === 'batch' ? { stylePooling } : {}),
    ...(deepLayers ? { deepLayers } : {}),
    ...(flatContent !== undefined ? { flatContent } : {}),
    ...(lossMargin !== undefined ? { lossMargin } : {}),
    ...(seedWindows === 'image' ? { seedWindows } : {}),
  };
}
