/**
 * Judges candidate style networks before any of them becomes a version: each serialized
 * weights file (a `trainer/src/train/cli.ts --out` or a registry version's weights.bin) is
 * exported to ONNX, run through the serving engine on the held-out gallery photos, and scored
 * as the gallery scores versions (ImageNet judge, SSIM, pure-colour pixels) against the photo
 * and a Reinhard colour transfer, overall and layer by layer. A contact sheet (one row per
 * candidate) shows what the numbers mean.
 *
 *   node --import tsx scripts/judge-weights.ts --style mosaic a.bin b.bin [--size 512] [--sheet /tmp/sheet.png]
 */
import { mkdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { ModelRegistry } from '@nst/runtime/registry';
import { StyleModel } from '@nst/inference';
import { GALLERY_PHOTOS, readGalleryPhoto, StyleNet, contentStructure, createJudge, darkPhotos, exportOnnx, initBackend, gridStrength, loadRgb, reinhardTransfer, rgbSharp, saturatedFraction, styleDistanceByLayer } from '@nst/trainer';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Per-layer judge distances of several pictures (one row each): each layer's mean over them. */
const layerMeans = (rows: number[][]) => rows[0]!.map((_, layer) => mean(rows.map((r) => r[layer]!)));
const format = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(' ');

async function main(): Promise<void> {
  const program = new Command()
    .requiredOption('--style <id>', 'the style whose image the candidates are judged against')
    .option('--registry <dir>', 'registry holding the style image', 'trainer/starter-styles')
    .option('--size <px>', 'longest side of the photos', '512')
    .option('--sheet <file>', 'contact sheet PNG (photos across, candidates down)')
    .option('--dump <dir>', 'also write every output at full size as PNG into this folder')
    .option('--photos <list>', 'gallery photo numbers to use, e.g. 1,2,5 (default all)')
    .option('--files <list>', 'judge on these image files instead (comma-separated): a second held-out set, so choosing among candidates on the gallery is checked on photos the choice never saw')
    .option('--dark', "also the worst pure-colour share on the dark-areas test's darkened photos (it allows 0.02%)")
    .argument('<weights...>', 'serialized weights files')
    .parse();
  const o = program.opts<{ style: string; registry: string; size: string; sheet?: string; dump?: string; photos?: string; files?: string; dark?: boolean }>();
  const size = Number(o.size);
  await initBackend();
  const judge = createJudge();
  const registry = await ModelRegistry.open(resolve(o.registry));
  const styleImage = await loadRgb(await readFile(registry.styleImagePath(o.style)), size);
  const chosen = o.photos ? o.photos.split(',').map((n) => GALLERY_PHOTOS[Number(n) - 1]!) : [...GALLERY_PHOTOS];
  const photos = o.files
    ? await Promise.all(o.files.split(',').map((file) => loadRgb(file, size)))
    : await Promise.all(chosen.map(async (p) => loadRgb(await readGalleryPhoto(p), size)));
  const dark = o.dark ? await darkPhotos() : [];
  const reinhard = photos.map((p) => reinhardTransfer(p, styleImage));
  const photoLayers = layerMeans(photos.map((p) => styleDistanceByLayer(judge.extract, p, styleImage)));
  const reinhardLayers = layerMeans(reinhard.map((r) => styleDistanceByLayer(judge.extract, r, styleImage)));
  const baseline = { photo: mean(photoLayers), reinhard: mean(reinhardLayers), ssim: mean(reinhard.map((r, i) => contentStructure(r, photos[i]!))) };
  // By layer (JUDGE_LAYERS, stride 2 to 16): where a candidate is still far from the painting.
  console.log(`${o.style}: photo ${baseline.photo.toFixed(3)} (by layer ${format(photoLayers)}), Reinhard ${baseline.reinhard.toFixed(3)} (by layer ${format(reinhardLayers)}; SSIM ${baseline.ssim.toFixed(3)})`);

  const cell = 320;
  const rows: Buffer[][] = [];
  for (const file of program.args) {
    const net = StyleNet.deserialize(new Uint8Array(await readFile(file)));
    const model = await StyleModel.load(exportOnnx(net), { threads: 2 });
    net.dispose();
    const judged: number[][] = [];
    const ssims: number[] = [];
    const saturated: number[] = [];
    const grid: number[] = [];
    const cells: Buffer[] = [];
    for (const [p, photo] of photos.entries()) {
      const out = await model.run(photo);
      if (o.dump) {
        await mkdir(o.dump, { recursive: true });
        await rgbSharp(out).png().toFile(join(o.dump, `${basename(file, '.bin')}-photo-${p + 1}.png`));
      }
      judged.push(styleDistanceByLayer(judge.extract, out, styleImage));
      ssims.push(contentStructure(out, photo));
      saturated.push(saturatedFraction(out));
      grid.push(gridStrength(out));
      cells.push(await rgbSharp(out).resize(cell, cell, { fit: 'cover' }).png().toBuffer());
    }
    let darkSaturated = 0;
    for (const photo of dark) darkSaturated = Math.max(darkSaturated, saturatedFraction(await model.run(photo)));
    await model.dispose();
    rows.push(cells);
    const perPhoto = judged.map(mean);
    const j = mean(perPhoto);
    console.log(
      `${basename(file)}: judge ${j.toFixed(3)} (${((1 - j / baseline.reinhard) * 100).toFixed(1)}% closer than Reinhard), SSIM ${mean(ssims).toFixed(3)}, pure-colour ${(100 * Math.max(...saturated)).toFixed(2)}%, lattice ${mean(grid).toFixed(3)}, by layer ${format(layerMeans(judged))}${o.dark ? `, dark photos' pure-colour ${(100 * darkSaturated).toFixed(3)}%` : ''}; per photo ${format(perPhoto)}`,
    );
  }
  judge.dispose();
  if (o.sheet) {
    const composite = rows.flatMap((cells, r) => cells.map((input, c) => ({ input, left: c * cell, top: r * cell })));
    await sharp({ create: { width: cell * photos.length, height: cell * rows.length, channels: 3, background: '#ffffff' } })
      .composite(composite)
      .png()
      .toFile(o.sheet);
    console.log(`sheet: ${o.sheet}`);
  }
}

await main();
