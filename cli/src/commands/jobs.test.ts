import { LossNetwork, StylePooling, StyleStatistic } from '@nst/proto';
import { describe, expect, it } from 'vitest';
import { hyperparameters } from './jobs';

describe('nst train / nst finetune flags', () => {
  it('send only the settings given, so the trainer fills the rest from its defaults or the base version', () => {
    expect(hyperparameters({})).toEqual({});
    expect(hyperparameters({ steps: 600, styleScale: 4 })).toEqual({ steps: 600, styleScale: 4 });
  });

  it('name the loss network, statistic and pooling as the proto enums', () => {
    expect(hyperparameters({ lossNetwork: 'random', styleStatistic: 'covariance', stylePooling: 'image' })).toEqual({
      lossNetwork: LossNetwork.LOSS_NETWORK_RANDOM,
      styleStatistic: StyleStatistic.STYLE_STATISTIC_COVARIANCE,
      stylePooling: StylePooling.STYLE_POOLING_IMAGE,
    });
    expect(hyperparameters({ lossNetwork: 'imagenet', styleStatistic: 'sliced', stylePooling: 'batch' })).toEqual({
      lossNetwork: LossNetwork.LOSS_NETWORK_IMAGENET,
      styleStatistic: StyleStatistic.STYLE_STATISTIC_SLICED,
      stylePooling: StylePooling.STYLE_POOLING_BATCH,
    });
  });
});
