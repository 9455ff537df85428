/**
 * ONNX export of a StyleNet: the same layer list (network.ts layerSpecs), in NCHW.
 *
 * Hand-written graph builder because TF.js has no ONNX exporter and the network uses a small,
 * fixed op set; the protobuf encoding itself is onnx-proto's (protobufjs static code of onnx.proto).
 *
 *   image [N,3,H,W] float 0..1 (H, W dynamic)
 *   [Concat seed [N,2,H,W]]                                    seeded networks only
 *   Shape -> Slice [H,W] -> Neg -> Mod 4 -> Concat           bottom/right pad to a multiple of 4
 *   Pad(reflect)
 *   per conv: [Resize nearest ×2 (asymmetric, floor)] -> Pad(reflect, k/2) -> Conv -> [InstanceNormalization] -> [Relu]
 *   residual: Add
 *   Sigmoid -> Slice back to [H,W]
 *   stylized [N,3,H,W] float 0..1
 */
import onnxProto from 'onnx-proto';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, ONNX_SEED_CELL_KEY, ONNX_SEED_INPUT_NAME } from './contract.js';
import { SEED_CHANNELS } from './seed.mjs';
import { INSTANCE_NORM_EPSILON, layerSpecs, SIZE_MULTIPLE, type ConvSpec, type StyleNet } from './network.js';

const { onnx } = onnxProto;

/** Bumped whenever the exported graph changes for the same weights (recorded in registry metadata). */
export const EXPORTER_VERSION = '1.0.0';
export const ONNX_OPSET = 17;
/** IR version matching opset 17 (ONNX 1.12). */
const IR_VERSION = 8;

export { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, ONNX_SEED_CELL_KEY, ONNX_SEED_INPUT_NAME };

export interface ExportOnnxOptions {
  /** Free-form key/value pairs stored as the model's metadata_props (style, version, ...). */
  metadata?: Record<string, string>;
  /** Graph name; defaults to 'stylenet'. */
  graphName?: string;
}

type Attribute = InstanceType<typeof onnx.AttributeProto>;
type Node = InstanceType<typeof onnx.NodeProto>;
type Tensor = InstanceType<typeof onnx.TensorProto>;

function intAttr(name: string, value: number): Attribute {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });
}
function intsAttr(name: string, values: number[]): Attribute {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values });
}
function floatAttr(name: string, value: number): Attribute {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value });
}
function stringAttr(name: string, value: string): Attribute {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(value) });
}

function floatTensor(name: string, dims: number[], data: Float32Array): Tensor {
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i] ?? 0, true);
  return onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
}
function int64Tensor(name: string, values: number[], scalar = false): Tensor {
  return onnx.TensorProto.create({ name, dims: scalar ? [] : [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values });
}

/** HWIO (TF.js) -> OIHW (ONNX). */
function toOihw(data: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const h = kh ?? 0;
  const w = kw ?? 0;
  const i = cin ?? 0;
  const o = cout ?? 0;
  const out = new Float32Array(data.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < i; c++)
        for (let f = 0; f < o; f++) out[((f * i + c) * h + y) * w + x] = data[((y * w + x) * i + c) * o + f] ?? 0;
  return out;
}

class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private counter = 0;

  node(opType: string, inputs: string[], attributes: Attribute[] = [], name?: string): string {
    const output = `${name ?? opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: [output], name: output, attribute: attributes }));
    return output;
  }

  init(tensor: Tensor): string {
    this.initializers.push(tensor);
    return tensor.name;
  }
}

/** Serialises a StyleNet to an ONNX model (opset 17): input 'image', output 'stylized', both [N,3,H,W] in 0..1. */
export function exportOnnx(net: StyleNet, opts: ExportOnnxOptions = {}): Uint8Array {
  const weights = net.weights();
  const weight = (name: string) => {
    const w = weights.get(name);
    if (!w) throw new Error(`exportOnnx: network has no ${name}`);
    return w;
  };
  const g = new GraphBuilder();

  // Pad to a multiple of 4 at the bottom/right: pads = [0,0,0,0, 0,0,(-H mod 4),(-W mod 4)].
  const shape = g.node('Shape', [ONNX_INPUT_NAME], [], 'input_shape');
  const hw = g.node('Slice', [shape, g.init(int64Tensor('hw_start', [2])), g.init(int64Tensor('hw_end', [4]))], [], 'input_hw');
  const multiple = g.init(int64Tensor('size_multiple', [SIZE_MULTIPLE], true));
  const extra = g.node('Mod', [g.node('Neg', [hw]), multiple], [intAttr('fmod', 0)], 'extra_hw');
  const sizePads = g.node('Concat', [g.init(int64Tensor('zero_pads', [0, 0, 0, 0, 0, 0])), extra], [intAttr('axis', 0)], 'size_pads');
  const seeded = net.config.seedCell !== undefined;
  // As StyleNet.apply: the seed joins the image before the size padding.
  const input = seeded ? g.node('Concat', [ONNX_INPUT_NAME, ONNX_SEED_INPUT_NAME], [intAttr('axis', 1)], 'with_seed') : ONNX_INPUT_NAME;
  let y = g.node('Pad', [input, sizePads], [stringAttr('mode', 'reflect')], 'pad_to_multiple');

  const upsampleScales = g.init(floatTensor('upsample_scales', [4], Float32Array.of(1, 1, 2, 2)));
  const padsFor = new Map<number, string>();
  const layer = (input: string, spec: ConvSpec): string => {
    let x = input;
    if (spec.upsample) {
      // TF.js resizeNearestNeighbor (alignCorners=false, halfPixelCenters=false) at ×2 reads source
      // floor(dst/2); resizeBilinear with halfPixelCenters is ONNX's linear half_pixel (both clamp
      // at the edges).
      const attributes =
        net.config.upsampling === 'bilinear'
          ? [stringAttr('mode', 'linear'), stringAttr('coordinate_transformation_mode', 'half_pixel')]
          : [stringAttr('mode', 'nearest'), stringAttr('coordinate_transformation_mode', 'asymmetric'), stringAttr('nearest_mode', 'floor')];
      x = g.node('Resize', [x, '', upsampleScales], attributes, `${spec.name}.upsample`);
    }
    const pad = Math.floor(spec.kernel / 2);
    if (pad > 0) {
      let pads = padsFor.get(pad);
      if (!pads) {
        pads = g.init(int64Tensor(`reflect_pads_${pad}`, [0, 0, pad, pad, 0, 0, pad, pad]));
        padsFor.set(pad, pads);
      }
      x = g.node('Pad', [x, pads], [stringAttr('mode', 'reflect')], `${spec.name}.pad`);
    }
    const w = weight(`${spec.name}.conv.weight`);
    const convInputs = [x, g.init(floatTensor(`${spec.name}.conv.weight`, [spec.outChannels, spec.inChannels, spec.kernel, spec.kernel], toOihw(w.data, w.shape)))];
    if (!spec.norm) convInputs.push(g.init(floatTensor(`${spec.name}.conv.bias`, [spec.outChannels], weight(`${spec.name}.conv.bias`).data)));
    x = g.node(
      'Conv',
      convInputs,
      [intsAttr('kernel_shape', [spec.kernel, spec.kernel]), intsAttr('strides', [spec.stride, spec.stride]), intsAttr('pads', [0, 0, 0, 0])],
      `${spec.name}.conv`,
    );
    if (spec.norm) {
      const scale = g.init(floatTensor(`${spec.name}.norm.weight`, [spec.outChannels], weight(`${spec.name}.norm.weight`).data));
      const bias = g.init(floatTensor(`${spec.name}.norm.bias`, [spec.outChannels], weight(`${spec.name}.norm.bias`).data));
      x = g.node('InstanceNormalization', [x, scale, bias], [floatAttr('epsilon', INSTANCE_NORM_EPSILON)], `${spec.name}.norm`);
    }
    if (spec.relu) x = g.node('Relu', [x], [], `${spec.name}.relu`);
    return x;
  };

  const { encoder, residual, decoder } = layerSpecs(net.config);
  y = layer(y, encoder[0]!);
  const fullResolution = y;
  for (const spec of encoder.slice(1)) y = layer(y, spec);
  residual.forEach(([first, second], i) => {
    y = g.node('Add', [y, layer(layer(y, first), second)], [], `res${i + 1}.add`);
  });
  for (const spec of decoder) {
    if (spec.name === 'out' && net.config.skip) y = g.node('Add', [y, fullResolution], [], 'skip.add');
    y = layer(y, spec);
  }
  y = g.node('Sigmoid', [y], [], 'squash');
  g.nodes.push(
    onnx.NodeProto.create({
      opType: 'Slice',
      name: 'crop',
      input: [y, g.init(int64Tensor('crop_start', [0, 0])), hw, g.init(int64Tensor('crop_axes', [2, 3]))],
      output: [ONNX_OUTPUT_NAME],
    }),
  );

  const imageType = (name: string, channels = 3) =>
    onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: { dim: [{ dimParam: 'batch' }, { dimValue: channels }, { dimParam: 'height' }, { dimParam: 'width' }] },
        },
      },
    });

  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'nst-trainer',
    producerVersion: EXPORTER_VERSION,
    domain: 'nst.style',
    docString: 'Feed-forward style network: RGB 0..1 NCHW in, stylized RGB 0..1 out, any H and W.',
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    metadataProps: Object.entries({
      stylenet_config: JSON.stringify(net.config),
      exporter_version: EXPORTER_VERSION,
      ...(seeded ? { [ONNX_SEED_CELL_KEY]: String(net.config.seedCell) } : {}),
      ...opts.metadata,
    }).map(
      ([key, value]) => ({ key, value }),
    ),
    graph: {
      name: opts.graphName ?? 'stylenet',
      node: g.nodes,
      initializer: g.initializers,
      input: [imageType(ONNX_INPUT_NAME), ...(seeded ? [imageType(ONNX_SEED_INPUT_NAME, SEED_CHANNELS)] : [])],
      output: [imageType(ONNX_OUTPUT_NAME)],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
