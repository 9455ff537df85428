/**
 * Builds starter styles into trainer/starter-styles/, the registry folder the platform seeds
 * its data folder from. A style not there yet is created with version 1; a style already there
 * gets a new immutable version, with the reason recorded as its lineage, which running
 * platforms register and canary when they next start (ModelRegistry's seeding).
 *
 *   node --import tsx trainer/src/starter/build.ts auvers                  # train and package
 *   node --import tsx trainer/src/starter/build.ts elephants --reason "retrained with the ImageNet loss"
 *   node --import tsx trainer/src/starter/build.ts hatch --from-weights w.bin --reason "…"   # a finished run
 *
 * Trains on the shipped photos (trainer/photos); style images from Debian packages need
 * `scripts/install-system-deps.sh training`.
 */
import { access, mkdtemp, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import sharp from 'sharp';
import { ModelRegistry } from '@nst/runtime';
import { EXPORTER_VERSION, exportOnnx, STARTER_CONFIG, StyleNet } from '@nst/style-network';
import { createJudge } from '../eval/judge';
import { deriveInt8 } from '../export/int8';
import { initBackend } from '../kernels/backend';
import { RECOMMENDED_RECIPE, trainStyle, type TrainMetadata } from '../train/train';
import { STARTER_STYLES, findStarterStyle, type StarterStyle } from './catalogue';
import { SHIPPED_PHOTOS_DIR } from './training-photos';

export const STARTER_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../starter-styles');

/**
 * The recipe the shipped starter styles were trained with: RECOMMENDED_RECIPE.fromScratch
 * (measured in train/train.ts and loss/style-loss.ts) with the default loss weights, so the
 * starters and a user's own style train the same way; a catalogue entry's training overrides
 * the learning rate and seed its latest version was trained at. Four styles take about 35 minutes on a
 * 2-core machine, two at a time (WASM backend, one core each).
 */
export const STARTER_RECIPE = {
  ...RECOMMENDED_RECIPE.fromScratch,
  seed: 1,
} as const;

async function thumbnailOf(styleImage: Uint8Array): Promise<Buffer> {
  return sharp(styleImage).resize(320, 240, { fit: 'cover' }).jpeg({ quality: 85 }).toBuffer();
}

async function trainedWeights(style: StarterStyle, styleImage: Uint8Array, fromWeights?: string): Promise<{ net: StyleNet; metadata: TrainMetadata; losses: Record<string, number> }> {
  if (fromWeights) {
    // A finished `trainer/src/train/cli.ts` run: the weights plus the metadata it wrote beside them.
    const saved = JSON.parse(await readFile(`${fromWeights}.json`, 'utf8')) as TrainMetadata & { losses: Record<string, number> };
    const { losses, ...metadata } = saved;
    return { net: StyleNet.deserialize(new Uint8Array(await readFile(fromWeights))), metadata, losses };
  }
  return trainStyle({
      style: styleImage,
      photos: SHIPPED_PHOTOS_DIR,
      config: { ...STARTER_CONFIG, ...(style.training?.seedCell !== undefined ? { seedCell: style.training.seedCell } : {}), ...(style.training?.upsampling ? { upsampling: style.training.upsampling } : {}) },
      steps: STARTER_RECIPE.steps,
      batchSize: style.training?.batchSize ?? STARTER_RECIPE.batchSize,
      imageSize: STARTER_RECIPE.imageSize,
      learningRate: style.training?.learningRate ?? STARTER_RECIPE.learningRate,
      seed: style.training?.seed ?? STARTER_RECIPE.seed,
      ...(style.lossWeights ? { lossWeights: style.lossWeights } : {}),
      ...(style.training?.lossNetwork ? { lossNetwork: style.training.lossNetwork } : {}),
      ...(style.training?.styleScale ? { styleScale: style.training.styleScale } : {}),
      ...(style.training?.statistic ? { statistic: style.training.statistic } : {}),
      ...(style.training?.slicedLayers ? { slicedLayers: style.training.slicedLayers } : {}),
      ...(style.training?.patchPools ? { patchPools: style.training.patchPools } : {}),
      ...(style.training?.stylePooling ? { stylePooling: style.training.stylePooling } : {}),
      ...(style.training?.styleLayerWeights ? { styleLayerWeights: style.training.styleLayerWeights } : {}),
      ...(style.training?.deepLayers ? { deepLayers: style.training.deepLayers } : {}),
      ...(style.training?.flatContent !== undefined ? { flatContent: style.training.flatContent } : {}),
      ...(style.training?.lossMargin !== undefined ? { lossMargin: style.training.lossMargin } : {}),
      ...(style.training?.seedWindows ? { seedWindows: style.training.seedWindows } : {}),
      checkpointDir: join(tmpdir(), `nst-starter-ckpt-${style.id}`),
      resume: true,
      onProgress: (p) => {
        if (p.step % 10 === 0 || p.step === p.totalSteps) {
          console.log(`${style.id}: step ${p.step}/${p.totalSteps} loss ${p.losses.total.toFixed(4)} ${p.imagesPerSec.toFixed(2)} img/s ETA ${Math.round(p.etaSeconds)} s`);
        }
      },
    });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Trains (or loads) one style and adds it to the starter folder: a new style whole (assembled in
 * a scratch registry and renamed in, so the committed set never holds half a style), or a new
 * version of a style already there, with `reason` as its lineage.
 */
export async function buildStarterStyle(style: StarterStyle, options: { fromWeights?: string; starterDir?: string; reason?: string; parentVersion?: number } = {}): Promise<number> {
  const starterDir = options.starterDir ?? STARTER_DIR;
  const existing = await exists(join(starterDir, style.id));
  if (existing && !options.reason) throw new Error(`${style.id} is already a starter style: say why it gets a new version with --reason`);
  const styleImage = new Uint8Array(await style.styleImage());
  const { net, metadata, losses } = await trainedWeights(style, styleImage, options.fromWeights);
  const model = exportOnnx(net);
  // The INT8 model, as every export makes it (export/int8.ts).
  const judge = createJudge();
  const int8 = await deriveInt8(model, { photosDir: SHIPPED_PHOTOS_DIR, judge: judge.extract }).finally(() => judge.dispose());
  const version = {
    model,
    derivedModels: { int8: { ...int8.info, model: int8.model } },
    weights: net.serialize(),
    metadata: {
      parentVersion: options.parentVersion ?? null,
      exporterVersion: EXPORTER_VERSION,
      network: { ...metadata.hyperparameters.config },
      hyperparameters: { ...metadata.hyperparameters, photoCount: metadata.photoCount, backend: metadata.backend, msPerStep: metadata.msPerStep },
      dataHashes: { styleImage: metadata.styleSha256, photos: metadata.photosSha256 },
      losses,
      origin: 'starter' as const,
      ...(options.reason ? { reason: options.reason } : {}),
      servePrecision: int8.info.passed ? ('int8' as const) : ('fp32' as const),
    },
  };
  try {
    if (existing) {
      const registry = await ModelRegistry.open(starterDir);
      const record = await registry.registerVersion(style.id, version);
      console.log(`${style.id}: version ${record.version} written to ${record.paths.dir}`);
      return record.version;
    }
    await mkdir(starterDir, { recursive: true });
    const scratch = await mkdtemp(join(starterDir, '.build-'));
    try {
      const registry = await ModelRegistry.open(scratch);
      await registry.createStyle({
        id: style.id,
        displayName: style.displayName,
        description: style.description,
        origin: style.origin,
        licence: style.licence,
        styleImage: new Uint8Array(await sharp(styleImage).resize(1024, 1024, { fit: 'inside' }).jpeg({ quality: 90 }).toBuffer()),
        thumbnail: new Uint8Array(await thumbnailOf(styleImage)),
      });
      await registry.registerVersion(style.id, version);
      await rename(join(scratch, style.id), join(starterDir, style.id));
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    console.log(`${style.id}: written to ${join(starterDir, style.id)}`);
    return 1;
  } finally {
    net.dispose();
  }
}

async function main(): Promise<void> {
  const program = new Command()
    .name('nst-starter')
    .description('Train and package starter styles into trainer/starter-styles')
    .argument('[styles...]', `style ids (${STARTER_STYLES.map((s) => s.id).join(', ')})`)
    .option('--all', 'every starter style')
    .option('--from-weights <file>', 'package weights from a finished training run instead of training (one style)', (v) => {
      if (!v) throw new InvalidArgumentError('expected a file');
      return v;
    })
    .option('--reason <text>', "why an existing starter style gets a new version (recorded as the version's reason)")
    .option('--parent <version>', 'the version the --from-weights run continued from (its --init), recorded as lineage', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a version number');
      return n;
    })
    .parse();
  const opts = program.opts<{ all?: boolean; fromWeights?: string; reason?: string; parent?: number }>();
  const ids = opts.all ? STARTER_STYLES.map((s) => s.id) : (program.args as string[]);
  if (ids.length === 0) program.error('name at least one style, or --all');
  if (opts.fromWeights && ids.length !== 1) program.error('--from-weights packages exactly one style');
  if (opts.parent !== undefined && !opts.fromWeights) program.error('--parent goes with --from-weights (the run that continued from it)');
  await initBackend();
  for (const id of ids) {
    await buildStarterStyle(findStarterStyle(id), { ...(opts.fromWeights ? { fromWeights: opts.fromWeights } : {}), ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.parent !== undefined ? { parentVersion: opts.parent } : {}) });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
