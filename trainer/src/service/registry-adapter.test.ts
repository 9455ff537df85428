import { describe, expect, it } from 'vitest';
import { trainingLoss } from './registry-adapter';

describe("a version's recorded training loss", () => {
  it('carries its network, style scale, weights and statistic to its fine-tunes', () => {
    expect(trainingLoss({ lossNetwork: 'inception', styleScale: 2, lossWeights: { style: 20, content: 1, colour: 1, edges: 0, pixel: 0, tv: 1 }, statistic: 'sliced' })).toEqual({
      lossNetwork: 'inception',
      styleScale: 2,
      lossWeights: { style: 20, content: 1, colour: 1, edges: 0, pixel: 0, tv: 1 },
      statistic: 'sliced',
    });
  });

  it('carries the layers a sliced statistic applied to, and drops them for any other statistic or when malformed', () => {
    const sliced = { lossNetwork: 'inception', styleScale: 2, statistic: 'sliced', slicedLayers: [3, 4] };
    expect(trainingLoss(sliced)).toEqual({ lossNetwork: 'inception', styleScale: 2, statistic: 'sliced', slicedLayers: [3, 4] });
    expect(trainingLoss({ ...sliced, statistic: 'covariance' })?.slicedLayers).toBeUndefined();
    expect(trainingLoss({ ...sliced, slicedLayers: ['mixed0'] })?.slicedLayers).toBeUndefined();
  });

  it('carries style statistics pooled over the batch, and reads anything else as per image', () => {
    const pooled = { lossNetwork: 'inception', styleScale: 4, stylePooling: 'batch' };
    expect(trainingLoss(pooled)?.stylePooling).toBe('batch');
    expect(trainingLoss({ ...pooled, stylePooling: 'image' })?.stylePooling).toBeUndefined();
    expect(trainingLoss({ ...pooled, stylePooling: 4 })?.stylePooling).toBeUndefined();
  });

  it("carries per-layer style weights, and drops them when they are not non-negative numbers", () => {
    const weighted = { lossNetwork: 'inception', styleScale: 2, styleLayerWeights: [1, 1, 1, 5, 5] };
    expect(trainingLoss(weighted)?.styleLayerWeights).toEqual([1, 1, 1, 5, 5]);
    expect(trainingLoss({ ...weighted, styleLayerWeights: [1, -1] })?.styleLayerWeights).toBeUndefined();
    expect(trainingLoss({ ...weighted, styleLayerWeights: 'heavy' })?.styleLayerWeights).toBeUndefined();
  });

  it("carries the stained glass's deep layers, flat-area content share, loss margin and per-image seed windows, and drops them when malformed", () => {
    const glass = { lossNetwork: 'inception', styleScale: 4, deepLayers: ['mixed3', 'mixed4'], flatContent: 0.07, lossMargin: 8, seedWindows: 'image' };
    expect(trainingLoss(glass)).toMatchObject({ deepLayers: ['mixed3', 'mixed4'], flatContent: 0.07, lossMargin: 8, seedWindows: 'image' });
    expect(trainingLoss({ ...glass, deepLayers: ['mixed7'] })?.deepLayers).toBeUndefined();
    expect(trainingLoss({ ...glass, lossNetwork: 'random' })?.deepLayers).toBeUndefined();
    expect(trainingLoss({ ...glass, flatContent: 1.5 })?.flatContent).toBeUndefined();
    expect(trainingLoss({ ...glass, lossMargin: 2.5 })?.lossMargin).toBeUndefined();
    expect(trainingLoss({ ...glass, seedWindows: 'batch' })?.seedWindows).toBeUndefined();
  });

  it('carries the pixel-patch pyramid with its weight, and drops pooling factors that are not whole numbers from 1', () => {
    const glass = { lossNetwork: 'inception', styleScale: 4, lossWeights: { style: 5, patches: 10 }, patchPools: [1, 2, 4] };
    expect(trainingLoss(glass)).toMatchObject({ lossWeights: { style: 5, patches: 10 }, patchPools: [1, 2, 4] });
    expect(trainingLoss({ ...glass, patchPools: [0, 2] })?.patchPools).toBeUndefined();
    expect(trainingLoss({ ...glass, patchPools: [1.5] })?.patchPools).toBeUndefined();
  });

  it('keeps only known terms with numeric weights, and no statistic it does not know', () => {
    expect(trainingLoss({ lossNetwork: 'inception', styleScale: 2, lossWeights: { colour: 5, glitter: 3, tv: 'high' }, statistic: 'median' })).toEqual({
      lossNetwork: 'inception',
      styleScale: 2,
      lossWeights: { colour: 5 },
    });
  });

  it('knows no loss for a version that recorded none (trained before versions did)', () => {
    expect(trainingLoss({ steps: 600 })).toBeUndefined();
    expect(trainingLoss({ lossNetwork: 'random' })).toEqual({ lossNetwork: 'random', styleScale: 1 });
  });
});
