/**
 * ImageNet-trained feature networks for the perceptual loss and the judge, read from the
 * Keras models that ship inside the npm package nsfwjs@4.4.0 (MIT): InceptionV3 and
 * MobileNetV2, whose lower layers (InceptionV3 below `mixed5`, MobileNetV2 below `block_11`)
 * kept their ImageNet weights when nsfwjs fine-tuned the tops. Nothing is downloaded: the
 * weights are base64 strings in node_modules, 8-bit quantised, expanded to float32 here.
 *
 * Why the network is rebuilt from plain ops rather than run as a tfjs layers model: the
 * layers model's input is fixed at 299x299 (its Flatten layer), its batch norms without a
 * scale break TF.js gradients, and differentiating through it also computes weight gradients
 * of every frozen conv. Here each batch norm is folded into its conv once, the graph is cut at
 * the last layer asked for, and only the input gradient flows.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

const require = createRequire(import.meta.url);

export type PretrainedModelName = 'inception_v3' | 'mobilenet_v2';

interface KerasLayer {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  inbound_nodes: Array<Array<[string, number, number, unknown]>>;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { min: number; scale: number; dtype: 'uint8' | 'uint16' };
}

interface KerasModelFile {
  modelTopology: { model_config: { config: { layers: KerasLayer[] } } };
  weightsManifest: Array<{ paths: string[]; weights: WeightSpec[] }>;
}

interface LoadedModel {
  layers: KerasLayer[];
  weights: Map<string, { values: Float32Array; shape: number[] }>;
}

const loaded = new Map<PretrainedModelName, LoadedModel>();

/** Reads a model's topology and weights from node_modules/nsfwjs (once per process). */
export function loadPretrainedModel(name: PretrainedModelName): LoadedModel {
  const cached = loaded.get(name);
  if (cached) return cached;
  // The package's exports map hides dist/models; its files load by absolute path.
  const dir = path.resolve(path.dirname(require.resolve('nsfwjs')), '../models', name);
  const file = require(`${dir}/model.min.js`) as KerasModelFile;
  const weights = new Map<string, { values: Float32Array; shape: number[] }>();
  for (const group of file.weightsManifest) {
    const bytes = Buffer.concat(group.paths.map((p) => Buffer.from(require(`${dir}/${p}.min.js`) as string, 'base64')));
    let offset = 0;
    for (const spec of group.weights) {
      const count = spec.shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(count);
      const q = spec.quantization;
      if (q) {
        const width = q.dtype === 'uint8' ? 1 : 2;
        for (let i = 0; i < count; i++) {
          const raw = width === 1 ? bytes[offset + i]! : bytes.readUInt16LE(offset + 2 * i);
          values[i] = raw * q.scale + q.min;
        }
        offset += count * width;
      } else {
        values.set(new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * count)));
        offset += 4 * count;
      }
      weights.set(spec.name, { values, shape: spec.shape });
    }
  }
  const model = { layers: file.modelTopology.model_config.config.layers, weights };
  loaded.set(name, model);
  return model;
}

export interface PretrainedNetworkOptions {
  model: PretrainedModelName;
  /** Layer names whose outputs `features` returns, in this order. */
  outputs: string[];
  /**
   * Max pooling replaced by average pooling (Gatys et al. 2016 found it gives smoother
   * gradients for image synthesis; TF.js WASM also has no MaxPoolGrad). Default true.
   */
  averagePooling?: boolean;
}

export interface PretrainedNetwork {
  readonly model: PretrainedModelName;
  readonly outputs: readonly string[];
  /** x: NHWC RGB in [0, 1], any size of at least 75 px; the outputs' feature maps. */
  features(x: tf.Tensor4D): tf.Tensor4D[];
  dispose(): void;
}

type Op = (inputs: tf.Tensor4D[]) => tf.Tensor4D;

const padding = (config: Record<string, unknown>) => (config.padding === 'same' ? 'same' : 'valid');
const pair = (v: unknown) => v as [number, number];

/** The layers `outputs` depend on, in topological (file) order. */
function needed(layers: KerasLayer[], outputs: string[]): KerasLayer[] {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const keep = new Set<string>();
  const visit = (name: string) => {
    if (keep.has(name)) return;
    const layer = byName.get(name);
    if (!layer) throw new Error(`layer ${name} is not in the model`);
    keep.add(name);
    for (const node of layer.inbound_nodes) for (const [input] of node) visit(input);
  };
  outputs.forEach(visit);
  return layers.filter((l) => keep.has(l.name));
}

/**
 * Builds the frozen network up to `outputs`. Batch norms directly after a conv are folded
 * into it (w * g / sqrt(var + eps), b = beta - mean * g / sqrt(var + eps)).
 */
export function createPretrainedNetwork(options: PretrainedNetworkOptions): PretrainedNetwork {
  const model = loadPretrainedModel(options.model);
  const averagePooling = options.averagePooling ?? true;
  const layers = needed(model.layers, options.outputs);
  const consumers = new Map<string, number>();
  for (const l of layers) for (const node of l.inbound_nodes) for (const [input] of node) consumers.set(input, (consumers.get(input) ?? 0) + 1);
  const weight = (name: string) => {
    const w = model.weights.get(name);
    if (!w) throw new Error(`weight ${name} is missing from ${options.model}`);
    return w;
  };
  const held: tf.Tensor[] = [];
  // tf.keep: the network may be built lazily inside a caller's tf.tidy, which must not free it.
  const keep = <T extends tf.Tensor>(t: T): T => {
    held.push(tf.keep(t));
    return t;
  };
  const ops = new Map<string, { inputs: string[]; op: Op }>();
  const folded = new Set<string>();
  for (const layer of layers) {
    const inputs = (layer.inbound_nodes[0] ?? []).map(([n]) => n);
    const c = layer.config;
    let op: Op;
    switch (layer.class_name) {
      case 'InputLayer':
        // The frozen ImageNet layers were trained on [-1, 1] inputs.
        op = ([x]) => tf.sub(tf.mul(x!, 2), 1);
        break;
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const depthwise = layer.class_name === 'DepthwiseConv2D';
        const kernel = weight(`${layer.name}/${depthwise ? 'depthwise_kernel' : 'kernel'}`);
        let values = Float32Array.from(kernel.values);
        const channels = kernel.shape[depthwise ? 2 : 3]!;
        let bias = c.use_bias ? Float32Array.from(weight(`${layer.name}/bias`).values) : new Float32Array(channels);
        // Fold a following batch norm when this conv is its only input and it the conv's only consumer.
        const next = layers.find((l) => l.class_name === 'BatchNormalization' && l.inbound_nodes[0]?.[0]?.[0] === layer.name);
        if (next && consumers.get(layer.name) === 1) {
          const eps = Number(next.config.epsilon ?? 1e-3);
          const mean = weight(`${next.name}/moving_mean`).values;
          const variance = weight(`${next.name}/moving_variance`).values;
          const beta = next.config.center === false ? new Float32Array(channels) : weight(`${next.name}/beta`).values;
          const gamma = next.config.scale === false ? undefined : weight(`${next.name}/gamma`).values;
          const factor = Float32Array.from({ length: channels }, (_, i) => (gamma ? gamma[i]! : 1) / Math.sqrt(variance[i]! + eps));
          values = values.map((v, i) => v * factor[i % channels]!);
          bias = bias.map((b, i) => (b - mean[i]!) * factor[i]! + beta[i]!);
          folded.add(next.name);
        }
        const w = keep(tf.tensor4d(values, kernel.shape as [number, number, number, number]));
        const b = keep(tf.tensor1d(bias));
        const strides = pair(c.strides);
        const pad = padding(c);
        op = depthwise
          ? ([x]) => tf.add(tf.depthwiseConv2d(x!, w, strides, pad), b)
          : ([x]) => tf.add(tf.conv2d(x!, w, strides, pad), b);
        break;
      }
      case 'BatchNormalization': {
        if (folded.has(layer.name)) {
          op = ([x]) => x!;
          break;
        }
        throw new Error(`batch norm ${layer.name} does not follow a conv`);
      }
      case 'Activation':
        if (c.activation !== 'relu') throw new Error(`activation ${String(c.activation)} is not supported`);
        op = ([x]) => tf.relu(x!);
        break;
      case 'ReLU':
        op = c.max_value === 6 ? ([x]) => tf.relu6(x!) : ([x]) => tf.relu(x!);
        break;
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const size = pair(c.pool_size);
        const strides = pair(c.strides);
        const pad = padding(c);
        op =
          layer.class_name === 'MaxPooling2D' && !averagePooling
            ? ([x]) => tf.maxPool(x!, size, strides, pad)
            : ([x]) => tf.avgPool(x!, size, strides, pad);
        break;
      }
      case 'ZeroPadding2D': {
        const [[top, bottom], [left, right]] = c.padding as [[number, number], [number, number]];
        op = ([x]) => tf.pad(x!, [[0, 0], [top, bottom], [left, right], [0, 0]]);
        break;
      }
      case 'Concatenate':
        op = (xs) => tf.concat(xs, 3);
        break;
      case 'Add':
        op = (xs) => tf.addN(xs) as tf.Tensor4D;
        break;
      default:
        throw new Error(`layer ${layer.name} (${layer.class_name}) is not supported by the frozen network`);
    }
    ops.set(layer.name, { inputs, op });
  }
  const inputName = layers.find((l) => l.class_name === 'InputLayer')!.name;
  return {
    model: options.model,
    outputs: options.outputs,
    features: (x) =>
      tf.tidy(() => {
        const values = new Map<string, tf.Tensor4D>();
        for (const layer of layers) {
          const { inputs, op } = ops.get(layer.name)!;
          values.set(layer.name, layer.name === inputName ? op([x]) : op(inputs.map((n) => values.get(n)!)));
        }
        return options.outputs.map((n) => values.get(n)!);
      }),
    dispose: () => tf.dispose(held),
  };
}
