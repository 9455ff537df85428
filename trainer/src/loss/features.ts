/**
 * A fixed, seeded loss network of random convolution features. No pretrained network (VGG)
 * can be downloaded here; random-weight convolution stacks carry texture/style statistics
 * well (Ustyuzhaninov et al. 2017; He, Wang & Hopcroft 2016). The same network with a
 * different seed is an independent "judge" for evaluation (see trainer/src/eval).
 *
 * Default shape (DESIGN.md, checked before any code): 3x3 convs of 32, 64, 128, 128
 * channels, He-initialised, ReLU, 2x2 average pooling between; features are the ReLU
 * outputs of every layer.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface FeatureNetworkOptions {
  seed: number;
  /** Output channels per layer (default 32, 64, 128, 128). */
  channels?: number[];
  /** Square kernel size of every conv (default 3). */
  kernelSize?: number;
}

export interface FeatureNetwork {
  readonly seed: number;
  readonly channels: readonly number[];
  /**
   * x: NHWC in [0, 1]; one ReLU feature map per layer, each at half the previous size.
   * `layers` stops early (the first `layers` maps) when deeper ones are not needed.
   */
  readonly features: (x: tf.Tensor4D, layers?: number) => tf.Tensor4D[];
  dispose(): void;
}

export const DEFAULT_FEATURE_CHANNELS = [32, 64, 128, 128] as const;

/** Per-channel centring of [0, 1] RGB so the first layer sees zero-mean input. */
const INPUT_MEAN = [0.45, 0.45, 0.45];
const INPUT_SCALE = 4; // ~1 / (std of natural image intensities)

export function createFeatureNetwork(options: FeatureNetworkOptions): FeatureNetwork {
  const channels = [...(options.channels ?? DEFAULT_FEATURE_CHANNELS)];
  const k = options.kernelSize ?? 3;
  const filters = tf.tidy(() => {
    let inChannels = 3;
    return channels.map((outChannels, layer) => {
      // He initialisation: keeps activation scale roughly constant through ReLU layers.
      const std = Math.sqrt(2 / (k * k * inChannels));
      const w = tf.randomNormal([k, k, inChannels, outChannels], 0, std, 'float32', options.seed * 7919 + layer);
      inChannels = outChannels;
      return tf.keep(w) as tf.Tensor4D;
    });
  });
  const mean = tf.keep(tf.tensor1d(INPUT_MEAN));
  const features = (x: tf.Tensor4D, layers = filters.length): tf.Tensor4D[] =>
    tf.tidy(() => {
      const out: tf.Tensor4D[] = [];
      let h: tf.Tensor4D = tf.mul(tf.sub(x, mean), INPUT_SCALE);
      filters.slice(0, layers).forEach((w, layer) => {
        if (layer > 0) h = tf.avgPool(h, 2, 2, 'valid');
        h = tf.relu(tf.conv2d(h, w, 1, 'same'));
        out.push(h);
      });
      return out;
    });
  return {
    seed: options.seed,
    channels,
    features,
    dispose: () => {
      tf.dispose(filters);
      mean.dispose();
    },
  };
}

/**
 * Gram matrix per image: f [B, H, W, C] -> [B, C, C], normalised by H*W so it does not
 * depend on image size. Written as per-image 2-D products of contiguous slices on purpose:
 * on WASM a batched or transposed matMul leaves XNNPACK (measured ~40x and ~10x slower) and
 * tf.unstack copies slowly; tfjs's own matMul gradient would use transposed products, hence
 * the custom gradient dF = F (dG + dG^T) / (H*W).
 */
export function gramMatrix(f: tf.Tensor4D): tf.Tensor3D {
  const [batch, h, w, c] = f.shape;
  const n = h * w;
  /** stack_i(a_i @ b_i) for a [B, p, q], b [B, q, r]. */
  const perImage = (a: tf.Tensor3D, b: tf.Tensor3D) => {
    const [, p, q] = a.shape;
    const [, , r] = b.shape;
    const products = [];
    for (let i = 0; i < batch; i++) {
      const ai = tf.reshape(tf.slice(a, [i, 0, 0], [1, p, q]), [p, q]) as tf.Tensor2D;
      const bi = tf.reshape(tf.slice(b, [i, 0, 0], [1, q, r]), [q, r]) as tf.Tensor2D;
      products.push(tf.matMul(ai, bi));
    }
    return (batch === 1 ? tf.expandDims(products[0]!, 0) : tf.stack(products)) as tf.Tensor3D;
  };
  const gram = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    const rows = tf.reshape(input, [batch, n, c]) as tf.Tensor3D;
    save([rows]);
    const value = tf.div(perImage(tf.transpose(rows, [0, 2, 1]), rows), n) as tf.Tensor3D;
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const savedRows = saved[0] as tf.Tensor3D;
        const sym = tf.add(dy, tf.transpose(dy, [0, 2, 1])) as tf.Tensor3D;
        return tf.reshape(tf.div(perImage(savedRows, sym), n), [batch, h, w, c]);
      },
    };
  });
  return gram(f) as tf.Tensor3D;
}
