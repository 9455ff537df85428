/**
 * The independent judge of style: ImageNet features of MobileNetV2 (from nsfwjs, see
 * loss/pretrained.ts), a different network from any the models train against (the random
 * feature network or InceptionV3). A judge that is another seed of the training loss rewards
 * what that loss rewards (the first starter set beat a colour transfer under it and not under
 * this one), so gallery scores use this.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { createPretrainedNetwork, type PretrainedNetwork } from '../loss/pretrained';
import type { FeatureExtractor } from './scores';

/**
 * Expansion ReLUs at strides 2, 4, 8 and 16: colour and fine texture up to motifs about a
 * tenth of a 224-px image, all below `block_11`, so all ImageNet weights.
 */
export const JUDGE_LAYERS = ['Conv1_relu', 'block_2_expand_relu', 'block_4_expand_relu', 'block_7_expand_relu'] as const;

export interface Judge {
  readonly network: PretrainedNetwork;
  readonly extract: FeatureExtractor;
  dispose(): void;
}

export function createJudge(): Judge {
  const network = createPretrainedNetwork({ model: 'mobilenet_v2', outputs: [...JUDGE_LAYERS] });
  return { network, extract: (x: tf.Tensor4D) => network.features(x), dispose: () => network.dispose() };
}
