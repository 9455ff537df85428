/**
 * Which loss a job trains with: a new style gets the ImageNet loss the starters were trained
 * with, a fine-tune keeps its base version's loss, and crops too small for the ImageNet layers
 * are refused with a way out instead of training a network that learns nothing.
 */
import { status } from '@grpc/grpc-js';
import { LossNetwork, StylePooling, StyleStatistic } from '@nst/proto';
import { describe, expect, it } from 'vitest';
import { LIMITS, resolveHyperparameters, type TrainingLoss } from './hyperparameters';

describe('resolveHyperparameters', () => {
  it('trains a new style on the ImageNet loss at style scale 2 by default, the starter recipe', () => {
    expect(resolveHyperparameters('create-style', undefined)).toMatchObject({
      steps: 600,
      imageSize: 128,
      batchSize: 4,
      lossNetwork: 'inception',
      styleScale: 2,
    });
  });

  it('trains a new style on covariances unless asked for the sliced loss, which comes with its mixed layers and style weight 5', () => {
    for (const covariance of [
      resolveHyperparameters('create-style', undefined),
      resolveHyperparameters('create-style', { styleStatistic: StyleStatistic.STYLE_STATISTIC_UNSPECIFIED }),
      resolveHyperparameters('create-style', { styleStatistic: StyleStatistic.STYLE_STATISTIC_COVARIANCE }),
      resolveHyperparameters('create-style', { lossNetwork: LossNetwork.LOSS_NETWORK_RANDOM, imageSize: 32 }),
    ]) {
      expect([covariance.statistic, covariance.slicedLayers, covariance.lossWeights]).toEqual([undefined, undefined, {}]);
    }
    const sliced = { styleStatistic: StyleStatistic.STYLE_STATISTIC_SLICED };
    expect(resolveHyperparameters('create-style', sliced)).toMatchObject({ statistic: 'sliced', slicedLayers: [3, 4], lossWeights: { style: 5 } });
    expect(resolveHyperparameters('create-style', { ...sliced, styleWeight: 8, contentWeight: 2 }).lossWeights).toEqual({ style: 8, content: 2 });
  });

  it('lets a fine-tune switch statistic, keeping its base version\'s sliced layers where it had them', () => {
    const covarianceBase = { lossNetwork: 'inception', styleScale: 2 } as const;
    expect(resolveHyperparameters('fine-tune', {}, covarianceBase).statistic).toBeUndefined();
    expect(resolveHyperparameters('fine-tune', { styleStatistic: StyleStatistic.STYLE_STATISTIC_SLICED }, covarianceBase)).toMatchObject({ statistic: 'sliced', slicedLayers: [3, 4] });
    const slicedEverywhere = { lossNetwork: 'inception', styleScale: 2, statistic: 'sliced' } as const;
    expect(resolveHyperparameters('fine-tune', {}, slicedEverywhere).slicedLayers).toBeUndefined();
    expect(resolveHyperparameters('fine-tune', { styleStatistic: StyleStatistic.STYLE_STATISTIC_COVARIANCE }, slicedEverywhere).statistic).toBeUndefined();
  });

  it('refuses the sliced statistic on the random network and unknown statistics, naming the ways out', () => {
    const attempt = (): unknown =>
      resolveHyperparameters('create-style', { lossNetwork: LossNetwork.LOSS_NETWORK_RANDOM, imageSize: 32, styleStatistic: StyleStatistic.STYLE_STATISTIC_SLICED });
    expect(attempt).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT }) as Error);
    expect(attempt).toThrow(/style_statistic is sliced.*LOSS_NETWORK_IMAGENET, or STYLE_STATISTIC_COVARIANCE/);
    expect(() => resolveHyperparameters('fine-tune', {}, { lossNetwork: 'random', styleScale: 1, statistic: 'sliced' })).toThrow(/style_statistic is sliced/);
    expect(() => resolveHyperparameters('create-style', { styleStatistic: 9 as StyleStatistic })).toThrow(/style_statistic 9 is not known/);
  });

  it('fine-tunes on the loss its base version was trained with', () => {
    expect(resolveHyperparameters('fine-tune', {}, { lossNetwork: 'inception', styleScale: 2 })).toMatchObject({ lossNetwork: 'inception', styleScale: 2, steps: 300 });
    expect(resolveHyperparameters('fine-tune', {}, { lossNetwork: 'random', styleScale: 1 })).toMatchObject({ lossNetwork: 'random', styleScale: 1 });
    // A version from before versions recorded their loss was trained on the random network.
    expect(resolveHyperparameters('fine-tune', {}, undefined)).toMatchObject({ lossNetwork: 'random', styleScale: 1 });
  });

  it("fine-tunes with its base version's loss weights and statistic, which the request may override", () => {
    const hatch = { lossNetwork: 'inception', styleScale: 2, lossWeights: { style: 1, content: 3, colour: 5, tv: 1 } } as const;
    expect(resolveHyperparameters('fine-tune', {}, hatch).lossWeights).toEqual({ style: 1, content: 3, colour: 5, tv: 1 });
    expect(resolveHyperparameters('fine-tune', { contentWeight: 2 }, hatch).lossWeights).toEqual({ style: 1, content: 2, colour: 5, tv: 1 });
    expect(resolveHyperparameters('fine-tune', {}, { lossNetwork: 'inception', styleScale: 2, statistic: 'sliced' }).statistic).toBe('sliced');
    expect(resolveHyperparameters('fine-tune', {}, { lossNetwork: 'inception', styleScale: 2, statistic: 'sliced', slicedLayers: [3, 4], styleLayerWeights: [1, 1, 1, 5, 5] })).toMatchObject({ statistic: 'sliced', slicedLayers: [3, 4], styleLayerWeights: [1, 1, 1, 5, 5] });
    const glass = { lossNetwork: 'inception', styleScale: 4, lossWeights: { style: 5, patches: 10 }, patchPools: [1, 2, 4] } as const;
    expect(resolveHyperparameters('fine-tune', {}, { ...glass, patchPools: [...glass.patchPools] })).toMatchObject({ styleScale: 4, lossWeights: { style: 5, patches: 10 }, patchPools: [1, 2, 4] });
    expect(resolveHyperparameters('create-style', {}, { ...glass, patchPools: [...glass.patchPools] }).patchPools).toBeUndefined();
    expect(resolveHyperparameters('fine-tune', {}, { ...glass, patchPools: [1], stylePooling: 'batch' }).stylePooling).toBe('batch');
    expect(resolveHyperparameters('fine-tune', {}, { ...glass, patchPools: [1] }).stylePooling).toBeUndefined();
    expect(resolveHyperparameters('create-style', {}, { ...glass, patchPools: [1], stylePooling: 'batch' }).stylePooling).toBeUndefined();
    expect(resolveHyperparameters('fine-tune', { stylePooling: StylePooling.STYLE_POOLING_IMAGE }, { ...glass, patchPools: [1], stylePooling: 'batch' }).stylePooling).toBeUndefined();
    // The cells' recipe (deep layers, flat-area content, the loss margin, a seed window per image) goes with the fine-tune, never to a new style.
    const cells: TrainingLoss = { ...glass, patchPools: [1], deepLayers: ['mixed3', 'mixed4'], flatContent: 0.07, lossMargin: 8, seedWindows: 'image' };
    expect(resolveHyperparameters('fine-tune', {}, cells)).toMatchObject({ deepLayers: ['mixed3', 'mixed4'], flatContent: 0.07, lossMargin: 8, seedWindows: 'image' });
    expect(resolveHyperparameters('fine-tune', { lossNetwork: LossNetwork.LOSS_NETWORK_RANDOM }, cells).deepLayers).toBeUndefined();
    const fresh = resolveHyperparameters('create-style', {}, cells);
    expect([fresh.deepLayers, fresh.flatContent, fresh.lossMargin, fresh.seedWindows]).toEqual([undefined, undefined, undefined, undefined]);
    // A new style starts from the loss's defaults whatever version it is named after.
    expect(resolveHyperparameters('create-style', {}, hatch)).toMatchObject({ lossWeights: {} });
    expect(resolveHyperparameters('create-style', {}, hatch).statistic).toBeUndefined();
  });

  it('pools style statistics over the batch when a request asks, and names the choices of an unknown pooling', () => {
    expect(resolveHyperparameters('create-style', { stylePooling: StylePooling.STYLE_POOLING_BATCH }).stylePooling).toBe('batch');
    expect(resolveHyperparameters('create-style', { stylePooling: StylePooling.STYLE_POOLING_IMAGE }).stylePooling).toBeUndefined();
    expect(resolveHyperparameters('create-style', { stylePooling: StylePooling.STYLE_POOLING_UNSPECIFIED }).stylePooling).toBeUndefined();
    expect(resolveHyperparameters('fine-tune', { stylePooling: StylePooling.STYLE_POOLING_BATCH }, { lossNetwork: 'inception', styleScale: 2 }).stylePooling).toBe('batch');
    expect(() => resolveHyperparameters('create-style', { stylePooling: 7 as StylePooling })).toThrow(/style_pooling 7 is not known; use STYLE_POOLING_BATCH or STYLE_POOLING_IMAGE/);
  });

  it('lets the request choose the loss network and style scale', () => {
    expect(resolveHyperparameters('create-style', { lossNetwork: LossNetwork.LOSS_NETWORK_RANDOM, imageSize: 32, styleScale: 1.5 })).toMatchObject({
      lossNetwork: 'random',
      imageSize: 32,
      styleScale: 1.5,
    });
    expect(resolveHyperparameters('fine-tune', { lossNetwork: LossNetwork.LOSS_NETWORK_IMAGENET }, { lossNetwork: 'random', styleScale: 1 }).lossNetwork).toBe('inception');
    expect(resolveHyperparameters('create-style', { lossNetwork: LossNetwork.LOSS_NETWORK_UNSPECIFIED }).lossNetwork).toBe('inception');
  });

  it('refuses crops too small for the ImageNet loss and names both ways out', () => {
    const attempt = (): unknown => resolveHyperparameters('create-style', { imageSize: 64 });
    expect(attempt).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT }) as Error);
    expect(attempt).toThrow(/image_size is 64; the ImageNet loss needs crops of at least 96 px.*larger image_size.*LOSS_NETWORK_RANDOM/);
    expect(resolveHyperparameters('create-style', { imageSize: LIMITS.imagenetMinImageSize }).imageSize).toBe(96);
    // The same crop on a fine-tune of an ImageNet-trained version is refused too.
    expect(() => resolveHyperparameters('fine-tune', { imageSize: 32 }, { lossNetwork: 'inception', styleScale: 2 })).toThrow(/at least 96 px/);
  });

  it('refuses unknown loss networks and out-of-range style scales', () => {
    expect(() => resolveHyperparameters('create-style', { lossNetwork: 7 as LossNetwork })).toThrow(/loss_network 7 is not known/);
    expect(() => resolveHyperparameters('create-style', { styleScale: 0 })).toThrow(/style_scale is 0; use a number from 0.25 to 4/);
    expect(() => resolveHyperparameters('create-style', { styleScale: Number.NaN })).toThrow(/style_scale/);
  });
});
