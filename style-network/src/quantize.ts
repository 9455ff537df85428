/**
 * Static int8 quantization of an exported style network, in ONNX's QDQ form: the graph stays
 * float at its edges, and QuantizeLinear / DequantizeLinear pairs around each convolution tell
 * ONNX Runtime where it may run integer kernels. ORT's graph optimizer fuses
 * DequantizeLinear -> Conv -> QuantizeLinear into QLinearConv (uint8 activations, int8 weights:
 * the U8S8 kernels MLAS runs on AVX512-VNNI and AMX), so a model written this way runs int8
 * convolutions while the instance norms, the residual adds and the final sigmoid stay float.
 *
 * Hand-written because the only QDQ tool (onnxruntime.quantization) is Python and needs PyPI,
 * which cannot be reached here, and no JavaScript library rewrites ONNX graphs; the encoding is
 * onnx-proto's, as in the exporter (onnx.ts) and inference's thumbnail-norm rewrite.
 *
 * Per convolution:
 *   weight  -> int8, symmetric, one scale per output channel (zero point 0), DequantizeLinear axis 0
 *   bias    -> int32 at scale input_scale * weight_scale[c] (what QLinearConv adds in its accumulator)
 *   input   -> uint8 at one scale per tensor from calibration. The QuantizeLinear goes before the
 *              reflection Pad / nearest Resize that feed the conv: those only copy values, so they
 *              commute with quantization and then move a quarter of the bytes. A Relu right before
 *              it is dropped when nothing else reads it: a zero point of 0 clamps at 0 exactly.
 *   output  -> uint8 (QuantizeLinear -> DequantizeLinear): ORT only fuses a conv into QLinearConv
 *              when its output is quantized; the instance norm after it then reads float again.
 */
import onnxProto from 'onnx-proto';
import { SEED_CHANNELS } from './seed.mjs';

const { onnx } = onnxProto;

type NodeProto = InstanceType<typeof onnx.NodeProto>;
type TensorProto = InstanceType<typeof onnx.TensorProto>;
type ModelProto = InstanceType<typeof onnx.ModelProto>;

/** Bumped whenever the quantized graph changes for the same model and ranges (recorded in registry metadata). */
export const QUANTIZER_VERSION = '1.0.0';

/** The value range a tensor takes on the calibration photos. */
export interface TensorRange {
  min: number;
  max: number;
}

/** The range of each channel of an NCHW tensor. */
export interface ChannelRanges {
  min: Float32Array;
  max: Float32Array;
}

/**
 * Most a channel is scaled up to share its tensor's range, and the smallest range (as a
 * fraction of the widest channel's) that is scaled at all: a channel that is nearly constant
 * carries no picture, and scaling it would let the norm's epsilon matter.
 */
const MAX_CHANNEL_GAIN = 16;
/** Input gains also shrink the next conv's weights for that channel, against its other inputs' int8 steps: a smaller cap. */
const MAX_INPUT_GAIN = 4;
const LIVE_CHANNEL = 1e-3;

/**
 * Per-channel gains that bring every live channel of a normalised conv's output to the widest
 * channel's range, and the tensor range after them. InstanceNormalization(g * x) equals
 * InstanceNormalization(x) for g > 0 (up to its epsilon against the variance, under 1e-4 of
 * the variance here), so multiplying the conv's output channel c by g[c] (its weights and bias)
 * changes nothing downstream; but one uint8 scale per tensor (all QLinearConv takes) then
 * serves every channel at its own resolution rather than at the widest channel's.
 */
export function channelGains(ranges: ChannelRanges, maxGain = MAX_CHANNEL_GAIN): { gains: Float32Array; range: TensorRange } {
  const channels = ranges.min.length;
  const span = (c: number) => Math.max(Math.abs(ranges.min[c] as number), Math.abs(ranges.max[c] as number));
  let widest = 0;
  for (let c = 0; c < channels; c++) widest = Math.max(widest, span(c));
  const gains = new Float32Array(channels).fill(1);
  let min = 0;
  let max = 0;
  for (let c = 0; c < channels; c++) {
    const own = span(c);
    if (widest > 0 && own > widest * LIVE_CHANNEL) gains[c] = Math.min(maxGain, widest / own);
    min = Math.min(min, (ranges.min[c] as number) * (gains[c] as number));
    max = Math.max(max, (ranges.max[c] as number) * (gains[c] as number));
  }
  return { gains, range: { min, max } };
}

/** One convolution to quantize: the float tensor quantized for its input, and its output. */
export interface QuantizedConv {
  /** The Conv node's name (the exporter names them `<layer>.conv`). */
  name: string;
  /** The tensor the input QuantizeLinear reads (before the Pad / Resize / Relu it hoists over). */
  source: string;
  /** A Relu between `source` and the conv that the quantization replaces, if any. */
  relu?: string;
  /** The node that reads `source` (or the Relu's output) on the way to the conv: a Pad, a Resize or the conv. */
  head: string;
  /** The conv's (float) output. */
  output: string;
  /**
   * Set when the output goes only to an InstanceNormalization: the norm does not see a
   * positive scale of a channel, so channels can be rescaled to share one quantization range.
   */
  normalized?: boolean;
  /**
   * The InstanceNormalization whose output is `source` and reaches only this conv: its
   * per-channel scale and bias can stretch each channel to the tensor's range, the conv's
   * weights for that input channel shrinking to match (ReLU, Pad and nearest Resize commute
   * with a positive scale), so one uint8 scale serves every channel.
   */
  sourceNorm?: string;
}

export interface QdqPlan {
  convs: QuantizedConv[];
  /** Every tensor whose range the quantized graph needs: calibration measures these. */
  tensors: string[];
}

export interface PlanOptions {
  /** Convs (by node name) to leave in float. */
  keepFloat?: readonly string[];
}

/** Ops that only move or copy values: quantizing before or after them gives the same bytes. */
function isValueCopy(node: NodeProto): boolean {
  if (node.opType === 'Pad') {
    const mode = node.attribute?.find((a) => a.name === 'mode')?.s;
    const text = mode ? new TextDecoder().decode(mode) : 'constant';
    // constant mode pads with a value; 0 (the default) is exactly representable, others need not be.
    return text === 'reflect' || text === 'edge' || (text === 'constant' && (node.input?.length ?? 0) < 3);
  }
  if (node.opType === 'Resize') {
    const mode = node.attribute?.find((a) => a.name === 'mode')?.s;
    return mode !== undefined && mode !== null && new TextDecoder().decode(mode) === 'nearest';
  }
  return false;
}

interface GraphIndex {
  producer: Map<string, NodeProto>;
  consumers: Map<string, NodeProto[]>;
  initializers: Map<string, TensorProto>;
  outputs: Set<string>;
}

function indexGraph(model: ModelProto): GraphIndex {
  const graph = model.graph;
  if (!graph) throw new Error('the ONNX model has no graph');
  const producer = new Map<string, NodeProto>();
  const consumers = new Map<string, NodeProto[]>();
  for (const node of (graph.node ?? []) as NodeProto[]) {
    for (const output of node.output ?? []) producer.set(output, node);
    for (const input of node.input ?? []) {
      if (!input) continue;
      const list = consumers.get(input) ?? [];
      list.push(node);
      consumers.set(input, list);
    }
  }
  const initializers = new Map<string, TensorProto>(((graph.initializer ?? []) as TensorProto[]).map((t) => [String(t.name), t]));
  const outputs = new Set((graph.output ?? []).map((o) => String(o.name)));
  return { producer, consumers, initializers, outputs };
}

const soleConsumer = (index: GraphIndex, tensor: string): NodeProto | undefined => {
  const list = index.consumers.get(tensor) ?? [];
  return list.length === 1 && !index.outputs.has(tensor) ? list[0] : undefined;
};

/**
 * The convolutions that read or write an image (3 channels, or 5 where a seeded network's first
 * conv also reads the cell seed's two): the first and the last of a style network. Kept in float by default: measured at 1024x1024 on two cores, ORT's int8 kernels ran
 * them 2.4x (first, 3 input channels) and 3.9x (last, 3 output channels) slower than its float
 * ones, its integer GEMM packing channels in blocks far wider than 3.
 */
export function imageConvs(model: Uint8Array | ModelProto): string[] {
  const proto = model instanceof Uint8Array ? onnx.ModelProto.decode(model) : model;
  const index = indexGraph(proto);
  return ((proto.graph?.node ?? []) as NodeProto[])
    .filter((node) => {
      if (node.opType !== 'Conv') return false;
      const dims = index.initializers.get(node.input?.[1] ?? '')?.dims?.map(Number) ?? [];
      // Output channels 3: paints RGB. Input channels 3 or 5: reads RGB, or RGB and the cell seed.
      return dims[0] === 3 || dims[1] === 3 || dims[1] === 3 + SEED_CHANNELS;
    })
    .map((node) => String(node.name));
}

/** Which convolutions get quantized and which tensors calibration must measure. */
export function planQdq(model: Uint8Array | ModelProto, options: PlanOptions = {}): QdqPlan {
  const proto = model instanceof Uint8Array ? onnx.ModelProto.decode(model) : model;
  const index = indexGraph(proto);
  const keep = new Set(options.keepFloat ?? []);
  const convs: QuantizedConv[] = [];
  for (const node of (proto.graph?.node ?? []) as NodeProto[]) {
    if (node.opType !== 'Conv' || keep.has(String(node.name))) continue;
    const [input, weight] = node.input ?? [];
    const [output] = node.output ?? [];
    if (!input || !weight || !output || !index.initializers.has(weight)) continue;
    // Walk back over value copies that feed only this chain.
    let source = input;
    let head = node;
    for (;;) {
      const from = index.producer.get(source);
      if (!from || !isValueCopy(from)) break;
      const upstream = from.input?.[0];
      if (!upstream || (index.producer.get(upstream) === undefined && !isGraphInput(proto, upstream))) break;
      if (soleConsumer(index, source) === undefined) break;
      source = upstream;
      head = from;
    }
    const conv: QuantizedConv = { name: String(node.name), source, head: String(head.name), output };
    if (soleConsumer(index, output)?.opType === 'InstanceNormalization') conv.normalized = true;
    const relu = index.producer.get(source);
    if (relu?.opType === 'Relu' && relu.input?.[0] && soleConsumer(index, source)) {
      conv.relu = String(relu.name);
      conv.source = relu.input[0];
    }
    const norm = index.producer.get(conv.source);
    const [, scale, bias] = norm?.input ?? [];
    if (norm?.opType === 'InstanceNormalization' && soleConsumer(index, conv.source) && scale && bias && index.initializers.has(scale) && index.initializers.has(bias)) {
      // Its scale and bias must be its own: they are rewritten.
      if ((index.consumers.get(scale) ?? []).length === 1 && (index.consumers.get(bias) ?? []).length === 1) conv.sourceNorm = String(norm.name);
    }
    convs.push(conv);
  }
  const tensors = [...new Set(convs.flatMap((c) => [c.source, c.output]))];
  return { convs, tensors };
}

function isGraphInput(model: ModelProto, name: string): boolean {
  return (model.graph?.input ?? []).some((i) => i.name === name);
}

/** The model with extra float outputs for `tensors` (what calibration reads). */
export function withTensorOutputs(model: Uint8Array, tensors: readonly string[]): Uint8Array {
  const proto = onnx.ModelProto.decode(model);
  const graph = proto.graph;
  if (!graph) throw new Error('the ONNX model has no graph');
  graph.output ??= [];
  const present = new Set(graph.output.map((o) => o.name));
  for (const name of tensors) {
    if (present.has(name)) continue;
    graph.output.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  }
  return onnx.ModelProto.encode(proto).finish();
}

/** uint8 affine parameters covering [min, max] and 0 (zero must be exact). */
export function activationParams(range: TensorRange): { scale: number; zeroPoint: number } {
  const lo = Math.min(0, range.min);
  const hi = Math.max(0, range.max);
  if (!(hi > lo)) return { scale: 1, zeroPoint: 0 };
  const scale = (hi - lo) / 255;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

function readFloats(tensor: TensorProto): Float32Array {
  if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT) throw new Error(`initializer ${tensor.name} is not float`);
  if (tensor.rawData && tensor.rawData.length > 0) {
    const raw = tensor.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(raw.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  return Float32Array.from(tensor.floatData ?? []);
}

const scalarFloat = (name: string, value: number): TensorProto =>
  onnx.TensorProto.create({ name, dims: [], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [value] });
const scalarUint8 = (name: string, value: number): TensorProto =>
  onnx.TensorProto.create({ name, dims: [], dataType: onnx.TensorProto.DataType.UINT8, rawData: Uint8Array.of(value) });

function int32Raw(values: Int32Array): Uint8Array {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setInt32(i * 4, v, true));
  return raw;
}

function floatRaw(values: Float32Array): Uint8Array {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return raw;
}

const axisAttr = (axis: number) => onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis });

export interface QuantizeOptions extends PlanOptions {
  /**
   * Per-channel ranges of normalised convs' outputs (calibrate.ts): those convs get channel
   * gains (channelGains) before their weights are quantized. Without them, no gains.
   */
  channelRanges?: ReadonlyMap<string, ChannelRanges>;
  /** Whether normalised inputs get channel gains too (default true when channelRanges has them). */
  inputGains?: boolean;
  /** Extra metadata_props for the quantized model (calibration method, photo hashes). */
  metadata?: Record<string, string>;
}

/**
 * The QDQ int8 model of `model`, given the calibrated range of every tensor planQdq names.
 * Deterministic: the same model, ranges and options give the same bytes.
 */
export function quantizeQdq(model: Uint8Array, ranges: ReadonlyMap<string, TensorRange>, options: QuantizeOptions = {}): Uint8Array {
  const proto = onnx.ModelProto.decode(model);
  const graph = proto.graph;
  if (!graph) throw new Error('the ONNX model has no graph');
  const plan = planQdq(proto, options);
  const index = indexGraph(proto);
  const rangeOf = (tensor: string): TensorRange => {
    const range = ranges.get(tensor);
    if (!range || !Number.isFinite(range.min) || !Number.isFinite(range.max)) throw new Error(`no calibrated range for tensor ${tensor}`);
    return range;
  };

  const initializers = (graph.initializer ??= []) as TensorProto[];
  const nodeNamed = (name: string): NodeProto => {
    const found = ((graph.node ?? []) as NodeProto[]).find((n) => n.name === name);
    if (!found) throw new Error(`node ${name} vanished while quantizing`);
    return found;
  };
  /** Nodes to insert before a given node (by identity), in order. */
  const before = new Map<NodeProto, NodeProto[]>();
  const insertBefore = (anchor: NodeProto, ...nodes: NodeProto[]) => before.set(anchor, [...(before.get(anchor) ?? []), ...nodes]);
  /** Nodes to insert after a given node. */
  const after = new Map<NodeProto, NodeProto[]>();
  const removed = new Set<NodeProto>();
  const renameInput = (node: NodeProto, from: string, to: string) => {
    node.input = (node.input ?? []).map((name) => (name === from ? to : name));
  };

  /** Scale and zero-point initializers of a tensor's activation quantization, made once per tensor. */
  const params = new Map<string, { scale: string; zeroPoint: string; value: { scale: number; zeroPoint: number } }>();
  const paramsOf = (tensor: string, range: TensorRange) => {
    let p = params.get(tensor);
    if (!p) {
      const value = activationParams(range);
      p = { scale: `${tensor}.q_scale`, zeroPoint: `${tensor}.q_zero_point`, value };
      initializers.push(scalarFloat(p.scale, value.scale), scalarUint8(p.zeroPoint, value.zeroPoint));
      params.set(tensor, p);
    }
    return p;
  };

  for (const conv of plan.convs) {
    const node = nodeNamed(conv.name);
    const [input, weightName, biasName] = node.input ?? [];
    if (!input || !weightName) throw new Error(`conv ${conv.name} has no input or weight`);

    // Input: QuantizeLinear at the source (in place of a dropped Relu), the value copies on
    // uint8, DequantizeLinear right before the conv.
    const reluNode = conv.relu ? nodeNamed(conv.relu) : undefined;
    let sourceRange = rangeOf(conv.source);
    // Input channel gains through the norm's own scale and bias (see QuantizedConv.sourceNorm).
    const sourceChannels = conv.sourceNorm ? options.channelRanges?.get(conv.source) : undefined;
    let inputGains: Float32Array | undefined;
    if (conv.sourceNorm && sourceChannels && options.inputGains !== false) {
      // Behind a dropped Relu only the positive side is ever quantized.
      const seen = reluNode ? { min: new Float32Array(sourceChannels.min.length), max: sourceChannels.max } : sourceChannels;
      const equalized = channelGains(seen, MAX_INPUT_GAIN);
      inputGains = equalized.gains;
      sourceRange = equalized.range;
      const normNode = nodeNamed(conv.sourceNorm);
      for (const name of [normNode.input?.[1], normNode.input?.[2]]) {
        const tensor = index.initializers.get(String(name));
        if (!tensor) throw new Error(`norm ${conv.sourceNorm}: ${name} is not an initializer`);
        const values = readFloats(tensor).map((v, c) => v * (inputGains?.[c] ?? 1));
        tensor.rawData = floatRaw(values);
        tensor.floatData = [];
      }
    }
    // Without the Relu the quantized range must start at 0 for the clamp to be the Relu's.
    const inParams = reluNode ? paramsOf(`${conv.source}.relu`, { min: 0, max: sourceRange.max }) : paramsOf(conv.source, sourceRange);
    const head = reluNode ? String(reluNode.output?.[0]) : conv.source;
    const headConsumer = nodeNamed(conv.head);
    const quantized = `${conv.name}.input_quantized`;
    const qNode = onnx.NodeProto.create({
      opType: 'QuantizeLinear',
      name: `${conv.name}.quantize_input`,
      input: [conv.source, inParams.scale, inParams.zeroPoint],
      output: [quantized],
    });
    if (reluNode) {
      removed.add(reluNode);
      insertBefore(reluNode, qNode);
    } else insertBefore(headConsumer, qNode);
    renameInput(headConsumer, head, quantized);
    const dequantized = `${conv.name}.input_dequantized`;
    insertBefore(
      node,
      onnx.NodeProto.create({
        opType: 'DequantizeLinear',
        name: `${conv.name}.dequantize_input`,
        input: [String(node.input?.[0]), inParams.scale, inParams.zeroPoint],
        output: [dequantized],
      }),
    );
    node.input[0] = dequantized;

    // Weight: int8 symmetric per output channel.
    const weight = index.initializers.get(weightName);
    if (!weight) throw new Error(`conv ${conv.name}: weight ${weightName} is not an initializer`);
    const w = readFloats(weight);
    const outChannels = Number(weight.dims?.[0]);
    const perChannel = w.length / outChannels;
    if (inputGains) {
      // OIHW: input channel c of every filter shrinks by the gain its channel grew by.
      const inChannels = Number(weight.dims?.[1]);
      const kernel = perChannel / inChannels;
      if (inChannels !== inputGains.length) throw new Error(`conv ${conv.name}: ${inputGains.length} input gains for ${inChannels} channels`);
      for (let i = 0; i < w.length; i++) w[i] = (w[i] as number) / (inputGains[Math.floor(i / kernel) % inChannels] as number);
    }
    const perChannelRanges = conv.normalized ? options.channelRanges?.get(conv.output) : undefined;
    const equalized = perChannelRanges ? channelGains(perChannelRanges) : undefined;
    if (equalized) {
      if (equalized.gains.length !== outChannels) throw new Error(`conv ${conv.name}: ${equalized.gains.length} channel ranges for ${outChannels} channels`);
      for (let c = 0; c < outChannels; c++) for (let i = c * perChannel; i < (c + 1) * perChannel; i++) w[i] = (w[i] as number) * (equalized.gains[c] as number);
    }
    const wScales = new Float32Array(outChannels);
    const wq = new Int8Array(w.length);
    for (let c = 0; c < outChannels; c++) {
      let absMax = 0;
      for (let i = c * perChannel; i < (c + 1) * perChannel; i++) absMax = Math.max(absMax, Math.abs(w[i] as number));
      const scale = absMax > 0 ? absMax / 127 : 1;
      wScales[c] = scale;
      for (let i = c * perChannel; i < (c + 1) * perChannel; i++) wq[i] = Math.max(-127, Math.min(127, Math.round((w[i] as number) / scale)));
    }
    initializers.push(
      onnx.TensorProto.create({ name: `${weightName}.quantized`, dims: weight.dims, dataType: onnx.TensorProto.DataType.INT8, rawData: new Uint8Array(wq.buffer) }),
      onnx.TensorProto.create({ name: `${weightName}.scale`, dims: [outChannels], dataType: onnx.TensorProto.DataType.FLOAT, rawData: floatRaw(wScales) }),
      onnx.TensorProto.create({ name: `${weightName}.zero_point`, dims: [outChannels], dataType: onnx.TensorProto.DataType.INT8, rawData: new Uint8Array(outChannels) }),
    );
    insertBefore(
      node,
      onnx.NodeProto.create({
        opType: 'DequantizeLinear',
        name: `${conv.name}.dequantize_weight`,
        input: [`${weightName}.quantized`, `${weightName}.scale`, `${weightName}.zero_point`],
        output: [`${weightName}.dequantized`],
        attribute: [axisAttr(0)],
      }),
    );
    node.input[1] = `${weightName}.dequantized`;

    // Bias: int32 at input_scale * weight_scale.
    if (biasName) {
      const bias = index.initializers.get(biasName);
      if (!bias) throw new Error(`conv ${conv.name}: bias ${biasName} is not an initializer`);
      const b = readFloats(bias).map((v, c) => v * (equalized?.gains[c] ?? 1));
      const bScales = Float32Array.from(wScales, (s) => s * inParams.value.scale);
      const bq = Int32Array.from(b, (v, c) => Math.round(v / (bScales[c] as number)));
      initializers.push(
        onnx.TensorProto.create({ name: `${biasName}.quantized`, dims: [outChannels], dataType: onnx.TensorProto.DataType.INT32, rawData: int32Raw(bq) }),
        onnx.TensorProto.create({ name: `${biasName}.scale`, dims: [outChannels], dataType: onnx.TensorProto.DataType.FLOAT, rawData: floatRaw(bScales) }),
        onnx.TensorProto.create({ name: `${biasName}.zero_point`, dims: [outChannels], dataType: onnx.TensorProto.DataType.INT32, rawData: new Uint8Array(outChannels * 4) }),
      );
      insertBefore(
        node,
        onnx.NodeProto.create({
          opType: 'DequantizeLinear',
          name: `${conv.name}.dequantize_bias`,
          input: [`${biasName}.quantized`, `${biasName}.scale`, `${biasName}.zero_point`],
          output: [`${biasName}.dequantized`],
          attribute: [axisAttr(0)],
        }),
      );
      node.input[2] = `${biasName}.dequantized`;
    }

    // Output: QuantizeLinear -> DequantizeLinear, every reader of the output rewired.
    const outParams = paramsOf(conv.output, equalized?.range ?? rangeOf(conv.output));
    const raw = `${conv.output}.float`;
    node.output = [raw];
    after.set(node, [
      onnx.NodeProto.create({ opType: 'QuantizeLinear', name: `${conv.name}.quantize_output`, input: [raw, outParams.scale, outParams.zeroPoint], output: [`${conv.output}.quantized`] }),
      onnx.NodeProto.create({
        opType: 'DequantizeLinear',
        name: `${conv.name}.dequantize_output`,
        input: [`${conv.output}.quantized`, outParams.scale, outParams.zeroPoint],
        output: [conv.output],
      }),
    ]);
  }

  // Rebuild the node list: inserted nodes before their anchors, output pairs after their convs.
  const nodes: NodeProto[] = [];
  for (const node of (graph.node ?? []) as NodeProto[]) {
    nodes.push(...(before.get(node) ?? []));
    if (!removed.has(node)) nodes.push(node);
    nodes.push(...(after.get(node) ?? []));
  }
  graph.node = nodes;
  // Float weights and biases that nothing reads any more.
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  graph.initializer = initializers.filter((t) => used.has(String(t.name)));
  proto.metadataProps = [
    ...(proto.metadataProps ?? []),
    ...Object.entries({ quantizer_version: QUANTIZER_VERSION, precision: 'int8', ...options.metadata }).map(([key, value]) =>
      onnx.StringStringEntryProto.create({ key, value }),
    ),
  ];
  return onnx.ModelProto.encode(proto).finish();
}
