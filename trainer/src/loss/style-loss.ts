/**
 * The perceptual training loss of a style network, built on the random feature network
 * (features.ts): style = per-layer feature means and covariances (or raw Gram matrices) of
 * the output matched to the style image's, at several scales; content = features of the
 * output's luminance matched to the photo's at a middle layer; plus colour statistics,
 * optional luminance-edge, pixel, pixel-patch distribution and feature-patch matching terms,
 * and total variation.
 *
 * Every term is normalised by the size of its target, so weights read as relative
 * importances; MEASUREMENTS at the end of this file says how the defaults were chosen.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createFeatureNetwork, gramMatrix, type FeatureNetwork } from './features.js';
import { createPretrainedNetwork } from './pretrained.js';
import { saturatedFraction } from '../eval/scores.js';

import { LOSS_TERMS, type LossTerm, type LossWeights } from './terms.js';

export { LOSS_TERMS, type LossTerm, type LossWeights } from './terms.js';
export type LossValues = Record<LossTerm | 'total', number>;

/** Every term's value (and the total), read one by one: one place that lists them. */
export function lossValues(read: (term: LossTerm | 'total') => number): LossValues {
  return Object.fromEntries((['total', ...LOSS_TERMS] as const).map((term) => [term, read(term)])) as LossValues;
}

/** Seed of the training loss network. Evaluation must use a different one. */
export const TRAINING_LOSS_SEED = 1;

export const DEFAULT_LOSS_WEIGHTS: LossWeights = {
  style: 1,
  content: 1,
  colour: 1,
  edges: 0,
  pixel: 0,
  tv: 1,
  patches: 0,
  mrf: 0,
  tone: 0,
  cells: 0,
  lead: 0,
};

export interface StyleLossOptions {
  /** The painting, HWC or 1HWC, values in [0, 1]. Not disposed by StyleLoss. */
  styleImage: tf.Tensor3D | tf.Tensor4D;
  /** Side of the square training crops; the style image is scaled to about this area. */
  imageSize: number;
  /** Relative sizes at which style statistics are matched (default 1 and 0.5). */
  scales?: number[];
  /** Style image size relative to the crops: > 1 gives smaller brush strokes (default 1). */
  styleScale?: number;
  /** Index of the feature layer compared for content (default 1, the second layer). */
  contentLayer?: number;
  /** Statistic matched for style (default 'covariance'). */
  statistic?: StyleStatistic;
  /**
   * With statistic 'sliced': the layer indices matched by sliced distributions; the others
   * keep covariances (default: every layer sliced). Lets the stem's colour and edge detectors
   * keep second-order statistics while the mixed layers match whole distributions.
   */
  slicedLayers?: number[];
  /**
   * Multiplies each feature layer's style term (default 1 each): e.g. [1, 1, 1, 5, 5] asks the
   * mixed layers' sliced distributions for more than the stem's covariances (MEASUREMENTS 16).
   */
  styleLayerWeights?: number[];
  /** Compare content on luminance only (default true). */
  contentOnLuminance?: boolean;
  weights?: Partial<LossWeights>;
  /** Loss network seed (default TRAINING_LOSS_SEED; the random network only). */
  seed?: number;
  /** Which feature network the loss sees (default 'random'; see LossNetworkName). */
  network?: LossNetworkName;
  /** What the style statistics are taken of (default 'raw'; see FeatureTransform). */
  featureTransform?: FeatureTransform;
  /**
   * Crop the images the loss sees by a different offset on every call, cycling through all
   * period x period offsets (default 0, off). Tried against the weave of dashes the
   * InceptionV3-trained networks paint, on the idea that they lock to the mixed layers'
   * 8-pixel sampling: it changes the weave's shape but does not remove it (MEASUREMENTS 10).
   */
  phaseJitter?: number;
  /** Indices of the feature layers whose statistics are matched for style (default all). */
  styleLayers?: number[];
  /** InceptionV3 layers past mixed2 added to the style term (default none; INCEPTION_DEEP_LAYERS). */
  deepLayers?: InceptionDeepLayer[];
  /**
   * With a 'patches' weight: the average-pooling factors (1, 2, 4...) at which pixel patches
   * are matched, averaged (default DEFAULT_PATCH_POOLS).
   */
  patchPools?: number[];
  /**
   * What one set of style statistics describes (default 'image'): 'image' matches each image
   * of the batch to the painting on its own; 'batch' pools the batch's feature maps into one
   * distribution first. A small crop holds a few of a coarse painting's motifs (three or four
   * of the stained glass's cells), so its own statistics wander far from the whole painting's,
   * and per image the painting's own crops score worse than a hedge that puts every colour
   * into every crop (MEASUREMENTS 23); pooled, the painting's crops are the optimum again.
   */
  stylePooling?: StylePooling;
  /**
   * How much of the content term is kept where the photo is flat (default 1: everywhere the
   * same). Below 1 the content difference at each position is weighted by flatnessWeight:
   * this share where the photo's luminance barely changes (sky, a wall, a blurred background),
   * 1 where it has edges. A painting made of cells puts cells where the photo has none, which
   * content charged everywhere forbids (MEASUREMENTS 27a, 28).
   */
  flatContent?: number;
  /**
   * Pixels of reflection added around the output and the photo before the loss network sees
   * them (default 0). InceptionV3's valid-padded convs and pools drop the last rows and columns
   * of a crop that do not fill a whole window, and thin out the rest near every edge: on a
   * 128 px crop the style and content gradients fall to a tenth over the last ~8 rows and to
   * nothing on the last one, so only the colour and smoothness terms steer a network's edges,
   * and it learns to paint them as it likes (swirl's dark bottom band, MEASUREMENTS 30). A
   * margin puts every painted pixel inside the features' reach.
   */
  margin?: number;
}

/** See StyleLossOptions.stylePooling. */
export type StylePooling = 'image' | 'batch';

/**
 * 'raw': the feature maps as the network gives them. 'softmax': each map passed through a
 * softmax over all its positions and channels first (Wang et al., CVPR 2021, "Rethinking and
 * Improving the Robustness of Image Style Transfer": non-VGG networks give peaky, low-entropy
 * activations whose Gram matrices carry style poorly; the softmax raises their entropy),
 * rescaled by the element count so images of different sizes compare (MEASUREMENTS 8).
 */
export type FeatureTransform = 'raw' | 'softmax';

function transformFeatures(f: tf.Tensor4D, transform: FeatureTransform): tf.Tensor4D {
  if (transform === 'raw') return f;
  const [batch, height, width, channels] = f.shape;
  const n = height * width * channels;
  return tf.reshape(tf.mul(tf.softmax(tf.reshape(f, [batch, n])), n), [batch, height, width, channels]);
}

/**
 * 'random': the seeded random-feature network (features.ts) the first starter set trained
 * against. 'inception': InceptionV3's ImageNet layers from nsfwjs (pretrained.ts), cut at
 * INCEPTION_LOSS_LAYERS; its content layer is `activation_5` (index 2).
 */
export type LossNetworkName = 'random' | 'inception';

/**
 * InceptionV3 layers matched for style, from edges and colour (stride 2) to motifs the size
 * of a mosaic cell (mixed2, stride 8 with a ~100 px receptive field), all below mixed5 so all
 * ImageNet weights.
 */
export const INCEPTION_LOSS_LAYERS = ['activation_1', 'activation_3', 'activation_5', 'mixed0', 'mixed2'] as const;

/**
 * Deeper InceptionV3 layers that may join the style term (StyleLossOptions.deepLayers): stride
 * 16, receptive fields of 200 px and more, still below mixed5 so still ImageNet weights. They
 * need large images (a 128 px crop leaves mixed4 6x6 positions), so they are measured at the
 * ceiling (scripts/ceiling.ts) before any training uses them (MEASUREMENTS 13).
 */
export const INCEPTION_DEEP_LAYERS = ['mixed3', 'mixed4'] as const;
export type InceptionDeepLayer = (typeof INCEPTION_DEEP_LAYERS)[number];

/** The loss network behind the FeatureNetwork interface StyleLoss reads. */
export function createLossNetwork(name: LossNetworkName, seed = TRAINING_LOSS_SEED, deepLayers: readonly InceptionDeepLayer[] = []): FeatureNetwork {
  if (name === 'random') {
    if (deepLayers.length) throw new Error('deep layers are InceptionV3 layers: use the inception loss network');
    return createFeatureNetwork({ seed });
  }
  const unknown = deepLayers.filter((l) => !(INCEPTION_DEEP_LAYERS as readonly string[]).includes(l));
  if (unknown.length) throw new Error(`unknown deep layers ${unknown.join(', ')} (${INCEPTION_DEEP_LAYERS.join(', ')})`);
  const layers: string[] = [...INCEPTION_LOSS_LAYERS, ...deepLayers];
  // One network per depth asked for, so a content-only pass stops at its layer.
  const nets = new Map<number, ReturnType<typeof createPretrainedNetwork>>();
  const upTo = (n: number) => {
    let net = nets.get(n);
    if (!net) {
      net = createPretrainedNetwork({ model: 'inception_v3', outputs: layers.slice(0, n) });
      nets.set(n, net);
    }
    return net;
  };
  return {
    seed: 0,
    channels: [32, 64, 192, 256, 288, ...deepLayers.map(() => 768)],
    features: (x, count = layers.length) => upTo(count).features(x),
    dispose: () => nets.forEach((n) => n.dispose()),
  };
}

/**
 * Which statistic of the features is matched: the raw Gram matrix E[f f^T] (Gatys et al.),
 * the channel means and the covariance E[f f^T] - mu mu^T as two terms, or 'sliced': the whole
 * distribution of the features, compared along random directions drawn anew on every call
 * (sliced Wasserstein distance, Heitz et al. CVPR 2021), which second-order statistics cannot
 * tell apart from any other texture with the same covariance (MEASUREMENTS 14).
 */
export type StyleStatistic = 'gram' | 'covariance' | 'sliced';

interface LayerStatistics {
  /** Gram or covariance [B, C, C]; for 'sliced', the style's features [N, C] themselves. */
  second: tf.Tensor;
  /** Channel means [B, C] (covariance mode only). */
  mean?: tf.Tensor2D;
}

interface ScaleTarget {
  scale: number;
  layers: LayerStatistics[];
  /** 1 / mean(target^2) per layer and statistic: equalises layers whose entries differ by orders. */
  secondNorms: number[];
  meanNorms: number[];
}

function layerStatistics(f: tf.Tensor4D, statistic: StyleStatistic): LayerStatistics {
  if (statistic === 'sliced') return { second: tf.reshape(f, [-1, f.shape[3]]) };
  const gram = gramMatrix(f);
  if (statistic === 'gram') return { second: gram };
  const mean = tf.mean(f, [1, 2]) as tf.Tensor2D;
  const outer = tf.mul(tf.expandDims(mean, 2), tf.expandDims(mean, 1));
  return { second: tf.sub(gram, outer) as tf.Tensor3D, mean };
}

const meanOfSquares = (t: tf.Tensor) => Math.max(1e-12, tf.mean(tf.square(t)).dataSync()[0]!);

/**
 * Sliced Wasserstein distance between the features of each image in `f` [B, H, W, C] and the
 * style's features [N, C] along `directions` [C, K] unit vectors: the mean squared difference
 * between each image's projections, sorted, and the style's projections at the same quantiles.
 * Hand-written because TF.js has no differentiable sort: the sort runs on the values (a
 * constant permutation), and the style's quantiles are scattered back to each projection's own
 * position, so the gradient flows through the projections alone (no gather, whose gradient the
 * WASM backend lacks).
 */
function slicedDistance(f: tf.Tensor4D, style: tf.Tensor, directions: tf.Tensor2D): tf.Scalar {
  const [batch, height, width, channels] = f.shape;
  const projected: tf.Tensor2D = tf.matMul(tf.reshape(f, [batch * height * width, channels]), directions);
  const styleValues = tf.tidy(() => tf.transpose(tf.matMul(style as tf.Tensor2D, directions))).dataSync() as Float32Array;
  return projectionDistance(projected, batch, styleValues);
}

/**
 * The sliced distance once both sides are projected: `projected` [batch * n, K] (each image's
 * n samples in turn), `styleValues` the style's projections direction by direction [K, Ns],
 * already sorted within each direction when `styleSorted` (a target fixed for the whole run).
 */
function projectionDistance(projected: tf.Tensor2D, batch: number, styleValues: Float32Array, styleSorted = false): tf.Scalar {
  const k = projected.shape[1];
  const n = projected.shape[0] / batch;
  const ns = styleValues.length / k;
  const values = projected.dataSync() as Float32Array;
  const target = new Float32Array(batch * n * k);
  const order = new Uint32Array(n);
  const column = new Float32Array(n);
  for (let d = 0; d < k; d++) {
    const sortedStyle = styleSorted ? styleValues.subarray(d * ns, (d + 1) * ns) : styleValues.slice(d * ns, (d + 1) * ns).sort();
    // The style's value at quantile q, linearly interpolated (the two sets differ in size).
    const quantile = (q: number) => {
      const at = Math.min(ns - 1, Math.max(0, q * ns - 0.5));
      const lo = Math.floor(at);
      const hi = Math.min(ns - 1, lo + 1);
      return sortedStyle[lo]! + (sortedStyle[hi]! - sortedStyle[lo]!) * (at - lo);
    };
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < n; i++) {
        column[i] = values[(b * n + i) * k + d]!;
        order[i] = i;
      }
      order.sort((x, y) => column[x]! - column[y]!);
      for (let rank = 0; rank < n; rank++) target[(b * n + order[rank]!) * k + d] = quantile((rank + 0.5) / n);
    }
  }
  return tf.mean(tf.squaredDifference(projected, tf.tensor2d(target, [batch * n, k])));
}

/**
 * The painting (1HWC) cut into a grid of size x size crops covering it, stacked as a batch: the
 * last row and column sit flush with its far edges, overlapping their neighbours. A painting
 * smaller than a crop is one crop of it all.
 */
export function paintingCrops(painting: tf.Tensor4D, size: number): tf.Tensor4D {
  const [, height, width] = painting.shape;
  if (height < size || width < size) return painting;
  const starts = (extent: number) => {
    const count = Math.ceil(extent / size);
    return Array.from({ length: count }, (_, i) => Math.min(i * size, extent - size));
  };
  const crops = starts(height).flatMap((top) => starts(width).map((left) => tf.slice(painting, [0, top, left, 0], [1, size, size, -1])));
  return tf.concat(crops, 0);
}

/**
 * Sliced distance between the distributions of raw pixel patches (PATCH_SIZE square) of each
 * output and of the painting (Elnekave & Weiss, "Generating Natural Images with Direct Patch
 * Distributions Matching", ECCV 2022). A patch's projection on a random direction is one
 * filter of a convolution, so the K directions are a conv2d with K random unit filters. At
 * full size it sees what the loss network's pooled features blur, a one-pixel dark line
 * between flat glass; at 1/2 and 1/4 (average-pooled, both sides alike) a patch spans a whole
 * cell and its border. Normalised by the spread of the painting's projections, so 1 reads as
 * "off by the painting's whole contrast" (MEASUREMENTS 20).
 */
function patchDistance(output: tf.Tensor4D, painting: tf.Tensor4D, pool: number, seed: number, batchPooled = false): tf.Scalar {
  const filters = tf.tidy(() => {
    const r = tf.randomNormal([PATCH_SIZE * PATCH_SIZE * 3, PATCH_DIRECTIONS], 0, 1, 'float32', seed);
    return tf.reshape(tf.div(r, tf.norm(r, 'euclidean', 0, true)), [PATCH_SIZE, PATCH_SIZE, 3, PATCH_DIRECTIONS]) as tf.Tensor4D;
  });
  const batch = output.shape[0];
  // Every other patch at full size (they overlap by 5 of 7 pixels); every patch when pooled.
  const stride = pool === 1 ? 2 : 1;
  const pooled = pool === 1 ? output : tf.avgPool(output, pool, pool, 'valid');
  const projected = tf.reshape(tf.conv2d(pooled, filters, stride, 'valid'), [-1, PATCH_DIRECTIONS]) as tf.Tensor2D;
  const styleProjected = tf.tidy(() => tf.reshape(tf.conv2d(painting, filters, stride, 'valid'), [-1, PATCH_DIRECTIONS]));
  const spread = tf.tidy(() => Math.max(1e-8, tf.mean(tf.moments(styleProjected, 0).variance).dataSync()[0]!));
  const styleValues = tf.tidy(() => tf.transpose(styleProjected)).dataSync() as Float32Array;
  styleProjected.dispose();
  // Pooled, the batch's patches (image by image in the rows) are one sample.
  return tf.div(projectionDistance(projected, batchPooled ? 1 : batch, styleValues), spread);
}

/**
 * Distance between the luminance distribution of the outputs and the painting's at the crops'
 * scale: the one-dimensional case of projectionDistance, where sorting is the exact optimal
 * transport. The patch term's 147-dimensional random directions each give luminance a small
 * share, and the colour term matches only moments, so neither asks for the painting's share of
 * near-black pixels (the stained glass's lead is a tenth of its pixels; version 8 painted 4%).
 * Normalised by the painting's luminance variance, as the patch term is by its spread.
 */
function toneDistance(output: tf.Tensor4D, painting: ToneTarget, batchPooled: boolean): tf.Scalar {
  const values = tf.reshape(luminance(output), [-1, 1]) as tf.Tensor2D;
  return tf.div(projectionDistance(values, batchPooled ? 1 : output.shape[0], painting.values, true), painting.variance);
}

/**
 * How much the output varies inside the cell seed's cells: the mean squared colour difference
 * of neighbouring pixels that lie in the same seed cell, both at least CELL_INTERIOR of the
 * boundary ramp from its edge and both where `where` (a [N, H, W, 1] mask; absent, everywhere)
 * is true. A seeded network that keeps it low paints one piece of glass per seed cell, so the
 * seed's boundaries (the thin band left free) are where pieces meet and where lead can go
 * without cutting a piece in two (MEASUREMENTS 29b, 31).
 */
export function cellVariation(output: tf.Tensor4D, seed: tf.Tensor4D, where?: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const [, h, w, c] = output.shape;
    const value = tf.slice(seed, [0, 0, 0, 0], [-1, h, w, 1]);
    const interior = tf.greaterEqual(tf.slice(seed, [0, 0, 0, 1], [-1, h, w, 1]), CELL_INTERIOR);
    const inside = where ? tf.logicalAnd(interior, where) : interior;
    const pairs = (dy: number, dx: number) => {
      const a = [0, 0, 0, 0];
      const b = [0, dy, dx, 0];
      const size = [-1, h - dy, w - dx, -1];
      const same = tf.cast(
        tf.logicalAnd(tf.equal(tf.slice(value, a, size), tf.slice(value, b, size)), tf.logicalAnd(tf.slice(inside, a, size), tf.slice(inside, b, size))),
        'float32',
      );
      const difference = tf.sum(tf.squaredDifference(tf.slice(output, a, [-1, h - dy, w - dx, c]), tf.slice(output, b, [-1, h - dy, w - dx, c])), 3, true);
      return { sum: tf.sum(tf.mul(difference, same)), count: tf.sum(same) };
    };
    const across = pairs(0, 1);
    const down = pairs(1, 0);
    return tf.mul(tf.div(tf.add(across.sum, down.sum), tf.add(tf.add(across.count, down.count), 1)), CELL_SCALE) as tf.Scalar;
  });
}

/**
 * Where the 'cells' term applies: where the photo is flat (its mean luminance step under half
 * FLATNESS_EDGE, the content term's flat areas). Charged everywhere, the term also wiped the
 * photo's own outlines inside cells, the face's included (MEASUREMENTS 31).
 */
function flatAreas(photo: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.less(flatnessWeight(photo, photo.shape[1], photo.shape[2], 0), 0.5) as tf.Tensor4D);
}

/**
 * Where the 'lead' term applies: the flat areas (flatAreas' mask) at least LEAD_CLEARANCE px
 * from any of the photo's edges. On flat areas alone a face's skin counted, and the network drew
 * lead across faces (MEASUREMENTS 32); stained glass leads round a face, not through it.
 */
function clearAreas(flat: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const nearEdge = tf.maxPool(tf.cast(tf.logicalNot(flat), 'float32') as tf.Tensor4D, 2 * LEAD_CLEARANCE + 1, 1, 'same');
    return tf.logicalAnd(flat, tf.less(nearEdge, 0.5)) as tf.Tensor4D;
  });
}
const LEAD_CLEARANCE = 24;

/** Seed boundary channel (0 on a boundary, 1 a quarter cell inside) above which a pixel is a cell's interior. */
const CELL_INTERIOR = 0.25;
const CELL_SCALE = 100;

/**
 * How far the seed's boundaries are from lead: the mean squared excess of the output's
 * luminance over `level` on the band where the seed's boundary channel is under LEAD_BAND
 * (about 1.5 px either side of a boundary at 40 px cells), only where `where` (a [N, H, W, 1]
 * mask; absent, everywhere) is true. The cells term leaves that band free and the style term
 * wants lead where pieces meet (MEASUREMENTS 31), but tone, content and the pixel patches
 * charge any line drawn there, so a network meets them halfway with navy seams; this term asks
 * for the painting's darkest tone there and only there. A hinge: darker than `level` costs nothing.
 */
export function leadShortfall(output: tf.Tensor4D, seed: tf.Tensor4D, level: number, where?: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const [, h, w] = output.shape;
    const band = tf.less(tf.slice(seed, [0, 0, 0, 1], [-1, h, w, 1]), LEAD_BAND);
    const mask = tf.cast(where ? tf.logicalAnd(band, where) : band, 'float32');
    const excess = tf.relu(tf.sub(luminance(output), level));
    return tf.mul(tf.div(tf.sum(tf.mul(tf.square(excess), mask)), tf.add(tf.sum(mask), 1)), LEAD_SCALE) as tf.Scalar;
  });
}

/** The seed boundary channel under which a pixel is on the lead band. */
const LEAD_BAND = 0.15;
const LEAD_SCALE = 10;
/** The painting's luminance quantile taken as its lead's tone (the stained glass's lead is a tenth of its pixels). */
const LEAD_QUANTILE = 0.05;

/** The painting's side of the 'tone' term: its luminance values at the crops' scale, sorted once, and their variance. */
interface ToneTarget {
  values: Float32Array;
  variance: number;
}

/** Pixel patches of the patch term: 7 px sees a lead line and the glass either side of it. */
const PATCH_SIZE = 7;
const PATCH_DIRECTIONS = 64;
/** Average-pooling factors of the patch term's pyramid (StyleLossOptions.patchPools). */
export const DEFAULT_PATCH_POOLS = [1];

/**
 * The loss network layer whose 3x3 feature patches the 'mrf' term matches: InceptionV3's mixed0
 * (stride 8), where a patch spans a stained-glass cell with its border at style scale 4 (the
 * random network's last layer, also stride 8).
 */
export const MRF_LAYER = 3;
/** At most this many painting patches are kept (a sparser grid of them past it): the matching conv's cost. */
const MRF_MAX_PATCHES = 4096;

/** Every 3x3 patch of a feature map [1, H, W, C] at `stride`, as rows [M, 9C] in (dy, dx, c) order. */
function featurePatches(f: tf.Tensor4D, stride: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [, height, width, channels] = f.shape;
    const parts: tf.Tensor2D[] = [];
    for (let dy = 0; dy < 3; dy++) {
      for (let dx = 0; dx < 3; dx++) {
        const shifted = tf.slice(f, [0, dy, dx, 0], [1, height - 2, width - 2, channels]);
        const sampled = stride > 1 ? tf.stridedSlice(shifted, [0, 0, 0, 0], [1, height - 2, width - 2, channels], [1, stride, stride, 1]) : shifted;
        parts.push(tf.reshape(sampled, [-1, channels]));
      }
    }
    return tf.concat(parts, 1);
  });
}

/**
 * The painting's side of the 'mrf' term: its 3x3 feature patches as rows, and the same patches
 * scaled to unit length as conv filters [3, 3, C, M], so one conv2d scores every output patch
 * against every painting patch (normalised cross-correlation, up to the output patch's norm).
 */
interface MrfTarget {
  patches: tf.Tensor2D;
  filters: tf.Tensor4D;
  /** Mean squared norm of a painting patch: the term reads 1 at "off by a whole patch". */
  energy: number;
}

function mrfTarget(f: tf.Tensor4D): MrfTarget {
  const [, height, width] = f.shape;
  const count = (height - 2) * (width - 2);
  const stride = Math.max(1, Math.ceil(Math.sqrt(count / MRF_MAX_PATCHES)));
  const patches = featurePatches(f, stride);
  const channels = f.shape[3];
  return tf.tidy(() => {
    const norms = tf.norm(patches, 'euclidean', 1, true);
    const filters = tf.reshape(tf.transpose(tf.div(patches, tf.add(norms, 1e-8))), [3, 3, channels, patches.shape[0]]) as tf.Tensor4D;
    const energy = tf.mean(tf.sum(tf.square(patches), 1)).dataSync()[0]!;
    return { patches: tf.keep(patches), filters: tf.keep(filters), energy: Math.max(energy, 1e-8) };
  });
}

/**
 * Feature-patch matching (Li and Wand, "Combining Markov Random Fields and Convolutional Neural
 * Networks for Image Synthesis", CVPR 2016): each 3x3 patch of the output's features is pulled
 * towards the painting patch most like it (normalised cross-correlation). Statistics (Gram,
 * sliced) accept any arrangement with the right feature mix; a nearest-neighbour match asks each
 * neighbourhood to be one the painting has, which is what a cell inside its lead lines is.
 * The match itself carries no gradient: it is taken on a detached copy of the features.
 */
function mrfDistance(f: tf.Tensor4D, target: MrfTarget): tf.Scalar {
  const [batch, height, width, channels] = f.shape;
  if (height < 3 || width < 3) return tf.scalar(0);
  const nearest = tf.tidy(() => {
    const detached = tf.tensor4d(f.dataSync() as Float32Array, f.shape);
    return tf.reshape(tf.argMax(tf.conv2d(detached, target.filters, 1, 'valid'), 3), [-1]) as tf.Tensor1D;
  });
  const wanted = tf.reshape(tf.gather(target.patches, nearest), [batch, height - 2, width - 2, 9 * channels]);
  nearest.dispose();
  const parts: tf.Tensor[] = [];
  for (let dy = 0; dy < 3; dy++) {
    for (let dx = 0; dx < 3; dx++) {
      const got = tf.slice(f, [0, dy, dx, 0], [batch, height - 2, width - 2, channels]);
      const part = tf.slice(wanted, [0, 0, 0, (dy * 3 + dx) * channels], [batch, height - 2, width - 2, channels]);
      parts.push(tf.sum(tf.squaredDifference(got, part)));
    }
  }
  return tf.div(tf.addN(parts), batch * (height - 2) * (width - 2) * target.energy) as tf.Scalar;
}

function resizeTo(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  return tf.image.resizeBilinear(x, [Math.max(8, Math.round(height)), Math.max(8, Math.round(width))], true);
}

/**
 * Per-image RGB statistics: channel means, standard deviations and the correlations between
 * channels. Means and deviations alone let a net paint a grey-beige style as pink and green
 * patches that average out (see MEASUREMENTS 6); the correlations pin the hues.
 */
function channelStats(x: tf.Tensor4D): { mean: tf.Tensor; std: tf.Tensor; correlation: tf.Tensor } {
  const { mean, variance } = tf.moments(x, [1, 2], true);
  const std = tf.sqrt(tf.add(variance, 1e-6));
  const [batch, height, width] = x.shape;
  const standardised = tf.reshape(tf.div(tf.sub(x, mean), std), [batch, height * width, 3]);
  const correlation = tf.div(tf.matMul(standardised, standardised, true, false), height * width);
  return { mean: tf.reshape(mean, [batch, 3]), std: tf.reshape(std, [batch, 3]), correlation };
}

/** Rec. 601 luminance of NHWC RGB, one channel [N, H, W, 1]. */
function luminance(x: tf.Tensor4D): tf.Tensor4D {
  return tf.sum(tf.mul(x, tf.tensor1d([0.299, 0.587, 0.114])), 3, true);
}

/** Luminance gradients of a 2x-downsampled image: structure without texture detail. */
function luminanceEdges(x: tf.Tensor4D): tf.Tensor1D {
  const small = tf.avgPool(luminance(x), 2, 2, 'valid');
  const [, h, w] = small.shape;
  const dx = tf.sub(tf.slice(small, [0, 0, 1, 0], [-1, h, w - 1, 1]), tf.slice(small, [0, 0, 0, 0], [-1, h, w - 1, 1]));
  const dy = tf.sub(tf.slice(small, [0, 1, 0, 0], [-1, h - 1, w, 1]), tf.slice(small, [0, 0, 0, 0], [-1, h - 1, w, 1]));
  return tf.concat([tf.reshape(dx, [-1]), tf.reshape(dy, [-1])]) as tf.Tensor1D;
}

/**
 * Mean absolute luminance step between neighbouring pixels (x plus y, [0, 1] units, averaged
 * over FLATNESS_WINDOW px) at which flatnessWeight reaches 1. At 0.02 four in five positions of
 * the training crops counted as edges, skies beside towers included; at 0.06 about half do, and
 * skies, blurred backgrounds and still water fall under a fifth of the weight (MEASUREMENTS 28).
 */
export const FLATNESS_EDGE = 0.06;
/** Side in pixels of the window the luminance steps are averaged over: about a cell of the stained glass. */
export const FLATNESS_WINDOW = 16;

/**
 * Per-position weights [N, height, width, 1] for a photo's content term: `floor` where the
 * photo is flat, rising linearly with the photo's mean luminance step over a FLATNESS_WINDOW px
 * window to 1 at FLATNESS_EDGE. Computed from the photo alone, so it carries no gradient.
 */
export function flatnessWeight(photo: tf.Tensor4D, height: number, width: number, floor: number): tf.Tensor4D {
  return tf.tidy(() => {
    const lum = luminance(photo);
    const [, h, w] = lum.shape;
    const dx = tf.abs(tf.sub(tf.slice(lum, [0, 0, 1, 0], [-1, h - 1, w - 1, 1]), tf.slice(lum, [0, 0, 0, 0], [-1, h - 1, w - 1, 1])));
    const dy = tf.abs(tf.sub(tf.slice(lum, [0, 1, 0, 0], [-1, h - 1, w - 1, 1]), tf.slice(lum, [0, 0, 0, 0], [-1, h - 1, w - 1, 1])));
    const step = tf.avgPool(tf.add(dx, dy) as tf.Tensor4D, FLATNESS_WINDOW, 1, 'same');
    const atFeatures = tf.image.resizeBilinear(step, [height, width], true);
    return tf.clipByValue(tf.add(tf.mul(atFeatures, (1 - floor) / FLATNESS_EDGE), floor), floor, 1) as tf.Tensor4D;
  });
}

/** Luminance replicated to three channels, so the feature network sees a grey image. */
function luminanceRgb(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tile(luminance(x), [1, 1, 1, 3]);
}

function totalVariation(x: tf.Tensor4D): tf.Scalar {
  const [, h, w, c] = x.shape;
  const dx = tf.sub(tf.slice(x, [0, 0, 1, 0], [-1, h, w - 1, c]), tf.slice(x, [0, 0, 0, 0], [-1, h, w - 1, c]));
  const dy = tf.sub(tf.slice(x, [0, 1, 0, 0], [-1, h - 1, w, c]), tf.slice(x, [0, 0, 0, 0], [-1, h - 1, w, c]));
  return tf.add(tf.mean(tf.square(dx)), tf.mean(tf.square(dy)));
}

/**
 * Pure colours (some channel near 1 and another near 0: saturated blue, magenta, yellow...),
 * per pixel: (-log(1 - max) - a)+ * (-log(min) - a)+ with a = -log(0.2), zero unless the
 * brightest channel passes 0.8 and the darkest falls under 0.2, and zero for black and white.
 * Logarithms because the network's output is a sigmoid: the penalty's gradient with respect to
 * the logits stays finite as a channel saturates, where any smooth function of the output
 * alone would lose it (MEASUREMENTS 16).
 */
export function pureColourPenalty(x: tf.Tensor4D): tf.Scalar {
  const onset = Math.log(5);
  // Floored, not offset: images optimised directly (not through a sigmoid) leave [0, 1].
  const high = tf.relu(tf.sub(tf.neg(tf.log(tf.maximum(tf.sub(1, tf.max(x, 3)), 1e-4))), onset));
  const low = tf.relu(tf.sub(tf.neg(tf.log(tf.maximum(tf.min(x, 3), 1e-4))), onset));
  return tf.mean(tf.mul(high, low));
}

interface ColourLine {
  mean: [number, number, number];
  axis: [number, number, number];
  /** Colour variance along the axis and off it. */
  along: number;
  off: number;
}

/** An image's main colour axis: the first principal axis of its pixels' RGB covariance (batch of 1). */
export function colourAxis(image: tf.Tensor4D): ColourLine {
  const { mean, std, correlation } = tf.tidy(() => channelStats(image));
  const line = principalColourAxis(mean.dataSync(), std.dataSync(), correlation.dataSync());
  tf.dispose([mean, std, correlation]);
  return line;
}

/**
 * The first principal axis from channelStats' numbers (the covariance is the correlation
 * scaled by the deviations), and how much of the variance lies off it. Power iteration on the
 * 3x3 covariance: a linear algebra dependency would be more code than these few lines.
 */
function principalColourAxis(mean: ArrayLike<number>, std: ArrayLike<number>, correlation: ArrayLike<number>): ColourLine {
  const cov = Array.from({ length: 9 }, (_, i) => correlation[i]! * std[Math.floor(i / 3)]! * std[i % 3]!);
  const times = (v: readonly number[]) => [0, 1, 2].map((r) => cov[r * 3]! * v[0]! + cov[r * 3 + 1]! * v[1]! + cov[r * 3 + 2]! * v[2]!);
  let axis: [number, number, number] = [1, 1, 1];
  for (let iteration = 0; iteration < 100; iteration++) {
    const next = times(axis);
    const norm = Math.hypot(...next) || 1;
    axis = [next[0]! / norm, next[1]! / norm, next[2]! / norm];
  }
  const along = times(axis).reduce((sum, v, r) => sum + v * axis[r]!, 0);
  return { mean: [mean[0]!, mean[1]!, mean[2]!], axis, along, off: Math.max(0, cov[0]! + cov[4]! + cov[8]! - along) };
}

/**
 * Mean squared distance of the pixels from a colour line (a point and a unit RGB axis): the
 * chroma a near-monochrome painting (a sepia drawing) does not have, such as pink and green
 * fringes that average back to its beige, or a grey cast over the whole image.
 */
export function colourLineDistance(x: tf.Tensor4D, point: tf.Tensor1D, axis: tf.Tensor1D): tf.Scalar {
  const deviation = tf.sub(x, point);
  const along = tf.sum(tf.mul(deviation, axis), 3, true);
  return tf.mean(tf.sum(tf.square(tf.sub(deviation, tf.mul(along, axis))), 3));
}

export class StyleLoss {
  readonly weights: LossWeights;
  readonly scales: number[];
  readonly contentLayer: number;
  readonly statistic: StyleStatistic;
  readonly contentOnLuminance: boolean;
  readonly flatContent: number;
  readonly margin: number;
  readonly featureTransform: FeatureTransform;
  readonly phaseJitter: number;
  readonly styleLayers: ReadonlySet<number> | undefined;
  readonly slicedLayers: ReadonlySet<number> | undefined;
  readonly styleLayerWeights: readonly number[] | undefined;
  readonly stylePooling: StylePooling;
  private calls = 0;
  private slices = 0;
  private readonly network: FeatureNetwork;
  private readonly targets: ScaleTarget[];
  private readonly styleMean: tf.Tensor;
  private readonly styleStd: tf.Tensor;
  private readonly styleCorrelation: tf.Tensor;
  readonly patchPools: readonly number[];
  /** The painting at the crops' scale, pooled by each of patchPools (only when the term is weighted). */
  private readonly patchPaintings: tf.Tensor4D[];
  private patchCalls = 0;
  /** The painting's feature patches for the 'mrf' term (only when it is weighted). */
  private readonly mrf: MrfTarget | undefined;
  /** The painting's luminance for the 'tone' term (only when it is weighted). */
  private readonly tone: ToneTarget | undefined;
  /** The luminance the 'lead' term asks for on the seed's boundaries: the painting's LEAD_QUANTILE. */
  readonly leadLevel: number;
  /** Whether the colour term penalises pure colours: only when the painting has (almost) none. */
  readonly penalisesPureColours: boolean;
  /** A near-monochrome painting's colour line (point and unit axis) and its own variance off it, which costs nothing. */
  private readonly monochromeLine: { point: tf.Tensor1D; axis: tf.Tensor1D; off: number } | undefined;

  constructor(options: StyleLossOptions) {
    this.weights = { ...DEFAULT_LOSS_WEIGHTS, ...options.weights };
    const inception = options.network === 'inception';
    // InceptionV3's layers already span receptive fields of 3 to ~100 px, so one scale
    // suffices there; the random network's 31 px needed a second, half-size pass.
    this.scales = options.scales ?? (inception ? [1] : [1, 0.5]);
    this.contentLayer = options.contentLayer ?? (inception ? 2 : 1);
    this.statistic = options.statistic ?? 'covariance';
    this.contentOnLuminance = options.contentOnLuminance ?? true;
    this.flatContent = options.flatContent ?? 1;
    if (!(this.flatContent >= 0 && this.flatContent <= 1)) throw new Error(`flatContent must be in [0, 1], got ${this.flatContent}`);
    this.margin = options.margin ?? 0;
    if (!(Number.isInteger(this.margin) && this.margin >= 0 && this.margin < options.imageSize)) throw new Error(`margin must be a whole number of pixels below the crop size ${options.imageSize}, got ${this.margin}`);
    this.featureTransform = options.featureTransform ?? 'raw';
    this.phaseJitter = options.phaseJitter ?? 0;
    this.styleLayers = options.styleLayers ? new Set(options.styleLayers) : undefined;
    this.slicedLayers = this.statistic === 'sliced' && options.slicedLayers ? new Set(options.slicedLayers) : undefined;
    this.styleLayerWeights = options.styleLayerWeights;
    this.stylePooling = options.stylePooling ?? 'image';
    this.network = createLossNetwork(options.network ?? 'random', options.seed ?? TRAINING_LOSS_SEED, options.deepLayers);
    const styleScale = options.styleScale ?? 1;
    const style4d = (options.styleImage.rank === 3 ? tf.expandDims(options.styleImage, 0) : options.styleImage) as tf.Tensor4D;
    const [, sh, sw] = style4d.shape;
    // Same pixel count as a training crop (times styleScale^2), keeping the aspect ratio.
    const base = (options.imageSize * styleScale) / Math.sqrt(sh * sw);
    this.targets = this.scales.map((scale) =>
      tf.tidy(() => {
        const resized = resizeTo(style4d, sh * base * scale, sw * base * scale);
        // Pooled, the painting is seen as the outputs are: cut into crops of their size, each
        // through the network on its own (the deep layers' zero padding at a crop's edges is
        // part of every crop's statistics), their maps pooled.
        const seen = this.stylePooling === 'batch' ? paintingCrops(resized, Math.round(options.imageSize * scale)) : resized;
        const layers = this.network.features(seen).map((perCrop, layer) => {
          const f = this.pooled(perCrop);
          const stats = layerStatistics(transformFeatures(f, this.featureTransform), this.statisticOf(layer));
          return { second: tf.keep(stats.second), ...(stats.mean ? { mean: tf.keep(stats.mean) } : {}) };
        });
        const secondNorms = layers.map((l) => 1 / meanOfSquares(l.second));
        const meanNorms = layers.map((l) => (l.mean ? 1 / meanOfSquares(l.mean) : 0));
        return { scale, layers, secondNorms, meanNorms };
      }),
    );
    this.patchPools = options.patchPools ?? DEFAULT_PATCH_POOLS;
    if (!this.patchPools.length || !this.patchPools.every((pool) => Number.isInteger(pool) && pool >= 1)) {
      throw new Error(`patch pools ${JSON.stringify(this.patchPools)}: use whole pooling factors from 1, e.g. 1,2,4`);
    }
    // The painting at the crops' scale: its colour statistics, and the patch term's pyramid.
    const atCropScale = resizeTo(style4d, sh * base, sw * base);
    const stats = tf.tidy(() => {
      const { mean, std, correlation } = channelStats(atCropScale);
      return { mean: tf.keep(mean), std: tf.keep(std), correlation: tf.keep(correlation) };
    });
    this.styleMean = stats.mean;
    this.styleStd = stats.std;
    this.styleCorrelation = stats.correlation;
    this.patchPaintings =
      this.weights.patches > 0 ? this.patchPools.map((pool) => (pool === 1 ? tf.clone(atCropScale) : tf.avgPool(atCropScale, pool, pool, 'valid'))) : [];
    if (this.weights.mrf > 0) {
      const features = this.network.features(atCropScale, MRF_LAYER + 1);
      this.mrf = mrfTarget(features[MRF_LAYER]!);
      tf.dispose(features);
    }
    const sortedLuminance = tf.tidy(() => Float32Array.from(luminance(atCropScale).dataSync()).sort());
    if (this.weights.tone > 0) {
      this.tone = tf.tidy(() => ({ values: sortedLuminance, variance: Math.max(1e-8, tf.moments(tf.tensor1d(sortedLuminance)).variance.dataSync()[0]!) }));
    }
    this.leadLevel = sortedLuminance[Math.floor(LEAD_QUANTILE * (sortedLuminance.length - 1))]!;
    const line = principalColourAxis(this.styleMean.dataSync(), this.styleStd.dataSync(), this.styleCorrelation.dataSync());
    this.monochromeLine =
      Math.sqrt(line.off / Math.max(line.along, 1e-8)) < MONOCHROME_OFF_AXIS_RATIO ? { point: tf.tensor1d(line.mean), axis: tf.tensor1d(line.axis), off: line.off } : undefined;
    atCropScale.dispose();
    const [, paintingHeight, paintingWidth] = style4d.shape;
    this.penalisesPureColours = saturatedFraction({ data: style4d.dataSync() as Float32Array, width: paintingWidth, height: paintingHeight }) < PURE_COLOUR_PAINTING_SHARE;
    if (style4d !== options.styleImage) style4d.dispose();
  }

  /**
   * Per-term losses for a batch. output: the network's output, photo: its input, both NHWC
   * in [0, 1] and the same shape. Returns scalars (weighted total and unweighted terms);
   * call inside tf.tidy / an optimiser's minimize.
   */
  /** `seed`: the cell seed the network read (StyleNet.cellSeed), for the 'cells' term; without it that term is 0. */
  terms(output: tf.Tensor4D, photo: tf.Tensor4D, seed?: tf.Tensor4D): Record<LossTerm | 'total', tf.Scalar> {
    if (this.phaseJitter > 1) {
      const period = this.phaseJitter;
      // A stride coprime with period^2 visits every offset once per cycle, in scrambled order.
      const phase = (this.calls++ * 37) % (period * period);
      const [, fullH, fullW] = output.shape;
      const begin = [0, Math.floor(phase / period), phase % period, 0];
      const size = [-1, fullH - period + 1, fullW - period + 1, -1];
      output = tf.slice(output, begin, size);
      photo = tf.slice(photo, begin, size);
      if (seed) seed = tf.slice(seed, begin, size);
    }
    // What the loss network sees (StyleLossOptions.margin); the pixel-level terms below read the output itself.
    const frame = (x: tf.Tensor4D): tf.Tensor4D => (this.margin > 0 ? tf.mirrorPad(x, [[0, 0], [this.margin, this.margin], [this.margin, this.margin], [0, 0]], 'reflect') : x);
    const framed = frame(output);
    const framedPhoto = frame(photo);
    const [, h, w] = framed.shape;
    const styleParts: tf.Scalar[] = [];
    let outputFeatures: tf.Tensor4D[] = [];
    for (const target of this.targets) {
      const scaled = target.scale === 1 ? framed : resizeTo(framed, h * target.scale, w * target.scale);
      const feats = this.network.features(scaled);
      if (target.scale === 1) outputFeatures = feats;
      const matched = this.styleLayers ? this.styleLayers.size : feats.length;
      const baseShare = 1 / (matched * this.targets.length);
      // One set of directions per call and layer, shared by every image of the batch.
      const slice = this.statistic === 'sliced' ? this.slices++ : 0;
      feats.forEach((perImage, layer) => {
        if (this.styleLayers && !this.styleLayers.has(layer)) return;
        const f = this.pooled(perImage);
        const wanted = target.layers[layer]!;
        const share = baseShare * (this.styleLayerWeights?.[layer] ?? 1);
        const statistic = this.statisticOf(layer);
        if (statistic === 'sliced') {
          const c = f.shape[3];
          const directions = tf.tidy(() => {
            const r = tf.randomNormal([c, c], 0, 1, 'float32', slice * 131 + layer);
            return tf.div(r, tf.norm(r, 'euclidean', 0, true)) as tf.Tensor2D;
          });
          styleParts.push(tf.mul(slicedDistance(transformFeatures(f, this.featureTransform), wanted.second, directions), target.secondNorms[layer]! * share));
          return;
        }
        const got = layerStatistics(transformFeatures(f, this.featureTransform), statistic);
        styleParts.push(tf.mul(tf.mean(tf.squaredDifference(got.second, wanted.second)), target.secondNorms[layer]! * share));
        if (got.mean && wanted.mean) {
          styleParts.push(tf.mul(tf.mean(tf.squaredDifference(got.mean, wanted.mean)), target.meanNorms[layer]! * share));
        }
      });
    }
    const style = tf.addN(styleParts) as tf.Scalar;

    if (outputFeatures.length === 0) outputFeatures = this.network.features(framed);
    // Content compares structure, not colour: on luminance images when contentOnLuminance
    // (the style is expected to repaint colours; see MEASUREMENTS).
    const contentView = (x: tf.Tensor4D) => (this.contentOnLuminance ? luminanceRgb(x) : x);
    const photoFeature = tf.tidy(() => this.network.features(contentView(framedPhoto), this.contentLayer + 1)[this.contentLayer]!);
    const outFeature = this.contentOnLuminance
      ? this.network.features(contentView(framed), this.contentLayer + 1)[this.contentLayer]!
      : outputFeatures[this.contentLayer]!;
    const [, featureH, featureW] = photoFeature.shape;
    const difference = tf.squaredDifference(outFeature, photoFeature);
    const weighted = this.flatContent < 1 ? tf.mul(difference, flatnessWeight(framedPhoto, featureH, featureW, this.flatContent)) : difference;
    const content = tf.div(tf.mean(weighted), tf.add(tf.mean(tf.square(photoFeature)), 1e-8));

    const stats = channelStats(this.pooled(output));
    const moments = tf.mul(
      tf.addN([
        tf.mean(tf.squaredDifference(stats.mean, this.styleMean)),
        tf.mean(tf.squaredDifference(stats.std, this.styleStd)),
        tf.mul(tf.mean(tf.squaredDifference(stats.correlation, this.styleCorrelation)), CORRELATION_SCALE),
      ]),
      COLOUR_SCALE,
    );
    const colourParts = [moments];
    if (this.penalisesPureColours) colourParts.push(tf.mul(pureColourPenalty(output), PURE_COLOUR_SCALE));
    if (this.monochromeLine) {
      const { point, axis, off } = this.monochromeLine;
      colourParts.push(tf.mul(tf.relu(tf.sub(colourLineDistance(output, point, axis), off)), OFF_AXIS_SCALE));
    }
    const colour = colourParts.length === 1 ? moments : tf.addN(colourParts);

    const edges =
      this.weights.edges > 0
        ? tf.mul(tf.mean(tf.squaredDifference(luminanceEdges(output), luminanceEdges(photo))), EDGE_SCALE)
        : tf.scalar(0);
    // Plain pixel MSE to the photo: only for warm starts (learning the identity), off by default.
    const pixel = this.weights.pixel > 0 ? tf.mul(tf.mean(tf.squaredDifference(output, photo)), PIXEL_SCALE) : tf.scalar(0);
    const tv = tf.mul(totalVariation(output), TV_SCALE);
    const patchCall = this.patchCalls++;
    const patches = this.patchPaintings.length
      ? tf.div(tf.addN(this.patchPaintings.map((painting, i) => patchDistance(output, painting, this.patchPools[i]!, 7919 * patchCall + 131 * i + 17, this.stylePooling === 'batch'))), this.patchPaintings.length)
      : tf.scalar(0);
    const mrf = this.mrf ? mrfDistance(outputFeatures[MRF_LAYER]!, this.mrf) : tf.scalar(0);
    const tone = this.tone ? toneDistance(output, this.tone, this.stylePooling === 'batch') : tf.scalar(0);
    const flat = seed && this.readsSeed ? flatAreas(photo) : undefined;
    const cells = seed && flat && this.weights.cells > 0 ? cellVariation(output, seed, flat) : tf.scalar(0);
    const lead = seed && flat && this.weights.lead > 0 ? leadShortfall(output, seed, this.leadLevel, clearAreas(flat)) : tf.scalar(0);

    const weights = this.weights;
    const total = tf.addN([
      tf.mul(style, weights.style),
      tf.mul(content, weights.content),
      tf.mul(colour, weights.colour),
      tf.mul(edges, weights.edges),
      tf.mul(pixel, weights.pixel),
      tf.mul(tv, weights.tv),
      tf.mul(patches, weights.patches),
      tf.mul(mrf, weights.mrf),
      tf.mul(tone, weights.tone),
      tf.mul(cells, weights.cells),
      tf.mul(lead, weights.lead),
    ]) as tf.Scalar;
    return {
      total,
      style,
      content: content as tf.Scalar,
      colour: colour as tf.Scalar,
      edges: edges as tf.Scalar,
      pixel: pixel as tf.Scalar,
      tv: tv as tf.Scalar,
      patches: patches as tf.Scalar,
      mrf,
      tone,
      cells,
      lead,
    };
  }

  /**
   * With stylePooling 'batch', the batch's maps stacked into one tall map, so the statistics
   * taken of it (means, covariances, sorted projections) cover all the batch's positions at once.
   */
  private pooled(x: tf.Tensor4D): tf.Tensor4D {
    const [batch, height, width, channels] = x.shape;
    return this.stylePooling === 'batch' && batch > 1 ? tf.reshape(x, [1, batch * height, width, channels]) : x;
  }

  /** The statistic matched at one feature layer (slicedLayers mixes sliced and covariance). */
  statisticOf(layer: number): StyleStatistic {
    if (this.slicedLayers && !this.slicedLayers.has(layer)) return 'covariance';
    return this.statistic;
  }

  /** Whether a weighted term ('cells', 'lead') reads the cell seed the network was fed: terms() then needs it. */
  get readsSeed(): boolean {
    return this.weights.cells > 0 || this.weights.lead > 0;
  }

  /** Whether the colour term charges colour off the painting's one colour line: only when it is near-monochrome. */
  get chargesOffAxisColour(): boolean {
    return this.monochromeLine !== undefined;
  }

  /** Numbers for logs / progress: evaluates terms() and reads them back. */
  values(output: tf.Tensor4D, photo: tf.Tensor4D, seed?: tf.Tensor4D): LossValues {
    return tf.tidy(() => {
      const t = this.terms(output, photo, seed);
      return lossValues((term) => t[term].dataSync()[0]!);
    });
  }

  dispose(): void {
    for (const t of this.targets) tf.dispose(t.layers.flatMap((l) => (l.mean ? [l.second, l.mean] : [l.second])));
    this.styleMean.dispose();
    this.styleStd.dispose();
    this.styleCorrelation.dispose();
    if (this.monochromeLine) tf.dispose([this.monochromeLine.point, this.monochromeLine.axis]);
    tf.dispose(this.patchPaintings);
    if (this.mrf) tf.dispose([this.mrf.patches, this.mrf.filters]);
    this.network.dispose();
  }
}

/**
 * Fixed scales that bring each raw term to O(1) at the start of training on typical
 * photos, so the weights above read as relative importances (values measured, see below).
 */
const COLOUR_SCALE = 20;
/** A pixel at 0.99 / 0.01 costs (4.6 - 1.6)^2 = 9 before this scale (pureColourPenalty). */
const PURE_COLOUR_SCALE = 20;
/** Paintings with more pure-colour pixels than this keep them in their style (no penalty). */
const PURE_COLOUR_PAINTING_SHARE = 0.001;
/**
 * A painting is near-monochrome when the spread of its colours off their main axis is under
 * this share of the spread along it: hatch's sepia drawing 0.012; every other starter 0.22 or
 * more (MEASUREMENTS 25).
 */
const MONOCHROME_OFF_AXIS_RATIO = 0.05;
/** hatch v4's fringes (off-axis deviations of 0.06) cost 0.74 before the colour weight. */
const OFF_AXIS_SCALE = 100;
/** Correlations live in [-1, 1], far above squared colour means; this brings them level. */
const CORRELATION_SCALE = 0.05;
const EDGE_SCALE = 200;
const TV_SCALE = 20;
const PIXEL_SCALE = 10;

/*
 * MEASUREMENTS (2-core machine, WASM backend; "judge" = styleDistance of eval/scores.ts
 * under a feature network of another seed (424242), mean over 5 held-out gallery photos at
 * 256x256, 0 = perfect; "SSIM" = contentStructure vs the photo, 1 = identical structure).
 * Reference points: the photo itself judge 0.917 / SSIM 1.000; Reinhard colour transfer
 * 1.118 / 0.883 (for the swirl style).
 *
 * 1. Optimisation proxy (optimise a 256px image with Adam 0.02 against the loss; Elephants
 *    onto Aqua and GreenMeadow, Gram statistic, weights style 1, content 1, colour 1, tv 0.1):
 *    150 steps take style 5.17 -> 0.025 and content 0 -> 0.17; the result takes the
 *    painting's palette and some texture. The loss is viable.
 * 2. Gram vs mean+covariance (proxy, swirl onto Aqua, 100 steps): the raw Gram of ReLU
 *    features is dominated by the mean outer product, so matching it mostly matches mean
 *    colour (smooth output); separate mean and covariance terms give visibly more stroke
 *    texture and colour variety. -> default statistic 'covariance'.
 * 3. Feed-forward STARTER nets, swirl style, judge / SSIM:
 *      Gram, style 3, 192px batch 2, lr 2e-3, 800 steps        0.371 / 0.577  palette, blobs, no strokes
 *      covariance, style 3, 128px batch 4, lr 3e-3, 200 steps  0.320 / 0.279  stroke ripples, content lost
 *      covariance, style 1, same                               0.309 / 0.312
 *      covariance, style 1, content on LUMINANCE, same         0.281 / 0.477  better on both axes
      ... the same run continued (resumed) to 500 steps       0.207 / 0.531  stroke texture appears
 *    Content on colour features fights the recolouring the style asks for (a blue-tinted
 *    photo already scores content ~0.8, as bad as an unrelated image); on luminance it
 *    keeps structure and leaves colour to the style. -> contentOnLuminance default true.
 * 4. Identity warm start (pixel + content only, 100 steps) does not converge (pixel MSE
 *    stays ~0.1): instance norm discards each image's channel statistics, so this network
 *    cannot quickly learn the identity. The pixel term stays available, default 0.
 * 5. TV: the paintings' own TV is ~0.24 vs 0.03-0.07 for photos, so TV is kept small
 *    (trained nets sit at 0.01-0.05); it only damps checkerboard noise.
 * 6. Colour correlations (starter set retrain, 600 steps, 128px batch 4, lr 3e-3; gallery of
 *    6 held-out photos at 384px, judge / SSIM): elephants 0.119 / 0.555, mosaic 0.313 /
 *    0.539, swirl 0.334 / 0.529 with means+deviations colour. The nearly monochrome hatch
 *    style came out pink and green (0.333 / 0.446, worse than Reinhard's 0.233); colour
 *    weight 5 drove its colour term from 0.218 to 0.027 and the judge to 0.278, still pink
 *    and green: anti-correlated channel patches averaging to beige. -> the colour term also
 *    matches the RGB correlation matrix (CORRELATION_SCALE): hatch retrained (colour 5) came
 *    out sepia ink on cream, judge 0.176 / SSIM 0.455, better than Reinhard's 0.233.
 *    (elephants, mosaic and swirl were trained just before this term; their palettes
 *    already matched, so they were not retrained.)
 * 7. ImageNet loss network (network 'inception', INCEPTION_LOSS_LAYERS, content at
 *    activation_5, one scale), judged by MobileNetV2 ImageNet layers (eval/judge.ts) on the 6
 *    gallery photos at 384 px; photo / Reinhard reference for elephants 0.535 / 0.377, for
 *    mosaic 0.486 / 0.417. Cost: 1.63-2.1 s per 128px batch-4 step on WASM against 1.9-2.2 s
 *    for the random network's two scales (same run), so the better loss costs no time.
 *    Same recipe as the starters (600 steps, 128 px, batch 4, lr 3e-3, default weights,
 *    21 shipped photos), judge / SSIM, random loss -> inception loss:
 *      elephants 0.617 / 0.555 -> 0.310 / 0.479  (now closer than Reinhard)
 *      mosaic    0.457 / 0.539 -> 0.451 / 0.655  (still behind Reinhard)
 *    By eye: elephants keeps edges and shows blue-grey brush texture instead of a flat wash;
 *    mosaic turns into dense red/green/blue dots with shadows as black blobs, no glass cells
 *    or lead lines yet. Both show a fine dotted grid (stride-2 first conv of InceptionV3) and
 *    dark areas become saturated blobs. Not yet shipped: more steps, larger crops, the
 *    softmax-Gram transform (Wang et al. 2021) and TV weight are the next measurements.
 * 8. Softmax features (featureTransform 'softmax', Wang et al. 2021), measured where the loss
 *    alone decides: per-image optimisation (scripts/ceiling.ts, 150 Adam steps at 256 px,
 *    mosaic, gallery photos 2 and 4, MobileNetV2 judge): raw 0.406 / SSIM 0.783, softmax
 *    0.402 / 0.793. By eye the softmax images keep larger, smoother colour regions and the
 *    photo's outlines; neither paints glass cells or lead lines. A 1% judge difference does
 *    not pay for retuning every weight (the softmax style term is ~50x the raw one on the
 *    same image), so 'raw' stays the default; the option stays for the next loss network.
 * 9. More steps at the starter recipe (mosaic version 2, 600 steps, continued with Adam at
 *    lr 2e-3, same photos; judge / SSIM on the 6 gallery photos at 512 px, Reinhard 0.391):
 *    600 steps 0.389 / 0.666, 900 0.391 / 0.676, 1200 0.396 / 0.704. Past 600 steps the
 *    network keeps more of the photo and no more of the painting: the loss, not the step
 *    count, is what limits this style (the optimised images of 8 show no cells either).
 * 10. The weave: every ImageNet-loss network paints dashes repeating on a diagonal lattice
 *    (lattice vectors of 4-13 px, e.g. (4,4) and (-8,4) on great-wave), measured as
 *    gridStrength (eval/scores.ts): photos 0.21-0.26, the paintings 0.17-0.26, the shipped
 *    versions 0.59-1.33 on gallery photo 2. Phase jitter (phaseJitter 8: the loss sees the
 *    output cropped at each of the 64 offsets in turn, against locking to the mixed layers'
 *    8-px sampling), auvers, judge / SSIM / lattice on the 6 gallery photos at 512 px:
 *      version 1 (600 steps, no jitter)                 0.306 / 0.547 / 0.98
 *      version 1 + 300 steps with jitter (lr 2e-3)       0.298 / 0.543 / 0.75, pink casts in
 *                                                        whites (0.23% pure-colour pixels)
 *      600 steps from scratch with jitter               0.321 / 0.537 / 0.89
 *    By eye the brick-like dashes of version 1 give way to a finer diagonal stipple: the
 *    weave changes shape but stays, so it is not phase locking alone; jitter stays off.
 * 11. Where the weave comes from. Matching style on every layer but activation_1 (the stride-2
 *    stem, styleLayers 1-4), 600 steps from scratch: 0.317 / 0.546 / 1.19, the weave more
 *    regular still. The images optimised against this same loss (scripts/ceiling.ts, no
 *    style network involved) score 0.17-0.55 on the lattice, near the photos and paintings,
 *    where the networks' outputs of the same photos score 0.58-1.31: the loss tolerates the
 *    weave but the style network makes it, tiling quarter-resolution features through its
 *    nearest-neighbour upsampling. The decoder upsampling bilinearly instead
 *    (StyleNetConfig.upsampling, 600 steps from scratch): 0.346 / 0.495 / 0.72: the grid of
 *    dashes gives way to short curved strokes that follow the picture, but the judge and SSIM
 *    both lose and dark areas turn to larger solid green blots (the dogs of photo 1 become
 *    green shapes). Not shipped; the next step is a decoder that keeps fine detail from full
 *    resolution (a skip from enc1) so texture need not come from tiled low-resolution features.
 * 12. That skip (StyleNetConfig.skip: the first conv's full-resolution features added before
 *    the output conv), auvers, 600 steps from scratch, judge / SSIM / lattice at 512 px
 *    (version 1: 0.306 / 0.547 / 0.98; Reinhard 0.370):
 *      skip, nearest upsampling     0.402 / 0.698 / 0.66
 *      skip, bilinear upsampling    0.358 / 0.727 / 0.70
 *    The weave goes (lattice near the bilinear decoder's 0.72) but so does the style: the
 *    skip hands the photo's own detail to the output conv, which keeps it (SSIM up by 0.15-0.18)
 *    and paints less texture; by eye wood grain and window frames come through as embossed
 *    relief, whites turn orange-yellow and the dogs' dark faces become blown-out white blobs.
 *    Both lose to version 1 on the judge (the nearest one is behind Reinhard); not shipped.
 *    What limits the judge is the loss: at 256 px the images optimised against it are no
 *    closer than Reinhard for four of the seven styles (docs/gallery/SCORES.md, the ceiling).
 * 13. What the loss sees, changed where only the loss decides (scripts/ceiling.ts, gallery
 *    photos 2 and 4, 150 Adam steps at 256 px; judge of the optimised images, Reinhard mosaic
 *    0.386, auvers 0.321):
 *                                                        mosaic   auvers
 *      INCEPTION_LOSS_LAYERS at one scale (shipped)       0.406    0.369
 *      the same also on the output at half size           0.412    0.372
 *        (scales 1, 0.5: mixed2 then sees ~200 px)
 *      plus mixed3 and mixed4 (deepLayers, stride 16)     0.405    0.365
 *    By eye the three mosaic images are near copies: jewel-coloured patches over the photo's
 *    shapes, no cells, no lead lines. Neither larger receptive fields nor a coarser view moves
 *    the ceiling: matching second-order statistics (covariances) of these features does not
 *    ask for cells arranged with dark borders, whatever their size. The next loss to measure
 *    here is one that keeps spatial arrangement: patch matching of mid-level features (Li and
 *    Wand 2016) or a sliced-Wasserstein match of full feature distributions (Heitz et al.
 *    2021). deepLayers stays as an option for that work (mixed3/mixed4 parity-tested).
 * 14. The whole feature distribution instead of its covariance (statistic 'sliced': a sliced
 *    Wasserstein distance along as many random directions as the layer has channels, drawn
 *    anew on every call), mosaic at the ceiling as in 13 (covariance: 0.406, SSIM 0.783):
 *      sliced, style weight 1     0.441 / 0.812   (its term is smaller: the photo wins)
 *      sliced, style weight 5     0.418 / 0.821
 *      sliced, style weight 20    0.376 / 0.793   closer than Reinhard (0.386), the first
 *                                                 mosaic ceiling to be, at a higher SSIM
 *    By eye the style-weight-20 images draw dark outlines between the colour patches (the
 *    mountain ridges and the drum's rim become dark contours between jewel-coloured regions):
 *    the first step towards lead lines any measured loss has taken; still no cells of one
 *    colour each. Trained the same way (mosaic, 600 steps from scratch, sliced, style weight
 *    20; 3.3 s per step on one WASM thread against 1.9 for covariance: the sort runs in JS),
 *    judge / SSIM / lattice / pure-colour pixels on the 6 gallery photos at 512 px:
 *      version 2 (covariance)     0.389 / 0.666 / 0.63 / 0.00%
 *      sliced, style weight 20    0.381 / 0.670 / 0.85 / 0.11%
 *    By eye the black blots of version 2 give way to small blue, purple and green fragments
 *    bordered in red-orange, more like broken glass, but the borders are not dark and the
 *    weave is stronger; 2% on the judge does not pay for saturated pixels coming back (the
 *    dark-areas test allows 0.02%), so it is not shipped. Next: the same loss with the
 *    output's dark borders asked for by the colour term, or on a decoder without the weave.
 * 15. Network width on the ImageNet loss (issue: STARTER [16,32,64] against Johnson
 *    [32,64,128]), auvers, 600 steps from scratch, same recipe, judge / SSIM / lattice at 512 px:
 *      STARTER (shipped)   0.306 / 0.547 / 0.98    1 MP through ONNX: 1x
 *      Johnson             0.308 / 0.555 / 0.89    about 2.2x the time (STARTER_CONFIG comment)
 *    Training cost 4.4 s per step against 1.9 (one WASM thread). By eye Johnson paints longer
 *    orange streaks along the slopes and a finer weave, no closer to the painting by the judge.
 *    Four times the multiply-adds buy nothing the judge sees: the starter width stays.
 * 16. The style weight, and sliced distributions on the mixed layers only (slicedLayers [3, 4]:
 *    covariances of the stem's activation_1/3/5, sliced Wasserstein of mixed0 and mixed2). At
 *    the ceiling as in 13 (covariance at weight 1: mosaic 0.406, auvers 0.369; Reinhard 0.386,
 *    0.321), judge / SSIM / pure-colour pixels of the optimised images, photos 2 and 4:
 *      covariance, style weight 20                  mosaic 0.330 / 0.557 / 0.22-0.30%
 *      mixed layers sliced, style weight 20         mosaic 0.316 / 0.612 / 0.02-0.15%
 *                                                   auvers 0.269 / 0.646 / 0.00%
 *    13 and 14 measured at weight 1, where the photo wins: weight is most of the gain, slicing
 *    the mixed layers the rest, at a higher SSIM. By eye the mixed-sliced mosaic images are
 *    cells: rounded patches of one colour each with dark borders over the mountain and the
 *    drum; covariance at weight 20 paints similar patches, noisier inside. Trained (mosaic,
 *    600 steps from scratch, starter recipe), judge / SSIM / lattice / pure-colour pixels on
 *    the gallery's worst photo at 512 px / on the dark-areas photos (which allow 0.02%):
 *      version 2 (covariance, weight 1)             0.389 / 0.666 / 0.63 / 0.00% / 0.000%
 *      mixed sliced, weight 20                      0.366 / 0.321 / 0.33 / 0.01% / 0.010%
 *      mixed sliced, weight 10                      0.353 / 0.375 / 0.70 / 0.35% / 0.525%
 *      mixed sliced, weight 5                       0.346 / 0.527 / 0.68 / 0.25% / 0.164%
 *      weight 1, layer weights 1,1,1,5,5 (300 steps) 0.387 / 0.632 / 0.24 / 0.30% / 0.522%
 *      weight 1, layer weights 1,1,1,10,10 (300)     0.384 / 0.682 / 0.44 / 0.09% / 0.077%
 *      mixed sliced, weight 5, pure colours charged 0.351 / 0.498 / 0.28 / 0.00% / 0.000%
 *    (Reinhard 0.391.) Weight 20 erases the scene; the stem's covariances at weight 1 let the
 *    judge fall back to a colour transfer; at weight 5 the network saturates its sigmoid in
 *    pure yellow, blue and magenta, more the longer it trains (0.020% at 350 steps, 0.164% at
 *    600). The colour term therefore charges pure colours when the painting has none
 *    (pureColourPenalty: a product of -log(1 - max) and -log(min), so its gradient survives
 *    the sigmoid), which removed them at no cost to the judge, and with them the weave. By eye
 *    (mosaic version 3) the mountain becomes teal and green patches bordered in orange-red
 *    under a purple sky, the clouds flat yellow, the drum a ring of pieces: patches with
 *    borders, not yet the painting's even cells with black lead lines. The same loss on
 *    elephants (a muted blue painting) lost: 0.428 against version 2's 0.361 (blurred white
 *    blots with dark rims in the shadows), so it is per style, not a new default. On auvers
 *    it won: 0.306 / 0.547 / 0.98 (version 1) -> 0.229 / 0.409 / 0.78, no pure colours (auvers
 *    version 2: cobalt, ochre, orange and green patches with a stroke texture; at 256 px the
 *    network is even closer than its own optimised images, 0.278 against 0.324). Each run
 *    costs 2.2-2.4 s per step on one WASM thread (two runs side by side) against ~2.0 for
 *    covariance: over the 20 minutes a new style may take at 600 steps, which is one more
 *    reason create-style keeps covariance for now.
 * 17. The mixed-sliced loss of 16 on the other starters (600 steps from scratch, starter recipe,
 *    two runs side by side at 2.07-2.10 s per step), judge / SSIM / lattice at 512 px on the six
 *    gallery photos (pure-colour pixels 0.00% on them and on the dark-areas photos throughout):
 *      great-wave v1 (covariance, weight 1)       0.360 / 0.499 / 0.88   Reinhard 0.418
 *      great-wave sliced, weight 5                0.219 / 0.390 / 0.80   shipped as version 2
 *      hatch v2 (covariance, colour 5, content 3) 0.481 / 0.402 / 1.02   Reinhard 0.551
 *      hatch sliced, weight 5 (colour 5, content 3) 0.319 / 0.301 / 0.98
 *      hatch sliced, weight 3 (colour 5, content 3) 0.411 / 0.394 / 1.02 shipped as version 3
 *      swirl v2 (covariance, weight 1)            0.382 / 0.534 / 1.36   Reinhard 0.445
 *      swirl sliced, weight 5                     0.401 / 0.302 / 0.90
 *      composition-viii v1 (covariance, weight 1) 0.317 / 0.451 / 0.87   Reinhard 0.392
 *      composition-viii sliced, weight 5          0.297 / 0.371 / 0.76
 *      composition-viii sliced, weight 3          0.353 / 0.429 / 0.92
 *      composition-viii sliced, weight 5, content 2 0.287 / 0.465 / 0.50 shipped as version 2
 *      elephants v2 (covariance, weight 1)        0.361 / 0.541 / 0.82   Reinhard 0.376
 *      elephants sliced, weight 2 (400 steps)     0.521 / 0.474 / 1.01
 *      elephants covariance, weight 3 (450 steps) 0.436 / 0.421 / 1.25
 *      elephants covariance, weight 1, style scale 4 (style image at 512 px, the judge's size)
 *                                                 0.437 / 0.573 / 0.98
 *      elephants version 2's recipe, seed 2       0.236 / 0.533 / 0.50   shipped as version 3
 *    By eye great-wave version 2 scatters Prussian-blue dabs with pale rims over the cream
 *    ground, like the print's foam, where version 1 filled dark areas with solid navy; hatch at
 *    weight 5 is the closest pen-and-ink yet but the dogs and the ladybird dissolve into
 *    hatching, at weight 3 they stay and version 2's pink patches mostly go. Swirl at weight 5
 *    turns every edge into dark worm-like strokes with pale rims, further from its painting.
 *    Elephants lost with every heavier or larger style term tried (3 variants, 21-44% worse
 *    than version 2), and then version 2's own recipe at seed 2 came out 35% closer than
 *    version 2 (a pale blue mottle like the painting's layered blues, where seed 1 painted
 *    blue-grey streaks). So the seed alone moves the judge by more than most loss changes
 *    measured here: one run per setting cannot rank settings a few percent apart, and the
 *    losing variants above (swirl, composition-viii at weight 3, elephants) may deserve a
 *    second seed. Composition-viii at weight 5 with content 2 beat version 1 on both the
 *    judge and SSIM (thin dark diagonal lines, navy and red-edged blots on cream).
 * 18. Second and third seeds, and the sliced loss on a painting no starter uses (600 steps from
 *    scratch, starter recipe, two runs side by side at 1.9-2.6 s per step), judge / SSIM /
 *    lattice at 512 px on the six gallery photos (pure-colour pixels 0.00% throughout):
 *      swirl v2 (covariance, seed 1)                0.382 / 0.534 / 1.36   Reinhard 0.445
 *      swirl, the same at seed 2 (and lr 1e-3: 19)  0.291 / 0.459 / 1.12   shipped as version 3
 *      mosaic v3 (sliced, weight 5, seed 1)         0.351 / 0.498 / 0.28   Reinhard 0.391
 *      mosaic, the same at seed 2 (lr 1e-3)         0.353 / 0.598 / 0.81
 *      mosaic, the same at seed 3 (lr 1e-3)         0.353 / 0.625 / 0.74
 *      mosaic, 192 px crops at batch 2 (lr 1e-3)    0.346 / 0.599 / 1.06
 *      hatch v3 (sliced, weight 3, seed 1)          0.411 / 0.394 / 1.02   Reinhard 0.551
 *      hatch, the same at seed 2 (lr 1e-3)          0.420 / 0.380 / 0.97
 *    "Summertime" (Mary Cassatt, 1894; GCompris board 21, 592 x 436), Reinhard 0.412:
 *      covariance, weight 1, lr 1e-3                0.249 / 0.491 / 0.71
 *      the same at lr 3e-3, as a job (2 threads)    0.343 / 0.502 / 0.71   14 min 48 s end to end
 *      sliced, weight 5, as a create-style job      0.323 / 0.394 / 0.77   16 min 21 s end to end
 *    (Correction, found in 19: the runs marked lr 1e-3 left the learning rate at the command
 *    line's default instead of the recipe's 3e-3, so they changed the rate as well as the seed.)
 *    The seed moved swirl by 24% (elephants by 35% in 17) but mosaic and hatch by under 3%:
 *    for those two the loss, not the draw, holds them. By eye swirl version 3 covers the scene
 *    in short blue and periwinkle strokes with orange-yellow flecks, where version 2 was flat
 *    blue with yellow blots; mosaic's seeds and larger crops all paint coloured patches with
 *    red-orange or purple borders (larger, flatter patches at 192 px, with more weave), never
 *    even cells with black lead lines. On Summertime the sliced loss painted white blots (the
 *    painting's ducks) into every dark area of every photo; both covariance runs gave greens,
 *    lavender and white broken strokes over a readable scene, yet scored 0.249 and 0.343: the
 *    job path differs from the command line in its threads, a re-encoded painting and its own
 *    copy of the photos, and any of those moves the draw as a seed does. Between the two sits
 *    the sliced run. With the five starters it won and the two it lost in 16-17 and at a lower
 *    SSIM every time, it stays a per-style choice (style_statistic on a job), not the default.
 * 19. The learning rate, the stained glass at a larger scale, and a portrait. Every run in 18
 *    marked lr 1e-3 had left the learning rate at the command line's default (1e-3) instead of
 *    the recipe's 3e-3. Separated here (600 steps from scratch, starter recipe, one WASM thread
 *    each, two runs side by side; judge / SSIM / lattice at 512 px on the six wallpaper photos):
 *      swirl, covariance, seed 1, lr 3e-3 (version 2)   0.382 / 0.534 / 1.36   Reinhard 0.445
 *      swirl, covariance, seed 1, lr 1e-3               0.304 / 0.464 / 0.96
 *      swirl, covariance, seed 2, lr 1e-3 (version 3)   0.291 / 0.459 / 1.12
 *      Summertime, covariance, lr 3e-3                  0.353 / 0.517 / 0.72   Reinhard 0.412
 *      Summertime, covariance, lr 1e-3                  0.249 / 0.491 / 0.71
 *      Summertime, lr 1e-3, as a create-style job       0.245 / 0.497 / 0.68   (2 threads)
 *      Renoir, "Bal du moulin de la Galette" (GCompris board 1), lr 3e-3  0.266 / 0.496 / 0.70
 *      Renoir, lr 1e-3                                  0.243 / 0.508 / 0.81   Reinhard 0.359
 *      mosaic, sliced weight 5, lr 3e-3 (version 3)     0.351 / 0.498 / 0.28   (seeds 2-3 at
 *                                                       lr 1e-3 in 18: 0.353, 0.353)
 *      elephants, covariance, seed 1: 3e-3 (version 2) 0.361 / 0.541 / 0.82;  1e-3  0.269 / 0.506 / 1.00
 *      elephants, covariance, seed 2: 3e-3 (version 3) 0.236 / 0.533 / 0.50;  1e-3  0.262 / 0.539 / 0.56
 *    So swirl version 3's gain over version 2 was the rate (0.382 -> 0.304), the seed only the
 *    last 4%, and the job path's 0.343 against the command line's 0.249 on Summertime in 18 was
 *    the rate too (the job ran the recipe's 3e-3): the job at 1e-3 scores 0.245. On the
 *    covariance loss at style weight 1, 1e-3 was 9-29% closer on three paintings and elephants
 *    at seed 1, 11% further on elephants at seed 2 (version 3, the lucky draw at 3e-3), at an
 *    SSIM within 0.07; its two elephants seeds landed 3% apart where 3e-3's were 35% apart. On
 *    the sliced loss at weight 5 it was level. create-style (RECOMMENDED_RECIPE) moves
 *    to 1e-3, elephants stays at version 3; the starters keep the 3e-3 they were trained at, recorded in the catalogue. By
 *    eye, at 1e-3 Summertime's greens carry fewer white blots, and Renoir's golden dappled
 *    light spreads more evenly over the scene.
 *    The stained glass (mosaic) once more, at lr 1e-3, judge / SSIM / lattice now on the seven
 *    gallery photos (version 3: 0.349 / 0.496 / 0.29, Reinhard 0.379):
 *      style scale 4 (the painting at 512 px: cells 30-40 px, lead lines 3 px)
 *                                                       0.354 / 0.682 / 0.55
 *      style scale 4, style weight 10                   0.349 / 0.561 / 1.11
 *      style weight 10, content 2                       0.382 / 0.596 / 0.72
 *      covariance, weight 1 (version 2's loss, at 1e-3) 0.375 / 0.668 / 0.79   version 2: 0.386
 *      style scale 4, every layer sliced: 3.6 s per step, stopped at 400 steps
 *    At style scale 4 the network paints large flat patches of coral, teal, purple and yellow
 *    with dark outlines round objects, at a far higher SSIM (the face on the portrait reads
 *    clearly, where version 3 makes it purple and yellow patches), but no closer by the judge;
 *    at weight 10 the patches swallow the scene. No loss setting measured here draws cells
 *    with lead lines independent of the photo's shapes; mosaic stays at version 3.
 *    The gallery gained a seventh, held-out photo: NASA's portrait of Eileen Collins (public
 *    domain, Debian python3-skimage). On it every latest version but mosaic v3 keeps the face
 *    legible, and is 19-54% closer to its painting than Reinhard; mosaic v3 is 11% further
 *    (0.339 against 0.306).
 * 20. A pixel-patch term, for the stained glass (weight 'patches', patchDistance). At style
 *    scale 2 the painting reaches the loss at 296 px wide: its lead lines (about 3 px of 1024)
 *    are half a pixel, and InceptionV3's pooled layers blur what is left. At style scale 4
 *    they are a pixel wide, and the term compares the distributions of the output's and the
 *    painting's 7x7 RGB patches along 64 random directions per step (Elnekave & Weiss, ECCV
 *    2022), where a lead line between two flat cells is a patch of its own. Mosaic, 600 steps
 *    from scratch at lr 1e-3, style scale 4, mixed layers sliced at style weight 5; judge /
 *    SSIM / lattice on the seven gallery photos (version 3: 0.349 / 0.496 / 0.29, Reinhard
 *    0.379; style scale 4 without the term, 19: 0.354 / 0.682 / 0.55):
 *      patches 3                                        0.343 / 0.684 / 0.52
 *      patches 10                  (version 4)          0.328 / 0.595 / 0.54
 *      patches 10, pools 1,2,4                          0.339 / 0.552 / 0.84
 *      patches 30, pools 1,2,4                          0.331 / 0.463 / 0.64
 *      patches 20                                       0.326 / 0.533 / 0.45
 *    Cost per step (one WASM thread, two runs side by side): 2.2 s without the term, 2.8 s with
 *    it, 3.6 s with the 1/2 and 1/4 pyramid, which did not pay (it asks for whole cells, and
 *    gets dotted dark lines round the photo's shapes at a lower SSIM). By eye version 4 paints
 *    flat yellow, red, purple, green and teal regions with dark outlines round objects, and the
 *    portrait's face reads (eyes, smile, hair), where version 3 made it purple and yellow
 *    patches; what it still does not paint is the painting's even cells in areas the photo
 *    leaves flat. On the portrait alone it is 0.323 against Reinhard's 0.306 (version 3: 0.339).
 *    Weight 20 is level with 10 on the judge at a lower SSIM, so version 4 is weight 10; its
 *    ceiling (scripts/ceiling.ts, photos 2 and 4) is 2.56x the optimised images' loss at 1.07x
 *    their judge distance. On an oil painting the term does not help: Summertime (GCompris 21,
 *    the create-style default, covariance, lr 1e-3) with patches 10 scores 0.246 / 0.388 / 0.49
 *    on the six wallpaper photos against 0.249 / 0.491 / 0.71 without, so it stays off by default.
 * 21. Where the stained glass is still far from its painting, and a feature-patch term
 *    (weight 'mrf', mrfDistance: Li and Wand's nearest-neighbour match of 3x3 patches of
 *    mixed0). The judge layer by layer (eval/scores.ts styleDistanceByLayer; JUDGE_LAYERS at
 *    stride 2 / 4 / 8 / 16), mean of the seven gallery photos at 512 px against the painting:
 *                                           stride 2   4      8      16     mean
 *      the photo                            0.262  0.367  0.513  0.654  0.449
 *      Reinhard                             0.155  0.289  0.462  0.609  0.379
 *      mosaic version 4                     0.042  0.260  0.422  0.589  0.328
 *      the painting's own left half         0.025  0.079  0.173  0.211  0.122
 *      the painting blurred (sigma 1.5 px)  0.041  0.237  0.357  0.432  0.267
 *      its cells at half size (tiled)       0.028  0.424  0.350  0.413  0.304
 *      its cells at double size (a crop)    0.097  0.158  0.309  0.397  0.240
 *    Version 4 has the painting's colours (stride 2 is nearly the painting's own) but at
 *    strides 8 and 16 it is barely nearer than Reinhard: those layers see cells inside lead
 *    lines, which any real piece of glass has at any size or blur (0.40-0.43 at stride 16)
 *    and version 4's flat regions with outlines only round the photo's shapes do not (0.59).
 *    The feature-patch term pulls each 3x3 patch of the output's mixed0 features to the
 *    painting patch most like it (normalised cross-correlation; one conv2d with the
 *    painting's unit-length patches as filters, argmax on a detached copy), normalised by the
 *    painting patches' mean squared norm. At the ceiling (photo 2, 150 Adam steps at 256 px,
 *    version 4's loss; Reinhard 0.417) judge / SSIM:
 *      mrf 0 (version 4's loss)        0.393 / 0.664
 *      mrf 2                           0.391 / 0.655
 *      mrf 20                          0.369 / 0.596   speckled glass, small cells in the field
 *      mrf 20, content 0               0.375 / 0.488
 *    Trained (fine-tunes of version 4 at its recipe; judge / SSIM on photos 1, 2, 3, 5 and 7,
 *    by layer; version 4 there 0.334 / 0.567, 0.045 0.264 0.427 0.599):
 *      mrf 20, 400 steps                              0.342 / 0.469   0.042 0.221 0.456 0.647
 *      mrf 20, content 0.5, 400 steps (from the next) 0.331 / 0.402   0.031 0.223 0.432 0.637
 *      content 0.5, 600 steps                         0.327 / 0.497   0.032 0.262 0.421 0.592
 *    On all seven photos (version 4: 0.328 / 0.595): content 0.5 0.322 / 0.521 (0.032 0.258
 *    0.415 0.582), version 4 trained on to 900 steps 0.330 / 0.610, and 300 more steps on
 *    larger crops with the painting at the same pixel scale, 192 px (style scale 2.67, batch
 *    4; 5.2 s a step) 0.331 / 0.633 and 256 px (style scale 2, batch 2; 4.8 s) 0.333 / 0.597,
 *    strides 8 and 16 at 0.42 / 0.60 in every one: seeing two or three times as many cells per
 *    crop does not teach the network to draw them. A 2% gain is within what a second seed
 *    moves (MEASUREMENTS 18), so mosaic stays at version 4. A feed-forward network paints
 *    nothing but flat colour where its input is flat, so cells there need a seed: 300 more
 *    steps with Gaussian pixel noise (sigma 0.05 or 0.15) added to the network's input only,
 *    judged with the same noise on the photos (a temporary patch, not kept), scored 0.333 /
 *    0.602 and 0.333 / 0.576 against version 4's 0.333 / 0.554 on the same noisy photos: a
 *    faint grain in the flat glass, no cells. Pixel noise is 20 times finer than a cell.
 *    Coarse noise (drawn at 1/16 of the size and upsampled bilinearly, so about a cell per
 *    blob; same patch) at sigma 0.1 and 0.25 scored 0.326 / 0.535 and 0.322 / 0.443 against
 *    version 4's 0.325 / 0.537 and 0.326 / 0.449 on the same noisy photos: cell-sized blobs of
 *    the glass colours now fill the flat areas (the sky, the wall, the portrait's background),
 *    but with no lead lines between them, and at 0.25 they cover the face. A seed at a cell's
 *    scale gives the cells' colours; the lines are still to be learned (longer training, or
 *    the seed as a fourth input channel the network can tell from the photo, which export
 *    and serving would carry). By eye the feature-patch fine-tunes scatter a
 *    lattice of dark dots over every region and break the flat glass into speckle, and the
 *    portrait's face dissolves into orange and green patches: the term moves stride 4 towards
 *    the painting and strides 8-16 away from it. It costs at most 0.5 s a step (3.3 s against
 *    2.9 with two runs side by side, a ceiling run beside them part of the time); it stays off
 *    by default and no version uses it: it is there for the next loss that asks for cells.
 * 22. A seed for the cells (StyleNetConfig.seedCell, @nst/style-network seed.mjs): two more
 *    input channels, a Voronoi partition of the plane (one jittered point per grid square of
 *    the spacing), each cell's own value and the distance to its boundary (0 on it, 1 a
 *    quarter of the spacing inside). A pure function of global pixel coordinates: training
 *    reads another window of it each step (train.ts seedOrigin), StyleService feeds every tile
 *    its own window (parity-tested through tiles, the thumbnail-norm graphs and INT8). All
 *    runs fine-tune version 4 (its first conv given zero weights for the seed, so step 0 paints
 *    exactly version 4) at version 4's loss. Judge / SSIM on the seven gallery photos at 512 px
 *    (version 4 0.328 / 0.595; Reinhard 0.379), by layer at strides 2 / 4 / 8 / 16:
 *      seed channels, spacing, steps        judge / SSIM    by layer
 *      version 4                            0.328 / 0.595   0.042 0.260 0.422 0.589
 *      value only, 32 px, 200 (photos 1, 2, 7; version 4 0.331)  0.315 / 0.549
 *      value and boundary, 32 px, 400       0.322 / 0.593   0.048 0.244 0.413 0.584
 *                                   600     0.322 / 0.580   0.039 0.244 0.416 0.588
 *                                   800     0.324 / 0.583   0.058 0.239 0.414 0.586
 *      value and boundary, 40 px, 400       0.317 / 0.569   0.041 0.248 0.405 0.575
 *                                   600     0.315 / 0.584   0.035 0.246 0.406 0.576
 *                                   800     0.321 / 0.602   0.044 0.238 0.415 0.588
 *    Every seeded checkpoint is closer than version 4, by 1-4%, and the gain is where the
 *    judge said version 4 fell short (strides 8 and 16, 0.01-0.015 nearer). Choosing among
 *    them on the gallery is checked on four other held-out photos the choice never saw
 *    (scikit-image's cat, coffee, rocket and motorcycle; scripts/judge-weights.ts --files):
 *    version 4 0.328 (Reinhard 0.329 there), 40 px at 400 / 600 / 800 steps 0.318 / 0.314 /
 *    0.321, 32 px 0.322 / 0.321 / 0.322, nearly the same order. By eye the flat areas (the sky, the
 *    wall, the portrait's background and suit, the drum's skin) fill with cell-sized patches
 *    of the glass colours, some with dark rims (the astronaut's helmet becomes red cells
 *    in dark lines), where version 4 painted one flat colour; the patches are rounded rather
 *    than the painting's polygons and most have no lead line; faces stay faces. 40 px (the
 *    painting's cells are 35-45 px at the scale it trains at) beats 32 at every checkpoint.
 *    Version 5 is 40 px at 600 steps (400, then 200 more from it): 0.315 / 0.584, the portrait
 *    0.306 (Reinhard 0.306, version 4 0.323), the face still a face. The
 *    same run at training seed 2 (other photos and crops in another order): at 450 steps
 *    0.316 / 0.557 (by layer 0.036 0.239 0.406 0.581) on the gallery and 0.314 on the four
 *    other photos, at 600 steps 0.323 / 0.586 and 0.323. So the gain holds across seeds, but
 *    checkpoints of one run wander between 0.315 and 0.323 (the mean of the five 40 px
 *    checkpoints judged, both seeds, 0.318, is 3% closer than version 4), and version 5 is
 *    from the good end of that range, on both photo sets. Re-running the 200
 *    steps from the 400-step weights gave version 5's weights bit for bit (WASM, one thread).
 *    The seed costs 32 ms a 512 px tile (108 ms a megapixel), measured with two training runs
 *    on the two cores, first on StyleService's main thread, since in its session workers;
 *    seeded training steps took 3.1-3.2 s with two runs side by side, where version 4's recipe
 *    took 2.9. Two probes, 200 more steps
 *    from version 5 (not kept): the feature-patch term at 5, 0.319 / 0.543 (0.316 on the four
 *    other photos), more dark speckle; learning rate 3e-3, 0.339 / 0.424 (0.342): the seed
 *    takes over, a clear Voronoi lattice of yellow, teal and green cells between red-orange
 *    bands (not dark lead) over every photo, the photo and the face faint. The seed can carry
 *    the cells; the loss has yet to ask for dark lines while keeping the photo.
 * 23. What the loss asks of a stained-glass crop, and style statistics pooled over the batch
 *    (StyleLossOptions.stylePooling, `nst-train --style-pooling batch`). First, what lead lines
 *    would be worth: version 5's gallery outputs with the seed's own cell boundaries drawn on
 *    them in lead (a pixel either side, where the boundary channel is under 0.1, at 0.15 of
 *    the colour there; a test, not a product) score 0.203 / 0.391 against their 0.315 / 0.584
 *    (by layer 0.064 0.149 0.249 0.349: strides 8 and 16 nearly halve), and Reinhard's with
 *    the same lines 0.326. The
 *    judge wants the lines. The training loss does not: on training crops (128 px, version
 *    5's loss, twelve batches of four) the same lines raise the style term from 0.047 to 0.081,
 *    the patch term from 0.013 to 0.032 and TV from 0.083 to 0.45.
 *    Worse, per image the loss scores the painting's own crops (128 px at its training scale)
 *    further from the painting than version 5's outputs: style terms by layer (activation_1,
 *    activation_3, activation_5, mixed0, mixed2)
 *                                    per image                          the four pooled
 *      the painting's crops          0.107 0.106 0.102 0.023 0.060      0.010 0.018 0.021 0.0015 0.0030
 *      version 5's outputs           0.029 0.045 0.074 0.016 0.057      0.014 0.023 0.027 0.0029 0.0042
 *    A 128 px crop holds three or four of the painting's 40 px cells, so its own colour and
 *    edge statistics are far from the whole painting's, and the per-image optimum is a hedge
 *    that puts every glass colour into every crop: small rounded blobs, never a large flat
 *    pane. Pooled, the batch's feature maps are one distribution (means, covariances and
 *    sorted projections over all four crops), and the painting is seen as the outputs are: cut
 *    into crops of the training size, each through the network on its own, so the deep
 *    layers' zero padding at a crop's edges is part of both sides (pooling alone, with the
 *    target taken from the whole painting, still left mixed0 and mixed2 scoring the painting's
 *    crops at 0.012 and 0.046 against version 5's 0.007 and 0.026). Pooled, the painting's
 *    crops are the optimum at every layer. The colour moments and the patch term pool too.
 *    The painting's crops have 3.4 times version 5's total variation (0.28 against 0.083): TV
 *    at weight 1 smooths away what the painting has. Fine-tunes of version 5 at its loss and
 *    seed, judge / SSIM on the seven gallery photos (version 5 0.315 / 0.584), by layer, and
 *    on the four other held-out photos (version 5 0.314 / 0.529; Reinhard 0.329):
 *                                        gallery          by layer                   four others
 *      patches 30, 200 steps             0.313 / 0.447    0.039 0.223 0.415 0.574
 *                  400                   0.321 / 0.473    0.033 0.227 0.427 0.595
 *      style layer weights 1,4,4,1,1, 200 0.311 / 0.486   0.037 0.226 0.411 0.570
 *                                  400   0.317 / 0.484    0.041 0.224 0.418 0.583
 *      pooled, 400                       0.312 / 0.658    0.034 0.258 0.393 0.561    0.313 / 0.614
 *      pooled, TV 0, 400                 0.300 / 0.633    0.035 0.202 0.394 0.567    0.298 / 0.582
 *                    600                 0.291 / 0.635    0.026 0.189 0.394 0.553    0.287 / 0.589
 *                    800                 0.280 / 0.634    0.025 0.181 0.380 0.535    0.277 / 0.574
 *                   1000 (version 6)     0.277 / 0.629    0.036 0.169 0.377 0.528    0.274 / 0.580
 *      TV 0 alone (per image), 400       0.295 / 0.551    0.021 0.188 0.411 0.559    0.296 / 0.499
 *    So at 400 steps the judge's gain is TV's (0.295 alone, 0.300 pooled); pooling keeps the
 *    scene (SSIM 0.63 against 0.55 on the gallery, 0.58 against 0.50 on the other four) and
 *    is nearer at stride 8 (0.394 against 0.411), and the pooled run kept gaining with steps.
 *    By eye the per-image probes break the flat glass into speckle (patches 30) or draw the
 *    seed's boundaries as red-orange bands, not dark lead (early layers weighted). Pooled, the
 *    network paints large flat panes of one glass colour each, outlined in dark lines along
 *    the photo's shapes (the face, the helmet, the drum's rim, the dogs), and the scene reads
 *    better than in version 5 (SSIM 0.58 -> 0.63); without TV the outlines are darker and
 *    crisper. Version 6 is the pooled, TV 0 run at 1000 steps (400, then 200 at a time from
 *    its checkpoints): the portrait 0.261 (Reinhard 0.306, version 5 0.306), the face a face
 *    in dark outline, a fine dotted edge along the photo's contours; INT8 passes its gate 8/8
 *    (worst MAD 1.10, 0.39x JPEG 90's). A from-scratch run on the pooled loss with the seed
 *    was far behind at 400 steps (0.378 / 0.508, blurred; stopped). What none of them paints yet is the painting's lattice
 *    of lead lines where the photo is flat: drawn on top of any output they cost the loss more
 *    than they give, so the next step is a loss in which a lead-lined crop of the painting is
 *    cheaper than a hedge at the pixel scale too (the patch term sees 64 random directions of
 *    147; a line is one of them).
 * 24. Pooling for the other styles. Per image, every 128 px crop must show some of all of the
 *    painting; composition-viii (cream ground, a few shapes), hatch (blank paper, single and
 *    cross hatching in regions), great-wave (wide flat sky and ground beside the wave) and
 *    auvers (sky, roofs, thatch and walls, each in its own strokes) are paintings of regions
 *    as the stained glass is. Fine-tunes of each latest version at its own
 *    loss and seed, learning rate 1e-3, style statistics pooled over the batch (TV kept at 1),
 *    judge / SSIM on the seven gallery photos, by layer, and on the four other held-out photos:
 *                                        gallery          by layer                   four others
 *      composition-viii v2               0.280 / 0.474    0.074 0.259 0.381 0.405    0.284 / 0.405
 *        pooled, 500                     0.290 / 0.515    0.089 0.297 0.367 0.405
 *                1000 (version 3)        0.274 / 0.543    0.087 0.279 0.348 0.383    0.272 / 0.466
 *          + patches 10, TV 0, 250       0.317 / 0.490    0.049 0.388 0.432 0.400    (grainy, yellowed; stopped)
 *      hatch v3                          0.411 / 0.417    0.150 0.493 0.447 0.553    0.409 / 0.346
 *        pooled, 450                     0.400 / 0.438    0.135 0.487 0.423 0.557    0.400 / 0.360
 *                1000                    0.408 / 0.451    0.137 0.496 0.433 0.564    0.406 / 0.376
 *          + patches 10, 250 (version 4) 0.389 / 0.421    0.106 0.459 0.431 0.561    0.384 / 0.341
 *                        600             0.396 / 0.406    0.100 0.454 0.440 0.588    0.392 / 0.336
 *      great-wave v2                     0.217 / 0.411    0.049 0.243 0.279 0.296    0.221 / 0.354
 *        pooled, 400                     0.210 / 0.508    0.064 0.227 0.237 0.312    0.206 / 0.462
 *                600 (version 3)         0.200 / 0.515    0.069 0.202 0.237 0.293    0.196 / 0.460
 *      auvers v2                         0.228 / 0.423    0.060 0.267 0.238 0.347    0.242 / 0.334
 *        pooled, 600 (version 3)         0.217 / 0.507    0.059 0.239 0.223 0.344    0.222 / 0.412
 *      elephants v3 (covariance)         0.236 / 0.535    0.070 0.240 0.252 0.384
 *        pooled, 600                     0.261 / 0.664    0.064 0.266 0.274 0.439    (not shipped)
 *    Pooled, every style kept more of the scene (SSIM +0.03 to +0.10) and came closer at
 *    stride 8, where a crop's mix of regions shows; at stride 2 (colour) composition-viii and
 *    great-wave got a little further (0.074 -> 0.087, 0.049 -> 0.069). By eye: great-wave v3 keeps its blue dabs for the photo's textured areas
 *    (hillsides, the collar of the suit) and leaves the sky flat peach and the clouds white,
 *    the face clear where v2 dabbed blue across it; composition-viii v3 is v2's cream drawing
 *    with fewer blown-out whites and cleaner fringes; auvers v3 keeps v2's ochre, orange,
 *    green and blue strokes but paints the window's sky blue where v2 blew it out white, and
 *    the face in warm light tones where v2 blotched it. For hatch, pooling alone gained little
 *    (and lost it again by 1000 steps); the pixel-patch term on top drew crisper, darker
 *    hatching and the outlines of faces and dogs, and v3's white blots beside the face went.
 *    Elephants, one loose layered texture over the whole canvas rather than regions, lost
 *    (0.261 against 0.236, further at strides 4-16): pooled, a crop may be plain, and the
 *    network left more of the photo (SSIM 0.66). So pooling is chosen per style, for paintings
 *    of regions; swirl, one texture all over too, was not tried.
 *    Hatch v4 does not remove the pink and green fringes in the hatching (chroma the sepia drawing
 *    has none of): neither the colour moments at weight 5 nor the patches see them as
 *    off-palette enough. On composition-viii the same term (with TV 0) made the picture grainy.
 * 25. Colour off a near-monochrome painting's one colour line (chargesOffAxisColour). In the
 *    principal axes of its RGB (at the crops' scale) the hatch drawing spreads 0.293 along its
 *    sepia axis and 0.0034 and 0.0011 across it; hatch v4's outputs on gallery photos 1 and 7
 *    spread 0.061 and 0.060 across (18 and 55 times), their pixels on average 0.061 from the
 *    drawing's colour line: pink and green fringes averaging back to beige, which the colour
 *    moments cannot see (their correlations are near 1 either way). Across/along for the other
 *    starters: elephants 0.31, great-wave 0.23, composition-viii 0.31, swirl 0.61, auvers 0.57,
 *    mosaic 0.79; hatch 0.012, hence MONOCHROME_OFF_AXIS_RATIO 0.05, and only hatch's loss
 *    changes. The colour term then adds OFF_AXIS_SCALE times the pixels' mean squared distance
 *    from the line through the painting's mean colour along its first axis, past the painting's
 *    own. Measured first around the output's own mean, the fringes went within 50 steps but the
 *    whole image turned grey (mean 0.768 0.724 0.682 against the drawing's 0.785 0.732 0.648;
 *    stride-2 judge 0.106 -> 0.160); through the painting's mean the cast goes too. Fine-tunes of
 *    v4 at its loss (sliced 3,4, style 3, content 3, colour 5, TV 1, pooled, lr 1e-3, seed 1),
 *    judge / SSIM on the seven gallery photos, by layer, and on the four other held-out photos:
 *                                        gallery          by layer                   four others
 *      hatch v4                          0.389 / 0.421    0.106 0.459 0.431 0.561    0.384 / 0.341
 *      off-axis charged, no patches, 200 0.366 / 0.438    0.138 0.404 0.390 0.534
 *                                    350 0.363 / 0.452    0.141 0.394 0.383 0.533
 *                                    600 0.359 / 0.439    0.136 0.389 0.388 0.523    0.363 / 0.382
 *        with patches 10, 250 (version 5) 0.329 / 0.409   0.103 0.338 0.365 0.510    0.322 / 0.337
 *                         400            0.338 / 0.393    0.104 0.350 0.360 0.536    0.327 / 0.325
 *    The pixels' mean distance from the sepia line fell from 0.061 to 0.015 (version 5) and
 *    0.009 (no patches; the drawing's own 0.004). By eye every candidate is an engraving in
 *    sepia on cream, the pink and green gone; with the patches the hatching is crisper and
 *    darker, and large bright flat areas (siding, the sky beside the shuttle) become blank
 *    paper with hard edges, as the drawing's unhatched regions are; without them softer. The
 *    judge gained at strides 4 to 16 in every run, at stride 2 only with the patches.
 * 26. Sliced and pooled on a new style, and lead lines under mosaic v6's own loss.
 *    (a) A woodblock print no starter uses, Hokusai's "Viewing Sunset over the Ryogoku Bridge"
 *    (GCompris board 10; Reinhard 0.386 on the gallery, 0.344 on the four other photos), 600
 *    steps from scratch with the new-style recipe (128 px, batch 4, lr 1e-3, style scale 2,
 *    seed 1), one WASM thread each:
 *                                        gallery          by layer                   four others
 *      covariance (the default)          0.281 / 0.544    0.054 0.308 0.313 0.448    0.279 / 0.506
 *      sliced 3,4 at weight 5, pooled    0.255 / 0.552    0.061 0.284 0.283 0.391    0.256 / 0.485
 *    By eye the default is blue and cream under a heavy weave (lattice 0.97); sliced and pooled
 *    leaves the skies flat cream, puts blue strokes where the photo is textured, with half the
 *    weave (0.47), the face clearer. One painting: a choice on the job (the web form's "flat
 *    regions"), not the default.
 *    (b) What lead lines on the seed's cell boundaries cost under v6's loss (pooled, sliced,
 *    style 5, patches 10, TV 0), v6's outputs on four training batches, unweighted terms:
 *                                        style    content  patches  colour
 *      v6                                0.021    0.146    0.008    0.006
 *      + lines 1 px, 85% dark            0.040    0.191    0.012    0.013
 *      + lines 2 px, 85% dark            0.060    0.217    0.024    0.034
 *      each cell one glass colour (the painting's nearest to its mean), lead 2 px
 *                                        0.288    0.299    0.110    0.143
 *      the same cells shaded brighter toward the middle, as the painting's panes are
 *                                        0.266    0.366    0.067    0.191
 *      four 128 px crops of the painting 0.011    0.381    0.013    1.012
 *    Pooling did not make the lines pay: drawn over v6's panes (which follow the photo, so
 *    the lines cut across them) they still cost style, content and patches; and cells of the
 *    painting's colours, flat or shaded, cost far more than v6's blobs. The loss still
 *    prefers v6's answer to anything like a lattice built on the seed. The painting's own
 *    crops beat v6 on style (half its term) and patches, but pay content, as they must, and a
 *    colour term of 1.0, all of it the pure-colour charge (0.050 x PURE_COLOUR_SCALE): the
 *    charge is on for mosaic because under 0.1% of its pixels are pure in every channel
 *    (saturatedFraction), yet it charges any pixel over 0.8 in one channel and under 0.2 in
 *    another, which is what the glass's jewel colours are. So the loss also forbids the
 *    painting's own saturation (auvers' too: its own crops pay 0.64). Charging only what
 *    exceeds the painting's own level is the consistent rule, tried on mosaic: v6 fine-tuned
 *    at its loss with that hinge, judge / SSIM on the gallery (v6 0.277 / 0.629) and on the
 *    four other photos (v6 0.274 / 0.580):
 *      100 steps 0.284 / 0.658;  300 0.283 / 0.659;  400 0.284 / 0.592, four others 0.284 / 0.527
 *    Brighter, more saturated panes (orange skies, red blobs on the helmet), no lattice, and
 *    never closer: not adopted, the charge stays as it was.
 * 27. Why no lattice, and the dotted outlines. (a) The loss's floor for real stained glass.
 *    26b's lattice oracle was built wrong in two ways: its cells were the seed's 40 px, where
 *    the painting's are 32 px at the scale the loss sees it (renderMosaic's 56 px pitch at the 0.577 that makes the painting
 *    16 crops' area), and its palette left out every glass pixel of luminance under 0.3 (the
 *    blues, purples and deep reds: 24% of the painting). Rebuilt with the painting's own eight
 *    colours, its glow and its grey lead on a 32 px seed, each cell the glass colour nearest
 *    v6's mean there, it looks like the painting and still scores style 0.099 against v6's
 *    0.021, by layer (activation_1, activation_3, activation_5, mixed0, mixed2) 0.267 0.098
 *    0.112 0.0094 0.0096 against v6's 0.017 0.032 0.040 0.0054 0.0085: level on the mixed
 *    layers, far off on the three covariance layers. So the question is what any real stained
 *    glass scores, not an oracle: fresh renders of the painting's own generator at other seeds
 *    (renderMosaic seed 'another', 'third', 'fourth'; identical cells, palette, glow and lead,
 *    different layout), cut into crops at the training scale, against v6's outputs on training
 *    photos, pooled over 4 crops (the training batch) and over 12, style by layer, patches:
 *                                    4 crops                                    12 crops
 *      v6                            0.018 0.035 0.043 0.0029 0.0062  0.0087    0.016 0.030 0.034 0.0036 0.0065  0.0072
 *      the painting itself           0.021 0.027 0.023 0.0017 0.0040  0.0064    0.003 0.003 0.003 0.0005 0.0018  0.0002
 *      render 'another'              0.058 0.227 0.276 0.0222 0.0200  0.0511    0.014 0.024 0.037 0.0046 0.0043  0.0107
 *      render 'third'                0.021 0.007 0.013 0.0026 0.0042  0.0111    0.020 0.014 0.015 0.0012 0.0020  0.0067
 *      render 'fourth'               0.084 0.080 0.097 0.0079 0.0078  0.0389    0.055 0.056 0.059 0.0042 0.0044  0.0149
 *    Four crops hold about 64 cells of eight colours drawn at random, and the covariance
 *    layers' means and covariances follow the batch's colour mix: two of three genuine pieces
 *    of the same stained glass score 2.6 and 5.8 times v6's style (the mean of the five) at the
 *    training batch (the third 0.46 times), v6's blend of every glass colour in every crop
 *    matching the painting's mix exactly. At 12 crops two renders beat v6 (0.93 and 0.57
 *    times) and one is still 2 times (its palette mix is further from the painting's). In training it is worse than 64 cells: every image of a
 *    batch read the same window of the seed (train.ts seedOrigin(step)), so a lattice built
 *    on the seed repeats one window's 16 cells four times. And real glass also pays content
 *    (0.38-0.40 against v6's 0.14-0.15) and the pure-colour charge (0.9-1.0 against 0.005;
 *    26b), which no pooling changes. Lead lines drawn over v6's panes on each image's own seed
 *    window still cost at 12 crops (1 px at 85%: 0.028 0.083 0.098 0.011 0.009, patches 0.015):
 *    they cut across panes that follow the photo, dark lines inside one colour that the glass
 *    never has.
 *    Two fine-tunes of v6 at its recipe with a window of the seed per image (a temporary patch,
 *    not kept), judge / SSIM on the seven gallery photos (v6 0.277 / 0.629), by layer:
 *      batch 4, 300 steps                0.278 / 0.648   0.029 0.167 0.382 0.533
 *      batch 8, 200 steps                0.279 / 0.656   0.030 0.169 0.383 0.534
 *      batch 8, learning rate 3e-3, 200  0.304 / 0.569   0.045 0.199 0.405 0.566
 *    By eye the first two are v6; at 3e-3 the panes blur into blobs. The deeper layers do tell
 *    real glass from v6's blend: with mixed3 and mixed4 added (deepLayers, sliced; each term
 *    scaled as one of seven layers at style weight 5):
 *                                    4 crops          12 crops
 *      v6                            0.0121 0.0132    0.0098 0.0120
 *      the painting itself           0.0081 0.0076    0.0035 0.0029
 *      render 'another'              0.0243 0.0213    0.0074 0.0079
 *      render 'third'                0.0073 0.0070    0.0037 0.0036
 *      render 'fourth'               0.0132 0.0133    0.0063 0.0066
 *    At 12 crops every render is 1.3-3.3 times nearer than v6 there, where the stem's covariance
 *    layers rank them either side of it. Trained (v6, batch 8, a seed window per image, mixed3 and
 *    mixed4 added, sliced, layer weights 1,1,1,1,1,4,4; 8.4 s a step beside another run):
 *    50 steps 0.287 / 0.639, 100 0.283 / 0.643, 200 0.282 / 0.645 (0.029 0.182 0.386 0.533):
 *    smoother jigsaw panes, a few darker seams between panes, no lattice, and not closer. The
 *    content term (real glass 0.38-0.40 against 0.14-0.15) outweighs anything the deep layers
 *    can give at these weights; a loss that asks for the lattice has to pay for it in the
 *    photo, and which photo it may cost is the open question (next: the deep layers at 12
 *    crops with content lowered only where the photo is flat, a mask from its gradients).
 *    (b) The dotted outlines. v6's outlines are chains of dark dots on a 4 px grid, the
 *    nearest-neighbour decoder's copies (MEASUREMENTS 11). v6's weights with the decoder
 *    switched to bilinear (StyleNet.withUpsampling; `nst-train --init v6 --upsampling
 *    bilinear`) paint 0.311 / 0.648 at step 0 (lattice 0.279 against 0.397), and fine-tuned at
 *    v6's loss (one run; the CLI switch and a hand-patched copy of the weights gave the same
 *    bytes after 4 steps), judge / SSIM on the gallery and on the four other held-out photos
 *    (v6 0.274 / 0.580 there):
 *      150 steps 0.289 / 0.612;  250 0.280 / 0.626;  300 0.283 / 0.634
 *      400       0.280 / 0.620   (0.031 0.177 0.365 0.544)   four others 0.274 / 0.570
 *      500       0.278 / 0.594   (0.036 0.177 0.364 0.535)               0.270 / 0.546
 *      600 (v7)  0.280 / 0.610   (0.029 0.176 0.371 0.546)               0.273 / 0.559
 *    As close as v6 on both sets. By eye the helmet's rim, the hair and the drum's edge are
 *    solid dark lines where v6 drew dotted chains; some dotted stretches remain (the
 *    shoulders), with fine dark specks on flat orange, and the helmet band holds more
 *    cell-sized red blobs. Version 7 is the 600-step checkpoint; INT8 passes 8/8 (worst MAD
 *    1.44, 0.51x JPEG 90's).
 * 28. Cells where the photo is flat: the content term weighted down there (flatContent,
 *    flatnessWeight). 27a found content the largest cost of real glass (0.38-0.40 against v7's
 *    0.14-0.15); most of that is paid where the photo has nothing to keep. The weight at each
 *    position of the content layer is the photo's mean luminance step (x plus y) over 16 px,
 *    divided by FLATNESS_EDGE and clipped to [floor, 1]. On six training batches of four 128 px
 *    crops, at 0.02 four in five positions weighed 1 (skies beside towers included) and 6% under
 *    0.2; at 0.06 56% weigh 1, 14% under 0.2 (quantiles 10/25/50%: 0.13, 0.51, 1), and the
 *    masks look right (sky, blurred background, still water dark; the swan, the leaf's veins,
 *    the castle walls white), so 0.06. Fine-tunes of v7 at its loss plus batch 8, a seed
 *    window per image (`--seed-windows image`) and mixed3 and mixed4 sliced at layer weight 4
 *    (27a's probe, the same from v6 without the mask, painted no lattice: 0.282 / 0.645); judge / SSIM on
 *    the seven gallery photos (v7 0.280 / 0.610), by layer, and on the four other held-out
 *    photos (v7 0.273 / 0.559, by layer 0.027 0.160 0.362 0.545); 5.5-6 s a step beside another run:
 *                                          gallery          by layer                   four others
 *      v7                                  0.280 / 0.610    0.029 0.176 0.371 0.546    0.273 / 0.559
 *      A content 1, flat 0.1, 300 steps    0.282 / 0.400    0.037 0.203 0.368 0.522    0.277 / 0.361
 *      B content 1, flat 0, lr 2e-3, 300   0.285 / 0.296    0.049 0.203 0.363 0.526    0.284 / 0.280
 *      C from A, content 2, flat 0.1, 100  0.281 / 0.415    0.042 0.188 0.367 0.529    0.276 / 0.377
 *                                     200  0.279 / 0.436    0.045 0.179 0.366 0.525    0.274 / 0.397
 *      D from A, content 1, flat 0.3, 200  0.282 / 0.343    0.038 0.193 0.371 0.523
 *      E from C, content 3, flat 0.07, 150 0.285 / 0.489    0.037 0.183 0.379 0.540    0.277 / 0.430
 *      F from C, patches 20, 150           0.272 / 0.382    0.034 0.175 0.361 0.520    0.267 / 0.355
 *      G from F, content 3, flat 0.07, patches 20, 100
 *                                          0.278 / 0.432    0.031 0.180 0.369 0.531    0.272 / 0.393
 *      H from E, the same, 100 (version 8) 0.276 / 0.476    0.037 0.176 0.367 0.525    0.271 / 0.426
 *    (each run a new data seed: 1, 2, 3, 4). The mask is what changed the picture: within 50
 *    steps of A cell-sized patches appear where the photo is flat, and by 300 they fill every sky,
 *    wall and plain garment, as 27a's probe with the same loss but no mask never did. What the
 *    content weight over edges buys is the scene: at content 1 the cells spread over everything
 *    (B with no floor and a doubled learning rate loses the face by step 50; D, whose flat share
 *    is higher but edge weight lower than C's, lost more of the scene than C), at 3 the face,
 *    the drum's rim and the rocket keep their dark outlines. Pixel patches at 20 darken the
 *    seams between cells and are the closest on both sets (F), at an SSIM under 0.4; H (E's
 *    recipe with patches 20) keeps more of the scene than G, the same loss from F. Every masked
 *    run is nearer than v7 at stride 16 (0.520-0.540 against 0.546), where real glass differs
 *    from v7's panes (27a), and further at stride 2 (0.031-0.049 against 0.029): the cells
 *    spend some of the palette's exactness. By eye (H) the drum's skin becomes red, orange and
 *    purple cells inside its dark rim, the helmet a field of purple cells with darker seams, the
 *    sky and walls cells of yellow, teal and orange; the face is a face, eyes, smile and hair
 *    outlined. The seams are darker than the panes but not yet the painting's black lead, and
 *    the cells are rounder than its polygons. What it loses: the two spaniels of gallery photo 1
 *    (drawn in red and blue by v7) dissolve into cells at 512 px, as the ladybird of photo 6
 *    does. (Written first as "the mask counts soft fur as flat"; measured in 29, it does not.) Version 8 is H, 750 steps from v7 in four runs;
 *    INT8 passes 8/8 (worst MAD 1.41, 0.39x JPEG 90's). Its ceiling (scripts/ceiling.ts,
 *    photos 2 and 4, 150 Adam steps at 256 px, its own loss, mask included) is 2.49x the
 *    optimised images' loss at 0.85x their judge distance: the optimised images (0.420) are
 *    further from the painting than Reinhard (0.386), the mountains repainted in fine streaks
 *    of every glass colour with no cells, since an image optimised alone has no seed and one
 *    image's statistics are not the batch's. The network's seed and pooled training, not the
 *    loss alone, are what make the cells.
 *    After version 8, two more runs from H at its loss, 100 steps each at data seed 5, the
 *    one difference the flat share:
 *      I flat 0.07 (H's own)               0.281 / 0.479    0.042 0.176 0.377 0.532    0.274 / 0.429
 *      K flat 0.2                          0.273 / 0.506    0.038 0.175 0.364 0.515    0.267 / 0.451
 *    More steps at H's loss wander (I is 2% further than H), and a higher floor is better on
 *    both sets and on SSIM in a paired comparison (K against I: 0.008 closer on each, SSIM
 *    +0.02-0.03), cells kept everywhere flat, the face a face; the spaniels stay lost. K is
 *    version 9 (next session): INT8 8/8 (worst MAD 1.34, 0.34x JPEG 90's); ceiling 3.37x the
 *    optimised images' loss (its own loss, floor 0.2, so not comparable with version 8's 2.49x)
 *    at 0.85x their judge distance; the portrait 0.253 (version 8 0.261).
 * 29. After version 9: the spaniels, the lead, and a larger auvers. (a) The spaniels of gallery
 *    photo 1 are not lost to the mask. Its mean over each dog (flatnessWeight, floor 0.2) is 0.94
 *    and 0.95 at the gallery's 341 px width and 1.0 at 128 px (the training scale), against
 *    0.44 and 0.67 on the weatherboards above them. What loses them is size: version 9 on the
 *    same photo at 192, 320, 512 and 768 px (judge 0.358, 0.339, 0.268, 0.224) draws no dog at
 *    192 and 320, two purple silhouettes at 512 and both dogs with eyes and ears at 768. A dog
 *    is about two of the seed's 40 px cells across at 512, too few for a face; at full
 *    resolution it is five or more.
 *    (b) The lead. Near-black pixels (luminance under 0.1): the painting 10.9% (8.3% at 512 px),
 *    version 8's gallery images 3.2-5.1%, version 9's 4.2-6.0%. The colour term matches
 *    moments and the pixel-patch term's random directions give luminance a small share, so
 *    nothing asked for that share; the 'tone' term does (toneDistance: the exact 1-D transport
 *    between the batch's luminance and the painting's, over its variance). First what lines
 *    on the seed's cell boundaries (boundary channel under 0.1, about 2 px, or 0.2, 4 px; the
 *    colour there times 0.15) cost under version 9's loss, its outputs on four training
 *    batches of eight, unweighted terms (tone as if weighted):
 *                                  total   style   content colour  patches tone    pixels
 *      version 9                   1.481   0.174   0.127   0.012   0.005   0.012
 *      lines under 0.1             2.546   0.211   0.171   0.041   0.025   0.044   9.6%
 *      lines under 0.2             4.595   0.238   0.195   0.114   0.066   0.139   18.7%
 *      under 0.1 where flat only   1.597   0.178   0.134   0.016   0.008   0.013   3.0%
 *      under 0.2 where flat only   1.880   0.184   0.138   0.025   0.015   0.023   5.8%
 *    Every term rises, the pixel patches (whose painting has the lead) included: version 9's
 *    cells do not sit on the seed's, so the lines cut them. Then four runs from version 9 at
 *    its loss, 100 steps each at data seed 6 (gallery judge / SSIM, by layer, four others):
 *      O control                   0.278 / 0.515    0.034 0.183 0.370 0.523    0.271 / 0.463
 *      L patches 35                0.281 / 0.504    0.033 0.180 0.377 0.533    0.274 / 0.454
 *      M tone 10                   0.275 / 0.505    0.035 0.169 0.369 0.526    0.270 / 0.447
 *      N tone 40                   0.285 / 0.477    0.039 0.186 0.378 0.534    0.278 / 0.438
 *    The tone term falls from 0.012 to 0.006 (M) and 0.004 (N) in training, yet the gallery's
 *    near-black share only rises from 4.3-4.9% (O) to 5.8-6.4% (M, N): the term is met mostly
 *    by darkening the lower-middle tones (under 0.2: 13% to 14-16%), not by black lines. By eye
 *    N rims the drum's cells in darker seams and deepens the face's shadows, the nearest yet to
 *    lead, but the judge puts it 2.5% further on both sets with SSIM down 0.03-0.04; M is level
 *    with O; pixel patches at 35 darken nothing (3.8-5.4% near-black, as version 9). None is adopted; the term
 *    stays for a loss that also puts the lines where the cells meet.
 *    (c) Auvers' brushwork at a larger size. Version 3 paints a fine diagonal weave of broken
 *    strokes, the painting's blue dashes (12-17 px at style scale 2) nowhere. Runs from version 3
 *    at its loss, data seed 2 (gallery judge / SSIM, by layer; four others):
 *      version 3                   0.217 / 0.507    0.059 0.239 0.223 0.344    0.222 / 0.412
 *      S control, 150 steps        0.222 / 0.511    0.070 0.246 0.232 0.340    0.227 / 0.420
 *      Q style scale 4, 200 steps  0.271 / 0.598    0.060 0.336 0.273 0.413
 *      R mixed3/mixed4 at layer weights 4, 150 steps
 *                                  0.220 / 0.324    0.104 0.209 0.248 0.318    0.218 / 0.271
 *    The painting at twice the size (Q) only paled the colours; the deep layers (R) put a
 *    coarse, high-contrast weave over everything (lattice 0.93 against 0.63), the face ghostly,
 *    level on the judge. Neither paints a dash: a flat sky is a flat input, so a network with
 *    no noise input paints it flat. So the stained glass's answer, 200 steps from version 3 with
 *    the cell seed added (zero weights at first) at a dash's size, a window per image, and the
 *    content term at a floor of 0.2 where the photo is flat:
 *      T seed cells 16 px          0.208 / 0.479    0.047 0.239 0.227 0.319    0.216 / 0.380
 *      U seed cells 24 px          0.212 / 0.478    0.062 0.233 0.226 0.327    0.215 / 0.387
 *    T is 6% closer than its control S on the gallery and 5% on the four others (4% and 3%
 *    closer than version 3), at SSIM 0.03-0.04 lower. By eye the skies and the wall behind the
 *    portrait turn from smooth bands into broken dabs of blue, white, yellow and green, the
 *    mountains keep their orange and green strokes, the face is a face. The dabs are short and
 *    round, not yet the painting's long blue dashes, and on large dark flat areas (the portrait's
 *    helmet) they read as a mottle of orange spots. Version 4 is T; INT8 passes 8/8 (worst MAD
 *    1.64, 0.36x JPEG 90's), where version 3's failed one photo and served FP32. Its ceiling
 *    (photos 2 and 4, its own loss, mask included) is 2.22x the optimised images' loss at 0.78x
 *    their judge distance (version 3: 0.84x).
 *    (d) The same change on the other two paintings, 200 steps from version 3 at its loss, data
 *    seed 2, the flat floor 0.2 and a seed window per image (no control run; for auvers the
 *    control drifted 2% further than version 3, so a gain over version 3 is not the steps):
 *      great-wave v3               0.200 / 0.515    0.069 0.202 0.237 0.293    0.196 / 0.460
 *      V seed cells 16 px          0.189 / 0.488    0.047 0.192 0.223 0.293    0.187 / 0.441
 *      composition-viii v3         0.274 / 0.543    0.087 0.279 0.348 0.383    0.272 / 0.466
 *      W seed cells 32 px          0.253 / 0.526    0.064 0.254 0.328 0.367    0.249 / 0.453
 *    Both closer on both sets (great-wave 5%, composition-viii 8% and 9%), SSIM 0.01-0.03 lower.
 *    By eye V breaks version 3's streaks in the dark areas (the drum, the forest) into navy and
 *    grey dabs like the print's foam, the sky still flat peach, the portrait unchanged; W
 *    scatters soft pale blue spots over the flat cream (the weatherboards, the wall behind the
 *    wine), a hint of the painting's small circles without their dark outlines. They are great-wave
 *    and composition-viii version 4; INT8 passes 8/8 for both (worst MAD 1.92 and 1.95, 0.58x
 *    and 0.56x JPEG 90's; great-wave version 3 failed one photo and served FP32). Ceilings
 *    (photos 2 and 4, their own losses): great-wave 2.85x the optimised images' loss at 0.67x
 *    their judge distance (version 3 0.71x), composition-viii 2.23x at 0.78x (version 3 0.82x).
 *    (e) The two covariance styles, the same change (seed cells 16 px, floor 0.2, a window per
 *    image, 200 steps at learning rate 1e-3, data seed 3, from version 3):
 *      swirl v3                    0.291 / 0.462    0.096 0.316 0.374 0.378    0.287 / 0.404
 *      X                           0.269 / 0.391    0.082 0.280 0.365 0.348    0.268 / 0.334
 *      elephants v3                0.236 / 0.535    0.070 0.240 0.252 0.384    0.241 / 0.474
 *      Y                           0.233 / 0.481    0.052 0.228 0.250 0.400    0.236 / 0.419
 *    Swirl is 7-8% closer, but its strokes now cover the flat areas too (the dark sky, the
 *    drum), and the scene fades, the face fainter: SSIM 0.39 and 0.33, under the 0.4 the
 *    scene needs. Elephants moves 1-2%, within what a seed moves, for SSIM 0.05 lower. Neither
 *    is adopted. Two more swirl runs, to keep the scene:
 *      Z content 2, floor 0.2      0.277 / 0.477    0.090 0.287 0.373 0.357    0.274 / 0.414
 *      floor 0.5, content 1        0.279 / 0.411    0.091 0.293 0.375 0.358    0.276 / 0.352
 *    Z is 5% closer than version 3 on both sets at a higher SSIM, the face clear and the wall
 *    behind it in strokes, but it paints a near-black band along the bottom edge (mean grey 5
 *    and 28 in the last 6 rows of gallery photos 2 and 7, against version 3's 43 and 77; the
 *    shipped v4s of auvers, great-wave and composition-viii show no such band). Z's recipe at
 *    data seed 4 paints the band too (mean grey 7-42 in the last 6 rows of the seven photos)
 *    and is 3% closer (0.283 / 0.491, four others 0.278 / 0.419); at 300 px the band is still
 *    on the bottom edge, so it belongs to the edge, not to a place in the seed. Not adopted.
 *
 * 30. What the loss network never sees (StyleLossOptions.margin, `nst-train --loss-margin`).
 *    (a) Z's band is the network's, not the photo's: run on each gallery photo turned upside
 *    down (and the output turned back), the band moves to the top. Mean grey of the last 6 rows
 *    against the 12 above them, gallery photos 1-7 at 512 px:
 *      version 3   42/75 45/81 92/114 48/67 50/85 81/101 75/87
 *      Z            7/37  7/43 28/87   8/34 30/69 27/76  29/59
 *    The other latest versions (auvers, composition-viii, elephants, great-wave, hatch, mosaic)
 *    keep their edges within ~15 levels of the rows above, mostly within 5.
 *    (b) Why: the mean |gradient| of each term per output row, Z on three training batches of
 *    four 128 px crops at its own loss (x 1e-6; rows 0, 4, 10, 64, 117, 121, 125, 127):
 *      style     28 108 284 195 103 35  9  0
 *      content    3  15  37  47  31 18  3  0
 *      colour    23  21  21  16  15 23 28 29
 *      tv        18  34  62  51  30 19  8  5
 *    InceptionV3's stem and pools are valid-padded: a stride-2 window that does not fit drops
 *    the crop's last row and column outright, and each later one trims a few more, so the style
 *    and content gradients fade over the last ~10 rows and columns (and, less, the first ~8,
 *    which sit in fewer windows). There only colour and smoothness steer the network, and
 *    colour's pull at the bottom rows is toward dark (signed gradient +25 to +28 against -3
 *    to +11 elsewhere). The mean of the output in those rows of the crops: 110 at row 100, 39
 *    at 121, 21 at 127. A network that paints its edges as it likes shows it on every picture.
 *    (c) The margin: reflect the output and the photo by N px before the loss network, so every
 *    painted pixel sits inside its windows (the pixel-level terms still read the bare output).
 *    Style |gradient| at the same rows with 8 px: 251 370 358 186 424 308 239 182; with 16 px
 *    the edges get 2-3x the middle, so 8. It costs (144/128)^2 = 1.27x the loss network's work.
 *    (d) Z's recipe again with an 8 px margin (M, 200 steps from version 3, data seed 3):
 *                                  gallery          by layer                   four others
 *      swirl v3                    0.291 / 0.462    0.096 0.316 0.374 0.378    0.287 / 0.404
 *      Z                           0.277 / 0.477    0.090 0.287 0.373 0.357    0.274 / 0.414
 *      M 8 px margin               0.281 / 0.532    0.103 0.299 0.360 0.361    0.274 / 0.455
 *    M's last 6 rows: 85/87 93/93 154/142 111/95 104/108 117/122 91/94, the band gone and
 *    version 3's own darker edges with it. It is 3% closer than version 3 on the gallery and 5%
 *    on the four others, at SSIM 0.07 and 0.05 higher; by eye cobalt, cyan and periwinkle
 *    strokes with yellow flecks, the scene lighter and clearer than version 3's, the face clear.
 *
 * 31. Glass pieces on the seed's cells (the 'cells' term, cellVariation, `--weight cells=N`).
 *    29b found lead drawn on the seed's boundaries raised every term because version 9's
 *    pieces do not sit on the seed's cells. The cells term charges colour changes between
 *    neighbours inside one seed cell, away from its boundary (the boundary channel at 0.25 or
 *    more: 2.5 px in from the edge of a 40 px cell), so a network that lowers it paints one piece
 *    per seed cell and leaves a 5 px band where pieces meet. Version 9 scores 1.08 on it (three
 *    training batches of eight; the photos themselves 0.6-1.3). Runs from version 9 at its loss,
 *    100 steps, data seed 6, against O (29b, the same without the term); A-C charge it
 *    everywhere, as the term first did, D and E only where the photo is flat, as it does now:
 *                                  gallery          by layer                   four others      near-black, photos 2 / 7
 *      O control                   0.278 / 0.515    0.034 0.183 0.370 0.523    0.271 / 0.463    4.3% / 4.9%
 *      A cells 1                   0.307 / 0.515    0.040 0.249 0.395 0.544    0.301 / 0.466    1.5% / 1.6%
 *      B cells 1, tone 10          0.299 / 0.505    0.041 0.241 0.385 0.528    0.292 / 0.457    3.1% / 3.7%
 *      C cells 0.3, tone 10        0.294 / 0.524    0.043 0.214 0.380 0.537    0.288 / 0.467    4.2% / 4.7%
 *      D cells 1 on flat, tone 10  0.281 / 0.538    0.037 0.200 0.367 0.519    0.273 / 0.477    5.3% / 5.7%
 *      E cells 1 on flat, tone 30  0.278 / 0.505    0.043 0.199 0.361 0.509    0.269 / 0.452    6.1% / 6.1%
 *      F cells 1 on flat, tone 60  0.288 / 0.515    0.040 0.218 0.366 0.526    0.281 / 0.480    -
 *      E resumed to 200 steps      0.280 / 0.555    0.046 0.199 0.361 0.512    0.266 / 0.494    6.6% / 6.8%
 *      version 9                   0.273 / 0.506    0.038 0.175 0.364 0.515    0.267 / 0.451    4.6% / 5.0%
 *    The term falls from 1.08 to 0.29-0.31 (A, B) and 0.60 (C). By eye A and B are the first
 *    versions to look like the painting's lattice: every flat area (the helmet, the sky, the
 *    leaf) is tiled in polygonal pieces of one colour each, with darker seams between them (dark
 *    purple in B, not black). But the photo's own dark outlines go with the texture inside the
 *    cells: the portrait's face is fainter than O's crisply outlined one, and the judge puts A,
 *    B and C 6-10% further than O on both sets, most at stride 4 (0.21-0.25 against 0.18).
 *    Charged only where the photo is flat (its mean luminance step under 0.03, half the content
 *    mask's edge), D and E keep the outlines: the face is as crisp as O's, and the judge puts
 *    them level with O (D +1% / +1%, E 0% / -1%) at the same or higher SSIM. By eye they are
 *    the nearest to the painting yet: the drum's skin, the helmet and the skies are tiled in
 *    polygonal pieces, one colour each, with dark navy seams between them (E's darker), and
 *    the near-black share rises to 6% (O 4-5%, the painting 11%). Tone at 60 (F) is 3-4%
 *    further. E run on to 200 steps keeps its pieces and seams, is as close on the gallery and
 *    1% closer on the four others, and keeps more of the scene (SSIM 0.555 and 0.494); the
 *    portrait alone is further than version 9's (0.270 against 0.253; Reinhard 0.306), its face
 *    as legible, the background now in pieces. It is mosaic version 10; INT8 passes 8/8 (worst
 *    MAD 1.02, 0.30x JPEG 90's); its ceiling (photos 2 and 4, its loss less the cells term,
 *    which an optimised image without a seed cannot have) is 3.43x the optimised images' loss
 *    at 0.89x their judge distance (version 9: 3.37x, 0.85x). The seams are dark navy, not yet
 *    the painting's black lead.
 *    29b's probe again, now that the pieces sit on the seed's cells (outputs on four training
 *    batches of eight, colour x 0.15 where the boundary channel is under 0.1, only where the
 *    photo is flat, 3% of pixels; version 10's loss, tone 30 and cells included):
 *                                  total   style   content colour  patches tone    cells
 *      version 9                   2.147   0.174   0.127   0.012   0.005   0.012   0.435
 *      version 9 with the lines    2.295   0.178   0.134   0.016   0.008   0.013   0.435
 *      version 10                  1.673   0.173   0.128   0.055   0.006   0.004   0.138
 *      version 10 with the lines   1.833   0.168   0.134   0.054   0.008   0.008   0.138
 *    On version 10 the style term now falls with the lines (-3%, where it rose 2% on version
 *    9): the painting's statistics want lead where pieces meet once the pieces are there. What
 *    still charges them is tone (version 10 already meets the painting's near-black share with
 *    dark pieces and outlines, so more black overshoots it: +0.14 at weight 30), content and the
 *    pixel patches. Its colour term is 4.5x version 9's: tone at 30 pulls the colour moments.
 *    So 100 more steps from version 10 at data seed 7, tone at 30 (Q, the control) and at 10 (P):
 *                                  gallery          by layer                   four others      near-black, photos 2 / 7
 *      Q tone 30                   0.278 / 0.545    0.055 0.196 0.356 0.506    0.270 / 0.489    6.8% / 7.0%
 *      P tone 10                   0.262 / 0.543    0.036 0.176 0.345 0.489    0.253 / 0.484    6.0% / 6.1%
 *    P is 6% closer than Q on both sets, at every layer, most at stride 2 (the colours), and
 *    4-5% closer than version 9 (0.273, 0.267): the first change since version 8 to move the
 *    stained glass by more than a seed does. By eye its pieces are brighter and more saturated,
 *    the seams kept, the face as clear. It is mosaic version 11; INT8 passes 8/8 (worst MAD
 *    1.13, 0.30x JPEG 90's); its ceiling is 2.61x the optimised images' loss at 0.85x their
 *    judge distance.
 * 32. Black lead (the 'lead' term, leadShortfall, `--weight lead=N`). 31's probe found the style
 *    term wants lead on the seed's boundaries once the pieces sit on its cells, while tone,
 *    content and the pixel patches charge any line drawn there, and version 11 meets them
 *    halfway with navy seams. The term asks for the painting's darkest tone (its 5th percentile
 *    of luminance, 0.087 for the stained glass) on the band where the seed's boundary channel is
 *    under 0.15 (about 1.5 px either side of a boundary), as a hinge, only where the photo is
 *    flat. Runs from version 11 at its loss, 100 steps, data seed 8, against R (the same
 *    without the term):
 *                                  gallery          by layer                   four others      near-black, photos 2 / 7
 *      version 11                  0.262 / 0.543    0.036 0.176 0.345 0.489    0.253 / 0.484    6.0% / 6.1%
 *      R control                   0.260 / 0.522    0.034 0.175 0.341 0.490    0.250 / 0.462    5.9% / 5.5%
 *      S lead 1 on flat areas      0.237 / 0.384    0.042 0.154 0.313 0.441    0.229 / 0.350    7.0% / 6.6%
 *      T lead 0.3 on flat areas    0.242 / 0.431    0.034 0.163 0.325 0.447    0.233 / 0.384    6.0% / 4.2%
 *      U lead 1, 12 px clear       0.242 / 0.398    0.029 0.160 0.324 0.453    0.234 / 0.357    5.9% / 5.4%
 *      V lead 1, 24 px clear       0.237 / 0.402    0.034 0.149 0.319 0.448    0.233 / 0.358    6.8% / 6.3%
 *      W V with content 5          0.251 / 0.444    0.033 0.159 0.338 0.475    0.245 / 0.395    6.0% / 5.0%
 *      W resumed to 200 steps      0.253 / 0.470    0.031 0.164 0.340 0.476    0.243 / 0.407    6.7% / 5.8%
 *    Every run with the term draws black lead between the pieces on every flat area (the
 *    helmet, the skies, the leaf, the drum's skin), the painting's lattice at last, and the
 *    judge puts S-V 6-9% closer than R on both sets, most at strides 4-16 (the pieces' shapes).
 *    The cost is the scene: SSIM falls 0.09-0.14, and on the portrait the lead crosses the face,
 *    splitting it into pieces with the eyes faint and the mouth lost. Faces are rare in the
 *    training photos and a 128 px crop shows a face's skin as flat, so S charged lead there; a
 *    clearance from the photo's edges (lead charged only on flat areas at least 12 or 24 px from
 *    any edge: 12% and 6% of the training crops' pixels, against 26% flat) costs nothing by the
 *    judge but did not move the lead off the face at the gallery's 512 px. Content at 5 instead
 *    of 3 (W) does: eyes, nose and smile back, the lead still black around and across the
 *    face's pieces, 3.5% closer than R on the gallery and 2% on the four others, SSIM 0.44.
 *    W resumed to 200 steps is level with W100 by the judge (3% closer than R on both sets) and
 *    keeps more of the scene (SSIM 0.47 and 0.41): the lead now goes round the face instead of
 *    across it, eyes, nose and smile clear, the lattice black on the helmet, the skies and the
 *    background. It is mosaic version 12 (the near-black share is no guide to the lead: the
 *    lines are thin, and the pieces lighter). INT8 passes 8/8 (worst MAD 1.18, 0.30x JPEG
 *    90's); its ceiling, against its own loss less the cells and lead terms, is 3.69x the
 *    optimised images' loss at 0.82x their judge distance (version 11 2.61x at 0.85x, on a loss
 *    with content at 3).
 * 33. Elephants and the tone term. Elephants version 3 paints the photo's dark areas (the
 *    spaniels' fur, the helmet, the drum's shadow) as black blobs with green and red fringes; the
 *    painting has no black (0.25% of its pixels under 0.1 luminance, its 5th percentile 0.22).
 *    Runs from version 3 at its loss (covariance, style 1, style scale 2), 200 steps at learning
 *    rate 1e-3, data seed 3:
 *                                  gallery          by layer                   four others
 *      version 3                   0.236 / 0.535    0.070 0.240 0.252 0.384    0.241 / 0.474
 *      E0 control                  0.236 / 0.522    0.057 0.230 0.242 0.414    0.239 / 0.462
 *      E1 batch pooling, flat
 *         content 0.2, margin 8    0.266 / 0.595    0.045 0.277 0.300 0.442    0.271 / 0.518
 *      E2 E1 with the 16 px seed   0.261 / 0.597    0.047 0.261 0.293 0.444    0.266 / 0.516
 *      E3 tone 10                  0.211 / 0.496    0.046 0.205 0.223 0.371    0.216 / 0.426
 *      E3 resumed to 400 steps     0.219 / 0.476    0.033 0.205 0.238 0.400    0.224 / 0.408
 *    The recipe that helped auvers, great-wave and composition-viii (29) takes elephants 11-13%
 *    further from the painting: paler, the photo showing through, because the painting is
 *    brushwork everywhere, with no flat sky or ground for pooling and the flat-area floor to
 *    free. Tone at 10 is 11% closer than the control on the gallery and 10% on the four others,
 *    at every layer but the first: the dark areas become the painting's navy and grey-blue
 *    (near-black pixels on photos 2 and 7: 0.6% and 0.0%, the control 1.5% and 2.8%), the
 *    spaniels and the helmet keep their shapes, the face is as clear. At 400 steps the dark
 *    areas grow green, red and orange fringes again and it is 3-4% further, so 200 steps is
 *    elephants version 4. Its INT8 model passes the export gate on 8 of 8 photos (worst MAD
 *    2.51, 0.65x JPEG 90's), where version 3's failed one and served FP32; its ceiling is 3.91x
 *    the optimised images' loss at 0.73x their judge distance (version 3: 3.57x, 0.81x).
 *    The same term is no help where the painting's tones are already met: auvers version 4 run
 *    200 steps at its loss (data seed 3) with tone at 10 is 4% further than without it on the
 *    gallery (0.214 against 0.206) and 3% on the four others (0.217 against 0.210). The mean
 *    gap between the gallery outputs' luminance quantiles and the painting's says where it may
 *    help: elephants version 4 0.002, mosaic 0.011, great-wave 0.023, auvers 0.025,
 *    composition-viii 0.031, swirl 0.040, hatch 0.065. From their latest versions, 200 steps at
 *    their loss with tone at 10 (no control run; for elephants and auvers the control moved
 *    under 1%): hatch is 5-6% further (0.347 against 0.329, 0.342 against 0.322: it greys the
 *    paper further instead of clearing it), swirl 7% closer on both sets (0.260 against 0.281,
 *    0.255 against 0.274) at SSIM 0.48 and 0.42 (0.53, 0.46): darker blues and large yellow
 *    patches like the painting's stars, but one lies across the portrait's face, the features
 *    fainter. Not shipped; a control and a lower weight come first.
 */
