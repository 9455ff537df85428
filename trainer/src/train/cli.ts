/**
 * Train a style from the command line:
 *   node --import tsx trainer/src/train/cli.ts --style painting.jpg --photos photos/ \
 *     --steps 300 --size 256 --batch 4 --out style.weights
 * Writes the serialized StyleNet weights (and <out>.json with metadata) and prints one
 * progress line per step.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { initBackend } from '../kernels/backend.js';
import { JOHNSON_CONFIG, STARTER_CONFIG, StyleNet, type StyleNetConfig } from '@nst/style-network';
import { trainStyle, DEFAULT_TRAIN_OPTIONS, type SeedWindows } from './train.js';
import { INCEPTION_DEEP_LAYERS, type InceptionDeepLayer, type StylePooling, type StyleStatistic } from '../loss/style-loss.js';
import { LOSS_TERMS } from '../loss/terms.js';
import { lossWeightArgument } from './arguments.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

const program = new Command()
  .name('nst-train')
  .description('Train a feed-forward style network on one style image and a folder of photos')
  .requiredOption('--style <image>', 'the style image (painting)')
  .requiredOption('--photos <dir>', 'folder of training photos (jpg/png/webp, recursive)')
  .requiredOption('--out <file>', 'where to write the serialized weights')
  .option('--steps <n>', 'training steps', positiveInt, 300)
  .option('--size <px>', 'crop size', positiveInt, DEFAULT_TRAIN_OPTIONS.imageSize)
  .option('--batch <n>', 'batch size', positiveInt, DEFAULT_TRAIN_OPTIONS.batchSize)
  .option('--lr <rate>', 'Adam learning rate', positiveNumber, DEFAULT_TRAIN_OPTIONS.learningRate)
  .option('--config <name>', 'network shape: starter | johnson', 'starter')
  .option('--upsampling <name>', "the decoder's x2 upsampling: nearest | bilinear; with --init, given explicitly, switches that network's decoder (same weights)", 'nearest')
  .option('--skip', "add the first conv's full-resolution features before the output conv")
  .option('--seed-cell <px>', 'feed the cell seed (a Voronoi pattern, this grid spacing in pixels: cell values and boundary distances) as two more input channels; with --init, an unseeded network gains it with zero weights', positiveInt)
  .option('--init <weights>', 'fine-tune from these serialized weights instead of a fresh network')
  .option('--weight <term=value>', `loss weight (${LOSS_TERMS.join(', ')}); repeatable`, lossWeightArgument, {})
  .option('--style-scale <x>', 'style image size relative to crops', positiveNumber, DEFAULT_TRAIN_OPTIONS.styleScale)
  .option('--seed <n>', 'seed', positiveInt, DEFAULT_TRAIN_OPTIONS.seed)
  .option('--loss-network <name>', 'perceptual loss network: random | inception', 'random')
  .option('--feature-transform <name>', 'style statistics of: raw | softmax features', 'raw')
  .option('--phase-jitter <px>', 'loss crop offsets cycled over (default 0)', (v) => Number(v))
  .option('--style-layers <list>', 'feature layers matched for style, e.g. 1,2,3,4 (default all)', (v) => v.split(',').map(Number))
  .option('--loss-scales <list>', 'output sizes at which style is matched, e.g. 1,0.5 (default: 1 for inception)', (v) => v.split(',').map(Number))
  .option('--statistic <name>', 'style statistic: covariance | gram | sliced', 'covariance')
  .option('--sliced-layers <list>', 'with --statistic sliced: the loss layers it applies to, the rest matched by covariance, e.g. 3,4 (default all)', (v) => v.split(',').map(Number))
  .option('--style-layer-weights <list>', "multiplies each loss layer's style term, e.g. 1,1,1,5,5 (default 1 each)", (v) => v.split(',').map(Number))
  .option('--style-pooling <name>', 'style statistics per image | pooled over the batch (default image)', (v) => {
    if (v !== 'image' && v !== 'batch') throw new InvalidArgumentError('use image or batch');
    return v;
  })
  .option('--flat-content <share>', 'share of the content term kept where the photo is flat (default 1: everywhere alike)', (v) => {
    const share = Number(v);
    if (!(share >= 0 && share <= 1)) throw new InvalidArgumentError('use a number from 0 to 1');
    return share;
  })
  .option('--loss-margin <px>', 'pixels of reflection around the output before the loss network sees it, so its edges are charged like its middle (default 0)', (v) => {
    const px = Number(v);
    if (!(Number.isInteger(px) && px >= 0)) throw new InvalidArgumentError('use a whole number of pixels');
    return px;
  })
  .option('--deep-layers <list>', `InceptionV3 layers added to the style term, e.g. mixed3,mixed4 (${INCEPTION_DEEP_LAYERS.join(', ')})`, (v) => {
    const layers = v.split(',');
    const unknown = layers.filter((l) => !(INCEPTION_DEEP_LAYERS as readonly string[]).includes(l));
    if (unknown.length) throw new InvalidArgumentError(`unknown layer ${unknown.join(', ')} (${INCEPTION_DEEP_LAYERS.join(', ')})`);
    return layers as InceptionDeepLayer[];
  })
  .option('--seed-windows <mode>', 'seeded networks: one window of the cell seed per batch | per image (default batch)', (v) => {
    if (v !== 'batch' && v !== 'image') throw new InvalidArgumentError('use batch or image');
    return v;
  })
  .option('--patch-pools <list>', 'with --weight patches=N: average-pooling factors at which pixel patches are matched, e.g. 1,2,4 (default 1)', (v) => v.split(',').map(Number))
  .option('--checkpoint-dir <dir>', 'checkpoint folder (resumes from it when it holds one)')
  .option('--checkpoint-every <n>', 'steps between checkpoints', positiveInt, DEFAULT_TRAIN_OPTIONS.checkpointEvery)
  .option('--preview <file>', 'write the latest preview JPEG here')
  .option('--threads <n>', 'WASM backend threads (default: NST_TRAIN_THREADS, else 1; the cores to use)', positiveInt);

interface CliOptions {
  style: string;
  photos: string;
  out: string;
  steps: number;
  size: number;
  batch: number;
  lr: number;
  config: string;
  upsampling: string;
  skip?: boolean;
  seedCell?: number;
  init?: string;
  weight: Record<string, number>;
  styleScale: number;
  seed: number;
  lossNetwork: string;
  featureTransform: string;
  phaseJitter?: number;
  styleLayers?: number[];
  lossScales?: number[];
  statistic: string;
  slicedLayers?: number[];
  styleLayerWeights?: number[];
  patchPools?: number[];
  stylePooling?: StylePooling;
  flatContent?: number;
  lossMargin?: number;
  deepLayers?: InceptionDeepLayer[];
  seedWindows?: SeedWindows;
  checkpointDir?: string;
  checkpointEvery: number;
  preview?: string;
  threads?: number;
}

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<CliOptions>();
  const configs: Record<string, StyleNetConfig> = { starter: STARTER_CONFIG, johnson: JOHNSON_CONFIG };
  const shape = configs[o.config];
  if (!shape) throw new Error(`unknown --config ${o.config} (starter | johnson)`);
  if (o.upsampling !== 'nearest' && o.upsampling !== 'bilinear') throw new Error(`unknown --upsampling ${o.upsampling} (nearest | bilinear)`);
  const config: StyleNetConfig = { ...shape, ...(o.upsampling === 'bilinear' ? { upsampling: 'bilinear' as const } : {}), ...(o.skip ? { skip: true } : {}), ...(o.seedCell !== undefined ? { seedCell: o.seedCell } : {}) };
  if (o.lossNetwork !== 'random' && o.lossNetwork !== 'inception') throw new Error(`unknown --loss-network ${o.lossNetwork} (random | inception)`);
  const lossNetwork = o.lossNetwork;
  if (o.statistic !== 'covariance' && o.statistic !== 'gram' && o.statistic !== 'sliced') throw new Error(`unknown --statistic ${o.statistic} (covariance | gram | sliced)`);
  const statistic: StyleStatistic = o.statistic;
  if (o.featureTransform !== 'raw' && o.featureTransform !== 'softmax') throw new Error(`unknown --feature-transform ${o.featureTransform} (raw | softmax)`);
  const featureTransform = o.featureTransform;
  // Before any tensor: the thread count is fixed once tensors live on the backend.
  await initBackend(undefined, o.threads !== undefined ? { threads: o.threads } : {});
  let initial = o.init ? StyleNet.deserialize(new Uint8Array(await readFile(o.init))) : undefined;
  if (initial && o.seedCell !== undefined && initial.config.seedCell === undefined) {
    const seeded = initial.withCellSeed(o.seedCell);
    initial.dispose();
    initial = seeded;
  }
  if (initial && program.getOptionValueSource('upsampling') === 'cli' && (initial.config.upsampling ?? 'nearest') !== o.upsampling) {
    const switched = initial.withUpsampling(o.upsampling);
    initial.dispose();
    initial = switched;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted (SIGINT)')));

  const result = await trainStyle({
    style: o.style,
    photos: o.photos,
    config,
    ...(initial ? { initial } : {}),
    steps: o.steps,
    batchSize: o.batch,
    imageSize: o.size,
    learningRate: o.lr,
    lossWeights: o.weight,
    styleScale: o.styleScale,
    seed: o.seed,
    lossNetwork,
    featureTransform,
    ...(o.phaseJitter !== undefined ? { phaseJitter: o.phaseJitter } : {}),
    ...(o.styleLayers ? { styleLayers: o.styleLayers } : {}),
    ...(o.lossScales ? { lossScales: o.lossScales } : {}),
    statistic,
    ...(o.slicedLayers ? { slicedLayers: o.slicedLayers } : {}),
    ...(o.styleLayerWeights ? { styleLayerWeights: o.styleLayerWeights } : {}),
    ...(o.patchPools ? { patchPools: o.patchPools } : {}),
    ...(o.stylePooling ? { stylePooling: o.stylePooling } : {}),
    ...(o.flatContent !== undefined ? { flatContent: o.flatContent } : {}),
    ...(o.lossMargin !== undefined ? { lossMargin: o.lossMargin } : {}),
    ...(o.deepLayers ? { deepLayers: o.deepLayers } : {}),
    ...(o.seedWindows ? { seedWindows: o.seedWindows } : {}),
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.checkpointDir ? { checkpointDir: o.checkpointDir, resume: true } : {}),
    checkpointEvery: o.checkpointEvery,
    signal: controller.signal,
    previewEvery: o.preview ? 25 : 0,
    onProgress: async (p) => {
      const l = p.losses;
      const terms = Object.entries(l)
        .map(([name, value]) => `${name}=${value.toFixed(4)}`)
        .join(' ');
      console.log(
        `step ${p.step}/${p.totalSteps} ${terms} ${p.imagesPerSec.toFixed(2)} img/s ETA ${formatSeconds(p.etaSeconds)}`,
      );
      if (p.preview && o.preview) await writeFile(o.preview, p.preview);
    },
  });
  await writeFile(o.out, result.net.serialize());
  await writeFile(`${o.out}.json`, JSON.stringify({ losses: result.losses, ...result.metadata }, null, 2));
  console.log(
    `wrote ${o.out} (${result.metadata.stepsCompleted} steps, ${result.metadata.msPerStep.toFixed(0)} ms/step on ${result.metadata.backend}${result.metadata.threads ? `, ${result.metadata.threads} thread${result.metadata.threads > 1 ? 's' : ''}` : ''})`,
  );
  initial?.dispose();
  result.net.dispose();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
