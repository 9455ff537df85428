/**
 * Builds (or rebuilds) starter styles into trainer/starter-styles/, the registry folder the
 * platform seeds a fresh data folder from. One command per style:
 *
 *   node --import tsx trainer/src/starter/build.ts elephants            # train and package
 *   node --import tsx trainer/src/starter/build.ts --all
 *   node --import tsx trainer/src/starter/build.ts hatch --from-weights w.bin   # package a finished run
 *
 * Needs Debian's photo packages (scripts/install-system-deps.sh training).
 */
import { mkdtemp, mkdir, readFile, rename, rm, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import sharp from 'sharp';
import { ModelRegistry } from '@nst/runtime';
import { EXPORTER_VERSION, exportOnnx } from '../export/onnx';
import { initBackend } from '../kernels/backend';
import { STARTER_CONFIG, StyleNet } from '../model/network';
import { RECOMMENDED_RECIPE, trainStyle, type TrainMetadata } from '../train/train';
import { PHOTO_PACKAGES, STARTER_STYLES, TRAINING_PHOTOS, findStarterStyle, type StarterStyle } from './catalogue';

export const STARTER_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../starter-styles');

/**
 * The recipe the shipped starter styles were trained with: RECOMMENDED_RECIPE.fromScratch
 * (measured in train/train.ts and loss/style_loss.ts) with the default loss weights, so the
 * starters and a user's own style train the same way. Four styles take about 35 minutes on a
 * 2-core machine, two at a time (WASM backend, one core each).
 */
export const STARTER_RECIPE = {
  ...RECOMMENDED_RECIPE.fromScratch,
  seed: 1,
} as const;

/** Photos are downscaled once so each training step decodes small files. */
const PHOTO_LONG_SIDE = 800;

async function preparePhotos(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nst-starter-photos-'));
  for (const photo of TRAINING_PHOTOS) {
    try {
      await access(photo.path);
    } catch {
      throw new Error(`training photo ${photo.path} is missing: install Debian packages ${PHOTO_PACKAGES.join(' ')} (scripts/install-system-deps.sh training)`);
    }
    await sharp(photo.path).rotate().resize(PHOTO_LONG_SIDE, PHOTO_LONG_SIDE, { fit: 'inside' }).jpeg({ quality: 92 }).toFile(join(dir, basename(photo.path)));
  }
  return dir;
}

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
  const photos = await preparePhotos();
  try {
    const result = await trainStyle({
      style: styleImage,
      photos,
      config: STARTER_CONFIG,
      steps: STARTER_RECIPE.steps,
      batchSize: STARTER_RECIPE.batchSize,
      imageSize: STARTER_RECIPE.imageSize,
      learningRate: STARTER_RECIPE.learningRate,
      seed: STARTER_RECIPE.seed,
      ...(style.lossWeights ? { lossWeights: style.lossWeights } : {}),
      checkpointDir: join(tmpdir(), `nst-starter-ckpt-${style.id}`),
      resume: true,
      onProgress: (p) => {
        if (p.step % 10 === 0 || p.step === p.totalSteps) {
          console.log(`${style.id}: step ${p.step}/${p.totalSteps} loss ${p.losses.total.toFixed(4)} ${p.imagesPerSec.toFixed(2)} img/s ETA ${Math.round(p.etaSeconds)} s`);
        }
      },
    });
    return result;
  } finally {
    await rm(photos, { recursive: true, force: true });
  }
}

/** Trains (or loads) one style and swaps it into the starter folder whole. */
export async function buildStarterStyle(style: StarterStyle, options: { fromWeights?: string; starterDir?: string } = {}): Promise<void> {
  const starterDir = options.starterDir ?? STARTER_DIR;
  const styleImage = new Uint8Array(await style.styleImage());
  const { net, metadata, losses } = await trainedWeights(style, styleImage, options.fromWeights);
  // Assemble in a scratch registry beside the target, then swap the folder in with renames so
  // the committed set never holds half a style.
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
    await registry.registerVersion(style.id, {
      model: exportOnnx(net),
      weights: net.serialize(),
      metadata: {
        parentVersion: null,
        exporterVersion: EXPORTER_VERSION,
        network: { ...metadata.hyperparameters.config },
        hyperparameters: { ...metadata.hyperparameters, photoCount: metadata.photoCount, backend: metadata.backend, msPerStep: metadata.msPerStep },
        dataHashes: { styleImage: metadata.styleSha256, photos: metadata.photosSha256 },
        losses,
        origin: 'starter',
      },
    });
    const target = join(starterDir, style.id);
    const old = `${target}.old-${process.pid}`;
    await rename(target, old).catch(() => undefined);
    await rename(join(scratch, style.id), target);
    await rm(old, { recursive: true, force: true });
  } finally {
    net.dispose();
    await rm(scratch, { recursive: true, force: true });
  }
  console.log(`${style.id}: written to ${join(starterDir, style.id)}`);
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
    .parse();
  const opts = program.opts<{ all?: boolean; fromWeights?: string }>();
  const ids = opts.all ? STARTER_STYLES.map((s) => s.id) : (program.args as string[]);
  if (ids.length === 0) program.error('name at least one style, or --all');
  if (opts.fromWeights && ids.length !== 1) program.error('--from-weights packages exactly one style');
  await initBackend();
  for (const id of ids) await buildStarterStyle(findStarterStyle(id), opts.fromWeights ? { fromWeights: opts.fromWeights } : {});
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
