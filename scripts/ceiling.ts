/**
 * The quality ceiling: per-image optimisation (Gatys et al. 2016) of the held-out gallery
 * photos against the same perceptual loss the feed-forward styles train with, so each style's
 * loss and judge distance can be read as a ratio to what the loss itself can reach. Adam on
 * the image's logits stands in for L-BFGS (TF.js has none); Johnson et al. found their
 * networks matched about 50-100 L-BFGS iterations.
 *
 *   node --import tsx scripts/ceiling.ts --style mosaic [--steps 150] [--size 256] [--loss-network inception]
 *     [--registry trainer/starter-styles] [--out /tmp/ceiling]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { ModelRegistry } from '@nst/runtime/registry';
import { StyleModel } from '@nst/inference';
import { GALLERY_PHOTOS, readGalleryPhoto, lossWeightArgument, recordCeiling, StyleLoss, contentStructure, createJudge, initBackend, loadRgb, reinhardTransfer, rgbSharp, saturatedFraction, styleDistance, type FeatureTransform, type InceptionDeepLayer, type LossNetworkName, type LossWeights, type RgbImage, type StylePooling, type StyleStatistic } from '@nst/trainer';

const toTensor = (image: RgbImage) => tf.tensor4d(image.data, [1, image.height, image.width, 3]);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function writePng(image: RgbImage, file: string): Promise<void> {
  await rgbSharp(image).png().toFile(file);
}

/** Optimises the photo itself against the loss; returns the image and its final loss. */
function optimise(loss: StyleLoss, photo: RgbImage, steps: number, learningRate: number): { image: RgbImage; total: number } {
  const target = toTensor(photo);
  // Logits so the image stays in (0, 1) without clipping; start at the photo.
  const clamped = tf.clipByValue(target, 0.01, 0.99);
  const logits = tf.variable(tf.log(tf.div(clamped, tf.sub(1, clamped))));
  clamped.dispose();
  const optimizer = tf.train.adam(learningRate);
  for (let i = 0; i < steps; i++) {
    const cost = optimizer.minimize(() => loss.terms(tf.sigmoid(logits) as tf.Tensor4D, target).total, true, [logits]);
    cost?.dispose();
  }
  const out = tf.tidy(() => tf.sigmoid(logits));
  const total = loss.values(out as tf.Tensor4D, target).total;
  const image = { data: out.dataSync() as Float32Array, width: photo.width, height: photo.height };
  tf.dispose([out, target, logits]);
  optimizer.dispose();
  return { image, total };
}

async function main(): Promise<void> {
  const program = new Command()
    .requiredOption('--style <id>', 'style to compare')
    .option('--registry <dir>', 'registry holding the feed-forward style', 'trainer/starter-styles')
    .option('--steps <n>', 'optimisation steps per photo', '150')
    .option('--size <px>', 'longest side of the photos', '256')
    .option('--lr <rate>', 'Adam learning rate on the logits', '0.05')
    .option('--loss-network <name>', 'random | inception', 'inception')
    .option('--feature-transform <name>', 'raw | softmax (style statistics of softmax features)', 'raw')
    .option('--statistic <name>', 'style statistic: covariance | gram | sliced (default: as the version trained)')
    .option('--sliced-layers <list>', 'with --statistic sliced: loss layer indices matched by sliced distributions, the rest by covariance, e.g. 3,4 (default: as the version trained)')
    .option('--style-layer-weights <list>', "multiplies each loss layer's style term, e.g. 1,1,1,5,5 (default: as the version trained)")
    .option('--loss-scales <list>', 'output sizes at which style is matched, e.g. 1,0.5 (default: as the version trained)')
    .option('--deep-layers <list>', 'InceptionV3 layers past mixed2 added to the style term: mixed3, mixed4')
    .option('--style-weight <x>', "multiplies the version's style weight (a statistic of another scale needs its own)", '1')
    .option('--weight <term=value>', "overrides one of the version's loss weights, e.g. mrf=1 (repeatable; an experiment: records nothing)", lossWeightArgument, {})
    .option('--photos <list>', 'gallery photo numbers, e.g. 1,3 (default all)')
    .option('--out <dir>', 'where the optimised images go', '/tmp/nst-ceiling')
    .option('--record <file>', "where the style's result is kept for the gallery's scores", 'docs/gallery/ceilings.json')
    .option('--no-record', 'print only (for experiments with a changed loss)')
    .parse();
  const o = program.opts<{ style: string; registry: string; steps: string; size: string; lr: string; lossNetwork: LossNetworkName; featureTransform: FeatureTransform; statistic?: StyleStatistic; photos?: string; slicedLayers?: string; styleLayerWeights?: string; lossScales?: string; deepLayers?: string; styleWeight: string; weight: Partial<LossWeights>; out: string; record: string | false }>();
  const size = Number(o.size);
  await initBackend();
  await mkdir(resolve(o.out), { recursive: true });
  const registry = await ModelRegistry.open(resolve(o.registry));
  const version = await registry.latestVersion(o.style);
  const styleImage = await loadRgb(await readFile(registry.styleImagePath(o.style)), size);
  const styleTensor = tf.tensor3d(styleImage.data, [styleImage.height, styleImage.width, 3]);
  // The version's own loss weights, and its style image at the pixel scale it trained with
  // (crop size x style scale), so the optimised images chase what the network chased.
  const trained = version.metadata.hyperparameters as { lossWeights?: Partial<LossWeights>; imageSize?: number; styleScale?: number; lossNetwork?: string; featureTransform?: string; lossScales?: number[]; statistic?: StyleStatistic; slicedLayers?: number[]; styleLayerWeights?: number[]; patchPools?: number[]; stylePooling?: StylePooling; deepLayers?: InceptionDeepLayer[]; flatContent?: number; lossMargin?: number };
  const statistic = o.statistic ?? trained.statistic ?? 'covariance';
  const slicedLayers = o.slicedLayers ? o.slicedLayers.split(',').map(Number) : o.statistic ? undefined : trained.slicedLayers;
  const styleLayerWeights = o.styleLayerWeights ? o.styleLayerWeights.split(',').map(Number) : trained.styleLayerWeights;
  const lossScales = o.lossScales ? o.lossScales.split(',').map(Number) : trained.lossScales;
  const deepLayers = o.deepLayers ? (o.deepLayers.split(',') as InceptionDeepLayer[]) : trained.deepLayers;
  const styleScale = ((trained.imageSize ?? size) * (trained.styleScale ?? 1)) / size;
  const loss = new StyleLoss({
    styleImage: styleTensor,
    imageSize: size,
    styleScale,
    network: o.lossNetwork,
    featureTransform: o.featureTransform,
    statistic,
    ...(slicedLayers ? { slicedLayers } : {}),
    ...(styleLayerWeights ? { styleLayerWeights } : {}),
    ...(trained.patchPools ? { patchPools: trained.patchPools } : {}),
    // One image per step here, so pooling changes only the target: the painting seen as crops of this size.
    ...(trained.stylePooling ? { stylePooling: trained.stylePooling } : {}),
    ...(lossScales ? { scales: lossScales } : {}),
    ...(deepLayers ? { deepLayers } : {}),
    ...(trained.flatContent !== undefined ? { flatContent: trained.flatContent } : {}),
    // In pixels, not a share of the crop: it covers what InceptionV3's valid windows miss at any size.
    // (The 'cells' and 'lead' terms read the seed a network was fed; an optimised image has none,
    // so those terms count for neither side here.)
    ...(trained.lossMargin !== undefined ? { margin: trained.lossMargin } : {}),
    weights: { ...trained.lossWeights, style: (trained.lossWeights?.style ?? 1) * Number(o.styleWeight), ...o.weight },
  });
  styleTensor.dispose();
  const judge = createJudge();
  const model = await StyleModel.load(await registry.readModel(o.style, version.version), { threads: 2 });
  const rows: { loss: number; judge: number; ssim: number; ceilingLoss: number; ceilingJudge: number; ceilingSsim: number; reinhardJudge: number }[] = [];
  const chosen = o.photos ? o.photos.split(',').map((n) => Number(n) - 1) : GALLERY_PHOTOS.map((_, i) => i);
  for (const i of chosen) {
    const p = GALLERY_PHOTOS[i]!;
    const photo = await loadRgb(await readGalleryPhoto(p), size);
    const stylized = await model.run(photo);
    const photoT = toTensor(photo);
    const stylizedT = toTensor(stylized);
    const ffLoss = loss.values(stylizedT, photoT).total;
    tf.dispose([photoT, stylizedT]);
    const ceiling = optimise(loss, photo, Number(o.steps), Number(o.lr));
    await writePng(ceiling.image, join(resolve(o.out), `photo-${i + 1}-${o.style}-optimised.png`));
    await writePng(stylized, join(resolve(o.out), `photo-${i + 1}-${o.style}-v${version.version}.png`));
    const row = {
      loss: ffLoss,
      judge: styleDistance(judge.extract, stylized, styleImage),
      ssim: contentStructure(stylized, photo),
      ceilingLoss: ceiling.total,
      ceilingJudge: styleDistance(judge.extract, ceiling.image, styleImage),
      ceilingSsim: contentStructure(ceiling.image, photo),
      // A colour transfer at the same size: what the ceiling must beat for the loss to be worth its cost.
      reinhardJudge: styleDistance(judge.extract, reinhardTransfer(photo, styleImage), styleImage),
    };
    rows.push(row);
    console.log(`photo-${i + 1}: loss ${row.loss.toFixed(3)} vs optimised ${row.ceilingLoss.toFixed(3)}; judge ${row.judge.toFixed(3)} vs ${row.ceilingJudge.toFixed(3)} (Reinhard ${row.reinhardJudge.toFixed(3)}); SSIM ${row.ssim.toFixed(3)} vs ${row.ceilingSsim.toFixed(3)}; pure-colour pixels ${(100 * saturatedFraction(stylized)).toFixed(2)}% vs ${(100 * saturatedFraction(ceiling.image)).toFixed(2)}%`);
  }
  await model.dispose();
  judge.dispose();
  loss.dispose();
  const m = (k: keyof (typeof rows)[number]) => mean(rows.map((r) => r[k]));
  const summary =
    `${o.style} v${version.version} (${o.lossNetwork} loss, ${statistic}${slicedLayers ? ` on layers ${slicedLayers.join(',')}` : ''}${styleLayerWeights ? ` (layer weights ${styleLayerWeights.join(',')})` : ''} of ${o.featureTransform} features${lossScales ? ` at scales ${lossScales.join(', ')}` : ''}${deepLayers ? ` plus ${deepLayers.join(',')}` : ''}${trained.flatContent !== undefined ? `, content x${trained.flatContent} where the photo is flat` : ''}${trained.lossMargin ? `, a ${trained.lossMargin} px loss margin` : ''}${Number(o.styleWeight) !== 1 ? `, style weight x${o.styleWeight}` : ''}${Object.entries(o.weight).map(([term, w]) => `, ${term} weight ${w}`).join('')}, ${o.steps} Adam steps at ${size} px): ` +
    `loss ${m('loss').toFixed(3)} = ${(m('loss') / m('ceilingLoss')).toFixed(2)}x the optimised images' ${m('ceilingLoss').toFixed(3)}; ` +
    `judge ${m('judge').toFixed(3)} = ${(m('judge') / m('ceilingJudge')).toFixed(2)}x their ${m('ceilingJudge').toFixed(3)} (Reinhard ${m('reinhardJudge').toFixed(3)}); ` +
    `SSIM ${m('ssim').toFixed(3)} vs ${m('ceilingSsim').toFixed(3)}`;
  console.log(summary);
  await writeFile(join(resolve(o.out), `${o.style}-ceiling.txt`), `${summary}\n`);
  // Only the ceiling of the loss the version trained with (its statistic, layers, scales and
  // weights) is the gallery's reference; experiments with another loss print and keep nothing.
  const sameLoss = o.lossNetwork === (trained.lossNetwork ?? 'random') && o.featureTransform === (trained.featureTransform ?? 'raw') && statistic === (trained.statistic ?? 'covariance') && String(slicedLayers) === String(trained.slicedLayers) && String(styleLayerWeights) === String(trained.styleLayerWeights) && String(lossScales) === String(trained.lossScales) && String(deepLayers) === String(trained.deepLayers) && Number(o.styleWeight) === 1 && Object.keys(o.weight).length === 0;
  if (o.record && sameLoss) {
    await recordCeiling(resolve(o.record), o.style, {
      version: version.version,
      photos: chosen.map((i) => i + 1),
      size,
      steps: Number(o.steps),
      lossNetwork: o.lossNetwork,
      loss: m('loss'),
      ceilingLoss: m('ceilingLoss'),
      judge: m('judge'),
      ceilingJudge: m('ceilingJudge'),
      reinhardJudge: m('reinhardJudge'),
      ssim: m('ssim'),
      ceilingSsim: m('ceilingSsim'),
      measuredAt: new Date().toISOString(),
    });
    console.log(`recorded in ${o.record}`);
  }
}

await main();
