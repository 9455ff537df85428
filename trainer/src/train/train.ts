/**
 * trainStyle: trains (or fine-tunes) a feed-forward StyleNet on one style image and a folder
 * of photos with the random-feature perceptual loss, on the fastest TF.js backend available.
 */
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, wasmThreadCount, type TrainingBackend } from '../kernels/backend.js';
import { StyleLoss, lossValues, type FeatureTransform, type LossNetworkName, type LossValues, type LossWeights, type StyleStatistic, type StylePooling, type InceptionDeepLayer, DEFAULT_LOSS_WEIGHTS, TRAINING_LOSS_SEED } from '../loss/style-loss.js';
import { StyleNet, type SeedOrigin, type StyleNetConfig } from '@nst/style-network';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { RECOMMENDED_RECIPE } from './recipe.js';
import { decodeImage, encodeJpeg, PhotoSource, Rng, sha256 } from './photos.js';

export interface TrainProgress {
  step: number;
  totalSteps: number;
  losses: LossValues;
  imagesPerSec: number;
  etaSeconds: number;
  /** Small JPEG of the network's current output on a fixed photo (every previewEvery steps). */
  preview?: Uint8Array;
}

export interface TrainOptions {
  /** The style image: a file path, encoded image bytes, or an HWC float tensor in [0, 1]. */
  style: string | Uint8Array | tf.Tensor3D;
  /** A folder of training photos (searched recursively for jpg/png/webp). */
  photos: string;
  /** Shape of a new network; ignored when `initial` is given or a checkpoint is resumed. */
  config?: StyleNetConfig;
  /** Start from this network (fine-tuning). Not disposed; the result is a separate network. */
  initial?: StyleNet;
  steps: number;
  batchSize?: number;
  imageSize?: number;
  learningRate?: number;
  lossWeights?: Partial<LossWeights>;
  /** Style image size relative to crops (larger: finer strokes). Default 1. */
  styleScale?: number;
  /** Seed of the network initialisation and the data order. Default 1. */
  seed?: number;
  /** Feature network of the perceptual loss (default 'random'; LossNetworkName in loss/style-loss). */
  lossNetwork?: LossNetworkName;
  /** What the style statistics are taken of (default 'raw'; FeatureTransform in loss/style-loss). */
  featureTransform?: FeatureTransform;
  /** Loss crop offsets cycled over (default 0; StyleLossOptions.phaseJitter). */
  phaseJitter?: number;
  /** Feature layers matched for style (default all; StyleLossOptions.styleLayers). */
  styleLayers?: number[];
  /** Output sizes at which style is matched (StyleLossOptions.scales; default the loss network's). */
  lossScales?: number[];
  /** Statistic matched for style (default 'covariance'; StyleStatistic in loss/style-loss). */
  statistic?: StyleStatistic;
  /** With statistic 'sliced', the layers it applies to (StyleLossOptions.slicedLayers; default all). */
  slicedLayers?: number[];
  /** Multiplies each feature layer's style term (StyleLossOptions.styleLayerWeights; default 1 each). */
  styleLayerWeights?: number[];
  /** With a 'patches' loss weight, the pooling factors of its pyramid (StyleLossOptions.patchPools). */
  patchPools?: number[];
  /** Style statistics per image or pooled over the batch (StyleLossOptions.stylePooling; default 'image'). */
  stylePooling?: StylePooling;
  /** Share of the content term kept where the photo is flat (StyleLossOptions.flatContent; default 1). */
  flatContent?: number;
  /** Pixels of reflection around what the loss network sees (StyleLossOptions.margin; default 0). */
  lossMargin?: number;
  /** InceptionV3 layers past mixed2 added to the style term (StyleLossOptions.deepLayers; default none). */
  deepLayers?: InceptionDeepLayer[];
  /**
   * Seeded networks: whether the batch's images read one window of the cell seed ('batch', as
   * every version before the choice) or a window each ('image'), so a batch shows four times
   * as many distinct cells (MEASUREMENTS 27a).
   */
  seedWindows?: SeedWindows;
  checkpointDir?: string;
  /** Save a checkpoint every this many steps (default 50), and at the end / on abort. */
  checkpointEvery?: number;
  /** Continue from the checkpoint in checkpointDir, if there is one. */
  resume?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: TrainProgress) => void | Promise<void>;
  /** Attach a preview to progress every this many steps (default 25; 0 = never). */
  previewEvery?: number;
  previewSize?: number;
  /** Force a backend (default: initBackend's choice, which honours NST_TF_BACKEND). */
  backend?: TrainingBackend;
  /**
   * Threads of the WASM backend: each op of a step split across them (default:
   * NST_TRAIN_THREADS, else 1). The count is process-wide: set it before any tensor exists
   * (an `initial` network made on a backend of another count is refused).
   */
  threads?: number;
}

export interface TrainMetadata {
  hyperparameters: {
    steps: number;
    batchSize: number;
    imageSize: number;
    learningRate: number;
    lossWeights: LossWeights;
    styleScale: number;
    seed: number;
    lossSeed: number;
    /** Absent in versions trained before the choice existed: those used 'random'. */
    lossNetwork?: LossNetworkName;
    /** Absent in versions trained before the choice existed: those used 'raw'. */
    featureTransform?: FeatureTransform;
    /** Absent when 0 (one phase), as in every version trained before it existed. */
    phaseJitter?: number;
    /** Absent when every layer was matched. */
    styleLayers?: number[];
    /** Absent when the loss network's default scales were used. */
    lossScales?: number[];
    /** Absent for 'covariance', which every version before the choice matched. */
    statistic?: StyleStatistic;
    /** Absent when every layer was sliced (or the statistic is not 'sliced'). */
    slicedLayers?: number[];
    /** Absent when every layer's style term weighed 1. */
    styleLayerWeights?: number[];
    /** Absent when the patch term is off or used DEFAULT_PATCH_POOLS. */
    patchPools?: number[];
    /** Absent for 'image', which every version before the choice used. */
    stylePooling?: StylePooling;
    /** Absent when 1 (content charged everywhere alike), as in every version before the choice. */
    flatContent?: number;
    /** Absent when 0 (the loss network saw the bare crop), as in every version before the choice. */
    lossMargin?: number;
    /** Absent when none. */
    deepLayers?: InceptionDeepLayer[];
    /** Absent for 'batch', which every seeded version before the choice used. */
    seedWindows?: SeedWindows;
    config: StyleNetConfig;
    optimizer: 'adam';
  };
  /** SHA-256 of the style image (file/encoded bytes, or float32 data for a tensor). */
  styleSha256: string;
  /** SHA-256 of the sorted list of the training photos' SHA-256 hashes. */
  photosSha256: string;
  photoCount: number;
  backend: TrainingBackend;
  /** WASM threads (absent on other backends, and in versions trained before the choice: 1). */
  threads?: number;
  finetuned: boolean;
  resumedFromStep?: number;
  stepsCompleted: number;
  msPerStep: number;
  startedAt: string;
  finishedAt: string;
}

export interface TrainResult {
  net: StyleNet;
  losses: LossValues;
  metadata: TrainMetadata;
}

export { RECOMMENDED_RECIPE };

export const DEFAULT_TRAIN_OPTIONS = {
  batchSize: 4,
  imageSize: 256,
  // The recipe's rate, so a command-line run without --lr trains at a job's rate (a run that
  // silently differed from it misled MEASUREMENTS 18).
  learningRate: RECOMMENDED_RECIPE.fromScratch.learningRate,
  checkpointEvery: 50,
  previewEvery: 25,
  previewSize: 160,
  seed: 1,
  styleScale: 1,
} as const;

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error(typeof reason === 'string' ? reason : 'training aborted');
  error.name = 'AbortError';
  return error;
}

async function loadStyle(style: TrainOptions['style']): Promise<{ tensor: tf.Tensor3D; sha256: string; owned: boolean }> {
  if (style instanceof tf.Tensor) {
    const data = style.dataSync() as Float32Array;
    return { tensor: style, sha256: sha256(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)), owned: false };
  }
  const bytes = typeof style === 'string' ? new Uint8Array(await readFile(style)) : style;
  // Bounded: the loss resizes it to about the crop area anyway.
  const decoded = await decodeImage(bytes, 1024);
  return {
    tensor: tf.tensor3d(decoded.pixels, [decoded.height, decoded.width, 3]),
    sha256: sha256(bytes),
    owned: true,
  };
}

/**
 * tfjs's AdamOptimizer.setWeights recomputes its bias-correction powers (beta^(t+1)) with
 * pow(), where the run that saved the checkpoint multiplied them up step by step in float32.
 * The two differ in the last bit, which Adam amplifies to a fraction of a step wherever a
 * gradient is pure noise. Redoing the product makes a resumed run continue bit for bit.
 * (The powers are the optimizer's own fields: tfjs has no API to restore them.)
 */
function restoreBiasCorrection(optimizer: tf.AdamOptimizer, steps: number): void {
  const adam = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable; beta1: number; beta2: number };
  if (!adam.accBeta1 || !adam.accBeta2) throw new Error('this tfjs AdamOptimizer keeps no accBeta1/accBeta2: restoreBiasCorrection needs updating');
  const power = (beta: number) => {
    let acc = Math.fround(beta);
    for (let i = 0; i < steps; i++) acc = Math.fround(acc * Math.fround(beta));
    return acc;
  };
  tf.tidy(() => {
    adam.accBeta1!.assign(tf.scalar(power(adam.beta1)));
    adam.accBeta2!.assign(tf.scalar(power(adam.beta2)));
  });
}

/**
 * Where in the cell-seed plane a step's crops sit (only seeded networks read it): a different
 * window every step, so the network learns the seed's cells and not one fixed patch of them, and
 * a function of the step alone, so a resumed run sees what an unbroken one would have.
 */
export function seedOrigin(step: number): SeedOrigin {
  return [(step * 7919) % 4093, (step * 6271) % 4091];
}

/** See TrainOptions.seedWindows. */
export type SeedWindows = 'batch' | 'image';

/**
 * The seed windows of a step's batch: seedOrigin(step) for all ('batch'), or one per image
 * ('image'), the first of them seedOrigin(step) and the rest further along the same sequence.
 */
export function seedOrigins(step: number, batchSize: number, windows: SeedWindows): SeedOrigin | SeedOrigin[] {
  if (windows === 'batch') return seedOrigin(step);
  return Array.from({ length: batchSize }, (_, i) => seedOrigin(step + i * 1_000_003));
}

function cloneNet(net: StyleNet): StyleNet {
  return StyleNet.deserialize(net.serialize());
}

/** Shorter-side centre crop of the first photo, for previews. */
async function previewInput(source: PhotoSource, size: number): Promise<tf.Tensor4D> {
  const first = source.files[0]!;
  const decoded = await decodeImage(first, size * 2);
  return tf.tidy(() => {
    const image = tf.tensor4d(decoded.pixels, [1, decoded.height, decoded.width, 3]);
    const side = Math.min(decoded.height, decoded.width);
    const top = Math.floor((decoded.height - side) / 2);
    const left = Math.floor((decoded.width - side) / 2);
    return tf.image.resizeBilinear(tf.slice(image, [0, top, left, 0], [1, side, side, 3]), [size, size], true);
  });
}

async function renderPreview(net: StyleNet, input: tf.Tensor4D): Promise<Uint8Array> {
  const pixels = tf.tidy(() => tf.clipByValue(net.apply(input), 0, 1).dataSync() as Float32Array);
  const [, h, w] = input.shape;
  return encodeJpeg(pixels, w, h, 75);
}

export async function trainStyle(options: TrainOptions): Promise<TrainResult> {
  const startedAt = new Date();
  const backend = await initBackend(options.backend, options.threads !== undefined ? { threads: options.threads } : {});
  const batchSize = options.batchSize ?? DEFAULT_TRAIN_OPTIONS.batchSize;
  const imageSize = options.imageSize ?? DEFAULT_TRAIN_OPTIONS.imageSize;
  const learningRate = options.learningRate ?? DEFAULT_TRAIN_OPTIONS.learningRate;
  const checkpointEvery = options.checkpointEvery ?? DEFAULT_TRAIN_OPTIONS.checkpointEvery;
  const previewEvery = options.previewEvery ?? DEFAULT_TRAIN_OPTIONS.previewEvery;
  const previewSize = options.previewSize ?? DEFAULT_TRAIN_OPTIONS.previewSize;
  const seed = options.seed ?? DEFAULT_TRAIN_OPTIONS.seed;
  const styleScale = options.styleScale ?? DEFAULT_TRAIN_OPTIONS.styleScale;
  const lossWeights: LossWeights = { ...DEFAULT_LOSS_WEIGHTS, ...options.lossWeights };
  const signal = options.signal;
  if (signal?.aborted) throw abortError(signal);

  const photos = await PhotoSource.open(options.photos, { imageSize });
  const style = await loadStyle(options.style);
  const lossNetwork = options.lossNetwork ?? 'random';
  const featureTransform = options.featureTransform ?? 'raw';
  const loss = new StyleLoss({ styleImage: style.tensor, imageSize, weights: lossWeights, styleScale, network: lossNetwork, featureTransform, ...(options.phaseJitter !== undefined ? { phaseJitter: options.phaseJitter } : {}), ...(options.styleLayers ? { styleLayers: options.styleLayers } : {}), ...(options.lossScales ? { scales: options.lossScales } : {}), ...(options.statistic ? { statistic: options.statistic } : {}), ...(options.slicedLayers ? { slicedLayers: options.slicedLayers } : {}), ...(options.styleLayerWeights ? { styleLayerWeights: options.styleLayerWeights } : {}), ...(options.patchPools ? { patchPools: options.patchPools } : {}), ...(options.stylePooling ? { stylePooling: options.stylePooling } : {}), ...(options.flatContent !== undefined ? { flatContent: options.flatContent } : {}), ...(options.lossMargin !== undefined ? { margin: options.lossMargin } : {}), ...(options.deepLayers?.length ? { deepLayers: options.deepLayers } : {}) });
  const seedWindows = options.seedWindows ?? 'batch';
  if (style.owned) style.tensor.dispose();

  const checkpoint = options.resume && options.checkpointDir ? await loadCheckpoint(options.checkpointDir) : undefined;
  let net: StyleNet;
  if (checkpoint) net = StyleNet.deserialize(checkpoint.weights);
  else if (options.initial) net = cloneNet(options.initial);
  else if (options.config) net = StyleNet.create(options.config, seed);
  else throw new Error('trainStyle needs a config, an initial network, or a checkpoint to resume');
  if (loss.readsSeed && net.config.seedCell === undefined) {
    net.dispose();
    loss.dispose();
    throw new Error('the cells and lead loss terms charge the output on the cell seed\'s cells and their boundaries, and this network reads no seed: give it one (--seed-cell) or drop those weights');
  }

  const hyperparameters: TrainMetadata['hyperparameters'] = {
    steps: options.steps,
    batchSize,
    imageSize,
    learningRate,
    lossWeights,
    styleScale,
    seed,
    lossSeed: TRAINING_LOSS_SEED,
    lossNetwork,
    ...(featureTransform !== 'raw' ? { featureTransform } : {}),
    ...(loss.phaseJitter > 0 ? { phaseJitter: loss.phaseJitter } : {}),
    ...(options.styleLayers ? { styleLayers: options.styleLayers } : {}),
    ...(options.lossScales ? { lossScales: options.lossScales } : {}),
    ...(options.statistic && options.statistic !== 'covariance' ? { statistic: options.statistic } : {}),
    ...(loss.slicedLayers ? { slicedLayers: [...loss.slicedLayers] } : {}),
    ...(options.styleLayerWeights ? { styleLayerWeights: options.styleLayerWeights } : {}),
    ...(lossWeights.patches > 0 && options.patchPools ? { patchPools: options.patchPools } : {}),
    ...(loss.stylePooling !== 'image' ? { stylePooling: loss.stylePooling } : {}),
    ...(loss.flatContent < 1 ? { flatContent: loss.flatContent } : {}),
    ...(loss.margin > 0 ? { lossMargin: loss.margin } : {}),
    ...(options.deepLayers?.length ? { deepLayers: options.deepLayers } : {}),
    ...(seedWindows !== 'batch' && net.config.seedCell !== undefined ? { seedWindows } : {}),
    config: net.config,
    optimizer: 'adam',
  };
  if (checkpoint) {
    const saved = checkpoint.manifest.hyperparameters['config'];
    if (JSON.stringify(saved) !== JSON.stringify(net.config)) {
      throw new Error(`checkpoint network ${JSON.stringify(saved)} does not match its weights ${JSON.stringify(net.config)}`);
    }
  }

  const variables = Object.values(net.variables);
  const optimizer = tf.train.adam(learningRate);
  let step = 0;
  const rng = new Rng(seed ^ 0x9e3779b9);
  if (checkpoint) {
    // Adam keeps its moments by position in the variable list; StyleNet's order is stable.
    await optimizer.setWeights(checkpoint.optimizerWeights);
    tf.dispose(checkpoint.optimizerWeights.map((w) => w.tensor));
    step = checkpoint.manifest.step;
    restoreBiasCorrection(optimizer, step);
    rng.state = checkpoint.manifest.rngState;
  }
  const resumedFromStep = checkpoint ? step : undefined;

  const preview = previewEvery > 0 && options.onProgress ? await previewInput(photos, previewSize) : undefined;
  let losses: LossValues = lossValues(() => NaN);
  let lastSavedStep = step;

  // RNG state from which the first batch not yet trained on is drawn: what a resume needs.
  // (The next batch is prefetched, so rng.state itself is usually one batch ahead.)
  let resumeRngState = rng.state;
  const save = async () => {
    if (!options.checkpointDir || lastSavedStep === step) return;
    const optimizerWeights = await optimizer.getWeights();
    try {
      await saveCheckpoint(
        options.checkpointDir,
        { step, rngState: resumeRngState, losses, hyperparameters },
        net.serialize(),
        optimizerWeights,
      );
    } finally {
      // getWeights makes a fresh scalar for the iteration count; the rest are live state.
      optimizerWeights.find((w) => w.name === 'iter')?.tensor.dispose();
    }
    lastSavedStep = step;
  };
  const prefetch = () => {
    resumeRngState = rng.state;
    return step < options.steps ? photos.batch(rng, batchSize) : undefined;
  };

  // Decoding and cropping run on sharp's threads while the step computes.
  let nextBatch = prefetch();
  const stepTimes: number[] = [];
  let totalStepMs = 0;
  const firstStep = step;
  try {
    while (nextBatch) {
      if (signal?.aborted) {
        await save();
        throw abortError(signal);
      }
      const batch = await nextBatch;
      const started = performance.now();
      let terms: Record<string, tf.Scalar> = {};
      const x = tf.tensor4d(batch.pixels, [batch.batch, batch.size, batch.size, 3]);
      const cost = optimizer.minimize(
        () => {
          const origins = seedOrigins(step, batch.batch, seedWindows);
          const out = net.apply(x, origins);
          const t = loss.terms(out, x, loss.readsSeed ? net.cellSeed(batch.batch, batch.size, batch.size, origins) : undefined);
          terms = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, tf.keep(v)]));
          return t.total;
        },
        true,
        variables,
      );
      losses = lossValues((term) => (term === 'total' ? cost?.dataSync()[0] : terms[term]?.dataSync()[0]) ?? NaN);
      tf.dispose([x, ...(cost ? [cost] : []), ...Object.values(terms)]);
      step += 1;
      nextBatch = prefetch();
      const ms = performance.now() - started;
      totalStepMs += ms;
      stepTimes.push(ms);
      if (stepTimes.length > 10) stepTimes.shift();
      if (!Number.isFinite(losses.total)) throw new Error(`training diverged at step ${step}: loss ${losses.total}`);

      if (step % checkpointEvery === 0 || step === options.steps) await save();
      if (options.onProgress) {
        const msPerStep = stepTimes.reduce((a, b) => a + b, 0) / stepTimes.length;
        const progress: TrainProgress = {
          step,
          totalSteps: options.steps,
          losses,
          imagesPerSec: (batchSize * 1000) / msPerStep,
          etaSeconds: ((options.steps - step) * msPerStep) / 1000,
        };
        if (preview && (step % previewEvery === 0 || step === options.steps)) progress.preview = await renderPreview(net, preview);
        await options.onProgress(progress);
      }
      // Let I/O (servers, the abort signal) run between the synchronous WASM steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } catch (error) {
    net.dispose();
    throw error;
  } finally {
    await nextBatch?.catch(() => undefined);
    optimizer.dispose();
    loss.dispose();
    preview?.dispose();
  }

  const stepsRun = step - firstStep;
  return {
    net,
    losses,
    metadata: {
      hyperparameters,
      styleSha256: style.sha256,
      photosSha256: photos.datasetHash,
      photoCount: photos.files.length,
      backend,
      ...(backend === 'wasm' ? { threads: wasmThreadCount() } : {}),
      finetuned: options.initial !== undefined,
      ...(resumedFromStep !== undefined ? { resumedFromStep } : {}),
      stepsCompleted: step,
      msPerStep: stepsRun > 0 ? totalStepMs / stepsRun : 0,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
    },
  };
}
