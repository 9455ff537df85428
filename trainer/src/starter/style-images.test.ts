import sharp from 'sharp';
import { ModelRegistry } from '@nst/runtime';
import { describe, expect, it } from 'vitest';
import { STARTER_DIR, STARTER_RECIPE } from './build';
import { GALLERY_PHOTOS, STARTER_STYLES, TRAINING_PHOTOS, readGalleryPhoto } from './catalogue';
import { renderHatch, renderMosaic, renderSwirl } from './style-images';

async function stats(jpeg: Buffer) {
  const s = await sharp(jpeg).stats();
  return s.channels.map((c) => ({ mean: c.mean, stdev: c.stdev }));
}

describe('project-made style images', () => {
  const spec = { width: 160, height: 120 };

  it('are reproducible: the same seed paints the same picture', async () => {
    expect((await renderMosaic(spec)).equals(await renderMosaic(spec))).toBe(true);
    expect((await renderSwirl(spec)).equals(await renderSwirl(spec))).toBe(true);
    expect((await renderHatch(spec)).equals(await renderHatch(spec))).toBe(true);
  });

  it('change with the seed', async () => {
    expect((await renderMosaic(spec)).equals(await renderMosaic({ ...spec, seed: 'other' }))).toBe(false);
  });

  it('have the palettes they promise: swirl is blue, hatch is warm paper, mosaic is colourful', async () => {
    const [sr, , sb] = await stats(await renderSwirl(spec));
    expect(sb!.mean).toBeGreaterThan(sr!.mean + 40);
    const [hr, hg, hb] = await stats(await renderHatch(spec));
    expect(hr!.mean).toBeGreaterThan(hb!.mean);
    expect(hg!.mean).toBeGreaterThan(hb!.mean);
    const mosaic = await stats(await renderMosaic(spec));
    for (const c of mosaic) expect(c.stdev).toBeGreaterThan(50);
  });
});

describe('starter catalogue', () => {
  it('keeps the gallery photos out of training', () => {
    const training = new Set(TRAINING_PHOTOS.map((p) => p.path));
    for (const p of GALLERY_PHOTOS) expect(training.has(p.path)).toBe(false);
    expect(GALLERY_PHOTOS.length).toBeGreaterThanOrEqual(6);
  });

  it('ships every catalogue style, with the manifest and training recipe the catalogue gives it, and no other', async () => {
    const registry = await ModelRegistry.open(STARTER_DIR, { readOnly: true });
    const shipped = await registry.listStyles();
    expect(shipped.map((s) => s.id).sort()).toEqual(STARTER_STYLES.map((s) => s.id).sort());
    for (const style of STARTER_STYLES) {
      const manifest = shipped.find((s) => s.id === style.id)!;
      expect({ displayName: manifest.displayName, description: manifest.description, origin: manifest.origin, licence: manifest.licence }).toEqual({
        displayName: style.displayName,
        description: style.description,
        origin: style.origin,
        licence: style.licence,
      });
      // The latest version was trained the way the catalogue says the style trains.
      const latest = await registry.latestVersion(style.id);
      expect(latest.metadata.hyperparameters['lossNetwork'] ?? 'random').toBe(style.training?.lossNetwork ?? 'random');
      expect(latest.metadata.hyperparameters['styleScale']).toBe(style.training?.styleScale ?? 1);
      // So that build.ts without --from-weights would train it again the same way.
      const trained = latest.metadata.hyperparameters as { learningRate?: number; seed?: number; batchSize?: number; statistic?: string; slicedLayers?: number[]; patchPools?: number[]; stylePooling?: string; styleLayerWeights?: number[]; deepLayers?: string[]; flatContent?: number; lossMargin?: number; seedWindows?: string; lossWeights?: Record<string, number>; config?: { seedCell?: number; upsampling?: string } };
      expect({
        style: style.id,
        learningRate: trained.learningRate,
        seed: trained.seed,
        batchSize: trained.batchSize,
        statistic: trained.statistic ?? 'covariance',
        slicedLayers: trained.slicedLayers,
        patchPools: trained.patchPools,
        stylePooling: trained.stylePooling,
        styleLayerWeights: trained.styleLayerWeights,
        deepLayers: trained.deepLayers,
        flatContent: trained.flatContent,
        lossMargin: trained.lossMargin,
        seedWindows: trained.seedWindows,
        seedCell: trained.config?.seedCell,
        upsampling: trained.config?.upsampling ?? 'nearest',
      }).toEqual({
        style: style.id,
        learningRate: style.training?.learningRate ?? STARTER_RECIPE.learningRate,
        seed: style.training?.seed ?? STARTER_RECIPE.seed,
        batchSize: style.training?.batchSize ?? STARTER_RECIPE.batchSize,
        statistic: style.training?.statistic ?? 'covariance',
        slicedLayers: style.training?.slicedLayers,
        patchPools: style.training?.patchPools,
        stylePooling: style.training?.stylePooling,
        styleLayerWeights: style.training?.styleLayerWeights,
        deepLayers: style.training?.deepLayers,
        flatContent: style.training?.flatContent,
        lossMargin: style.training?.lossMargin,
        seedWindows: style.training?.seedWindows,
        seedCell: style.training?.seedCell,
        upsampling: style.training?.upsampling ?? 'nearest',
      });
      for (const [term, weight] of Object.entries(style.lossWeights ?? {})) expect({ style: style.id, term, weight: trained.lossWeights?.[term] }).toEqual({ style: style.id, term, weight });
    }
  });

  it('names the Debian package to install when a gallery photo is missing', async () => {
    const portrait = GALLERY_PHOTOS.find((p) => p.debianPackage === 'python3-skimage')!;
    await expect(readGalleryPhoto({ ...portrait, path: '/nonexistent/astronaut.png' })).rejects.toThrow(
      /gallery photo \/nonexistent\/astronaut.png is missing: install Debian package python3-skimage \(scripts\/install-system-deps.sh training\)/,
    );
  });

  it('records origin and licence for every style, with registry-safe ids', () => {
    expect(STARTER_STYLES.length).toBeGreaterThanOrEqual(6);
    for (const s of STARTER_STYLES) {
      expect(s.id).toMatch(/^[a-z0-9][a-z0-9-]{0,47}$/);
      expect(s.origin.length).toBeGreaterThan(10);
      expect(s.licence.length).toBeGreaterThan(2);
    }
  });
});
