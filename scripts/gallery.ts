/**
 * Evidence of quality: stylizes the held-out gallery photos with every starter style through
 * the serving path (ONNX Runtime), renders a contact sheet under docs/gallery/, and prints per
 * style a style-match score and a content-structure score against two baselines on the same
 * photos: the unstyled input and a Reinhard colour transfer.
 *
 *   node --import tsx scripts/gallery.ts [--registry trainer/starter-styles] [--out docs/gallery] [--size 512]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { ModelRegistry } from '@nst/runtime/registry';
import { StyleModel } from '@nst/inference';
import { GALLERY_PHOTOS, readGalleryPhoto, JUDGE_LAYERS, contentStructure, readCeilingRecords, createFeatureNetwork, createJudge, gridStrength, initBackend, loadRgb, reinhardTransfer, rgbSharp, saturatedFraction, styleDistance, type RgbImage } from '@nst/trainer';

/**
 * The old judge, kept as a second column: a random feature network whose seed differs from
 * every training seed. It is another seed of the first training loss, so it flatters models
 * trained on that loss; the ImageNet judge (MobileNetV2, eval/judge.ts) is the one to read.
 */
const RANDOM_JUDGE_SEED = 424242;

async function toJpeg(image: RgbImage, file: string): Promise<Buffer> {
  const jpeg = await rgbSharp(image).jpeg({ quality: 88 }).toBuffer();
  await writeFile(file, jpeg);
  return jpeg;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

interface Row {
  style: string;
  version: number;
  styleInput: number;
  styleReinhard: number;
  styleStylized: number;
  randomStylized: number;
  randomReinhard: number;
  ssimReinhard: number;
  ssimStylized: number;
  /** Share of pure-primary pixels (saturatedFraction), worst photo. */
  saturated: number;
  /** The weave (gridStrength): mean over the photos, and the style image's own. */
  lattice: number;
  styleLattice: number;
}

async function main() {
  const program = new Command()
    .option('--registry <dir>', 'registry to read styles from', 'trainer/starter-styles')
    .option('--out <dir>', 'output folder', 'docs/gallery')
    .option('--size <px>', 'longest side of gallery images', '512')
    .parse();
  const opts = program.opts<{ registry: string; out: string; size: string }>();
  const size = Number(opts.size);
  const out = resolve(opts.out);
  await mkdir(out, { recursive: true });
  // The judge network runs on the trainer's fastest backend (tfjs-node, else WASM); the plain
  // CPU backend takes minutes per photo at 512 px.
  await initBackend();
  const judge = createJudge();
  const randomJudge = createFeatureNetwork({ seed: RANDOM_JUDGE_SEED });
  const registry = await ModelRegistry.open(resolve(opts.registry));
  const styles = await registry.listStyles();
  const photos = await Promise.all(GALLERY_PHOTOS.map(async (p) => loadRgb(await readGalleryPhoto(p), size)));

  const rows: Row[] = [];
  const sheet: { input: Buffer; left: number; top: number }[] = [];
  const cell = 240;
  const cellH = 180;
  // Cropped from the top: the portrait's face is in its upper half.
  const cellOf = async (jpeg: Uint8Array) => sharp(jpeg).resize(cell, cellH, { fit: 'cover', position: 'north' }).toBuffer();
  for (const [p, photo] of photos.entries()) sheet.push({ input: await cellOf(await toJpeg(photo, join(out, `photo-${p + 1}.jpg`))), left: 0, top: (p + 1) * cellH });

  for (const [s, style] of styles.entries()) {
    const version = await registry.latestVersion(style.id);
    const styleImage = await loadRgb(await readFile(registry.styleImagePath(style.id)), size);
    sheet.push({ input: await cellOf(await toJpeg(styleImage, join(out, `style-${style.id}.jpg`))), left: (s + 1) * cell, top: 0 });
    const model = await StyleModel.load(await registry.readModel(style.id, version.version), { threads: 2 });
    const scores = { input: [] as number[], reinhard: [] as number[], stylized: [] as number[], randomR: [] as number[], randomS: [] as number[], ssimR: [] as number[], ssimS: [] as number[], saturated: [] as number[], lattice: [] as number[] };
    for (const [p, photo] of photos.entries()) {
      const stylized = await model.run(photo);
      const reinhard = reinhardTransfer(photo, styleImage);
      scores.input.push(styleDistance(judge.extract, photo, styleImage));
      scores.reinhard.push(styleDistance(judge.extract, reinhard, styleImage));
      scores.stylized.push(styleDistance(judge.extract, stylized, styleImage));
      scores.randomR.push(styleDistance(randomJudge.features, reinhard, styleImage));
      scores.randomS.push(styleDistance(randomJudge.features, stylized, styleImage));
      scores.ssimR.push(contentStructure(reinhard, photo));
      scores.ssimS.push(contentStructure(stylized, photo));
      scores.saturated.push(saturatedFraction(stylized));
      scores.lattice.push(gridStrength(stylized));
      const jpeg = await toJpeg(stylized, join(out, `photo-${p + 1}-${style.id}.jpg`));
      sheet.push({ input: await cellOf(jpeg), left: (s + 1) * cell, top: (p + 1) * cellH });
      if (p === 0) await toJpeg(reinhard, join(out, `photo-1-${style.id}-reinhard.jpg`));
    }
    await model.dispose();
    rows.push({
      style: style.id,
      version: version.version,
      styleInput: mean(scores.input),
      styleReinhard: mean(scores.reinhard),
      styleStylized: mean(scores.stylized),
      randomReinhard: mean(scores.randomR),
      randomStylized: mean(scores.randomS),
      ssimReinhard: mean(scores.ssimR),
      ssimStylized: mean(scores.ssimS),
      saturated: Math.max(...scores.saturated),
      lattice: mean(scores.lattice),
      styleLattice: gridStrength(styleImage),
    });
  }
  judge.dispose();
  randomJudge.dispose();

  await sharp({ create: { width: cell * (styles.length + 1), height: cellH * (photos.length + 1), channels: 3, background: '#ffffff' } })
    .composite(sheet)
    .jpeg({ quality: 85 })
    .toFile(join(out, 'gallery.jpg'));

  const f = (x: number) => x.toFixed(3);
  const table = [
    '| style | version | ImageNet judge: photo | Reinhard | stylized | random-feature judge: Reinhard | stylized | SSIM: Reinhard | stylized | pure-colour pixels (worst photo) | lattice: painting | stylized |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.style} | ${r.version} | ${f(r.styleInput)} | ${f(r.styleReinhard)} | **${f(r.styleStylized)}** | ${f(r.randomReinhard)} | ${f(r.randomStylized)} | ${f(r.ssimReinhard)} | ${f(r.ssimStylized)} | ${(100 * r.saturated).toFixed(2)}% | ${f(r.styleLattice)} | ${f(r.lattice)} |`,
    ),
  ].join('\n');
  // The ceiling (scripts/ceiling.ts) is minutes per style, so it is read from what that script
  // recorded, and only for the version it measured.
  const ceilings = await readCeilingRecords(join(out, 'ceilings.json'));
  const ceilingTable = [
    '| style | version | measured on | loss: stylized / optimised | ImageNet judge: Reinhard | optimised | stylized (x optimised) | SSIM: optimised | stylized |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => {
      const c = ceilings[r.style];
      if (!c || c.version !== r.version) return `| ${r.style} | ${r.version} | not measured for this version (\`scripts/ceiling.ts --style ${r.style}\`) | | | | | | |`;
      return `| ${r.style} | ${r.version} | photos ${c.photos.join(', ')} at ${c.size} px, ${c.steps} Adam steps | ${f(c.loss)} / ${f(c.ceilingLoss)} = ${(c.loss / c.ceilingLoss).toFixed(2)}x | ${f(c.reinhardJudge)} | ${f(c.ceilingJudge)} | ${f(c.judge)} (${(c.judge / c.ceilingJudge).toFixed(2)}x) | ${f(c.ceilingSsim)} | ${f(c.ssim)} |`;
    }),
  ].join('\n');
  const credits = GALLERY_PHOTOS.map((p, i) => `- photo-${i + 1}: ${basename(p.path)} by ${p.credit} (${p.licence})`).join('\n');
  await writeFile(
    join(out, 'SCORES.md'),
    `# Gallery scores\n\nStyle distance: mean over the gallery photos of the relative Gram distance to the style image; lower matches the style better. The ImageNet judge uses MobileNetV2's ImageNet layers (${JUDGE_LAYERS.join(', ')}; trainer/src/eval/judge.ts), a network no model trains against; the random-feature judge (seed ${RANDOM_JUDGE_SEED}) is another seed of the first training loss and flatters models trained on it. SSIM: mean luminance SSIM against the input photo; 1 is the photo's structure unchanged. Pure-colour pixels: the share of pixels whose every channel is within 0.1 of 0 or 1 (not black or white), on the worst photo: the saturated blue patches of the first models. Lattice: how strongly the picture repeats itself on a lattice (gridStrength, trainer/src/eval/scores.ts; photographs score about 0.2-0.26): the weave of 4-13 pixel dashes the ImageNet-loss networks paint, next to the painting's own score.\n\n${table}\n\n## Against the quality ceiling\n\nThe same photos optimised one by one against the loss each style trained with (Gatys et al. 2016; \`scripts/ceiling.ts\`, Adam on the image): what the loss itself can reach. Loss ratio above 1: the network has not reached the loss's optimum; judge ratio near 1 with the optimised images no closer than Reinhard: the loss, not the network, limits how close the style gets.\n\n${ceilingTable}\n\nPhotos (held out from training):\n${credits}\n`,
  );
  console.log(table);
}

await main();
