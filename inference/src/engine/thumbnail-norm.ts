/**
 * Thumbnail instance normalisation for tiled stylization (the idea of URST, Chen et al. 2022).
 *
 * The style network normalises every feature map by its own mean and variance
 * (InstanceNormalization). Run tile by tile, each tile is normalised by the tile's statistics,
 * so a tile of sky and a tile of foliage come out in different tones and the tile grid shows as
 * blocks however well the overlaps are blended. The fix: take the statistics once, from the
 * whole photo shrunk to a thumbnail, and normalise every tile with those.
 *
 * From one exported model this derives two graphs, by rewriting the ONNX protobuf:
 *  - probe: the model unchanged, plus an output per InstanceNormalization with the mean and the
 *    variance of its input over H and W ([N,C,1,1] each). Run on the thumbnail.
 *  - tile: every InstanceNormalization replaced by (x - mean) / sqrt(variance + epsilon) *
 *    scale + bias (as one multiply-add), with mean and variance as graph inputs. Run on each tile with the probe's
 *    statistics. Fed the statistics of the same image it paints exactly what the model paints.
 *
 * Hand-written because no library rewrites ONNX graphs in JavaScript; the encoding is
 * onnx-proto's, as in the trainer's exporter.
 */
import type { Precision } from '@nst/runtime';
import onnxProto from 'onnx-proto';
import type { RgbImage, StyleRunner } from '../pipeline/tiling';
import { StyleModel, type ExtraFeed, type StyleModelOptions } from './style-model';

const { onnx } = onnxProto;

type NodeProto = InstanceType<typeof onnx.NodeProto>;
type TensorProto = InstanceType<typeof onnx.TensorProto>;
type ValueInfoProto = InstanceType<typeof onnx.ValueInfoProto>;

/** Names of one normalisation's statistics: probe outputs and tile inputs alike. */
export interface NormStatistics {
  mean: string;
  variance: string;
  channels: number;
}

export interface ThumbnailNormGraphs {
  probe: Uint8Array;
  tile: Uint8Array;
  norms: NormStatistics[];
}

const DEFAULT_EPSILON = 1e-5;

function statsValueInfo(name: string, channels: number): ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimParam: 'batch' }, { dimValue: channels }, { dimValue: 1 }, { dimValue: 1 }] },
      },
    },
  });
}

const node = (opType: string, input: string[], output: string[], name: string, attribute: NodeProto['attribute'] = []): NodeProto =>
  onnx.NodeProto.create({ opType, input, output, name, attribute });

const axesAttr = () => [onnx.AttributeProto.create({ name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [2, 3] })];
const keepDims = () => onnx.AttributeProto.create({ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 });

/**
 * Both graphs for a model, or undefined when it has no InstanceNormalization (nothing to fix).
 * Throws when the model cannot be read or a normalisation's scale is not a 1-D initializer.
 */
export function thumbnailNormGraphs(model: Uint8Array): ThumbnailNormGraphs | undefined {
  const probe = onnx.ModelProto.decode(model);
  const tile = onnx.ModelProto.decode(model);
  const graph = tile.graph;
  if (!probe.graph || !graph) throw new Error('the ONNX model has no graph');
  const tileInitializers = (graph.initializer ??= []);
  graph.input ??= [];
  probe.graph.output ??= [];
  const initializers = new Map<string, TensorProto>(tileInitializers.map((t) => [String(t.name), t as TensorProto]));
  const norms: NormStatistics[] = [];
  const probeNodes: NodeProto[] = [];
  const tileNodes: NodeProto[] = [];

  for (const original of (graph.node ?? []) as NodeProto[]) {
    if (original.opType !== 'InstanceNormalization') {
      probeNodes.push(original);
      tileNodes.push(original);
      continue;
    }
    const [x, scaleName, biasName] = original.input ?? [];
    const [y] = original.output ?? [];
    const scale = scaleName ? initializers.get(scaleName) : undefined;
    const bias = biasName ? initializers.get(biasName) : undefined;
    if (!x || !y || !scale || !bias || scale.dims?.length !== 1) {
      throw new Error(`InstanceNormalization ${original.name} does not have a 1-D scale and bias initializer`);
    }
    const channels = Number(scale.dims[0]);
    const epsilon = original.attribute?.find((a) => a.name === 'epsilon')?.f ?? DEFAULT_EPSILON;
    const k = norms.length;
    const stats = { mean: `thumbnail_norm.${k}.mean`, variance: `thumbnail_norm.${k}.variance`, channels };
    norms.push(stats);
    const at = (suffix: string) => `thumbnail_norm.${k}.${suffix}`;

    // probe: the statistics InstanceNormalization itself uses (biased variance over H, W).
    probeNodes.push(
      node('ReduceMean', [x], [stats.mean], at('mean'), [...axesAttr(), keepDims()]),
      node('Sub', [x, stats.mean], [at('centred')], at('centre')),
      node('Mul', [at('centred'), at('centred')], [at('squared')], at('square')),
      node('ReduceMean', [at('squared')], [stats.variance], at('variance'), [...axesAttr(), keepDims()]),
      original,
    );

    // tile: the same normalisation with the statistics as inputs. Scale and bias as [C,1,1]
    // so they broadcast over NCHW.
    const asColumn = (tensor: TensorProto, name: string): string => {
      tileInitializers.push(
        onnx.TensorProto.create({ name, dims: [channels, 1, 1], dataType: tensor.dataType, rawData: tensor.rawData, floatData: tensor.floatData }),
      );
      return name;
    };
    tileInitializers.push(onnx.TensorProto.create({ name: at('epsilon'), dims: [], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [epsilon] }));
    // One multiply-add over the feature map, its per-channel factors computed on [1,C,1,1]
    // tensors: a = scale / sqrt(variance + epsilon), b = bias - mean * a. (Written as
    // (x - mean) / deviation * scale + bias it costs four passes over every feature map.)
    tileNodes.push(
      node('Add', [stats.variance, at('epsilon')], [at('variance_eps')], at('add_epsilon')),
      node('Sqrt', [at('variance_eps')], [at('deviation')], at('sqrt')),
      node('Div', [asColumn(scale, at('scale')), at('deviation')], [at('factor')], at('factor')),
      node('Mul', [stats.mean, at('factor')], [at('mean_scaled')], at('mean_scaled')),
      node('Sub', [asColumn(bias, at('bias')), at('mean_scaled')], [at('offset')], at('offset')),
      node('Mul', [x, at('factor')], [at('scaled')], at('scale_map')),
      node('Add', [at('scaled'), at('offset')], [y], original.name || at('shift')),
    );
  }
  if (norms.length === 0) return undefined;
  // The 1-D scale and bias now live on as [C,1,1] copies; ONNX Runtime warns about unused ones.
  const used = new Set(tileNodes.flatMap((n) => n.input ?? []));
  graph.initializer = tileInitializers.filter((t) => used.has(String(t.name)));

  probe.graph.node = probeNodes;
  probe.graph.output.push(...norms.flatMap((s) => [statsValueInfo(s.mean, s.channels), statsValueInfo(s.variance, s.channels)]));
  graph.node = tileNodes;
  graph.input.push(...norms.flatMap((s) => [statsValueInfo(s.mean, s.channels), statsValueInfo(s.variance, s.channels)]));
  return { probe: onnx.ModelProto.encode(probe).finish(), tile: onnx.ModelProto.encode(tile).finish(), norms };
}

/**
 * A style version ready for tiled work: `run` paints a whole image with the exported model as
 * it is, and `forThumbnail` measures a thumbnail's statistics (probe graph, one session) and
 * returns a runner that paints tiles with them (tile graph, a pool like the model's). The two
 * derived graphs are opened on first use, so a style that only ever sees small photos costs
 * nothing extra. A model without instance norms has nothing to derive: its tiles run as is.
 */
export class ThumbnailNormModel implements StyleRunner {
  private probe: Promise<StyleModel> | undefined;
  private tiles: Promise<StyleModel> | undefined;
  private disposed = false;

  private constructor(
    private readonly whole: StyleModel,
    private readonly graphs: ThumbnailNormGraphs | undefined,
    private readonly options: StyleModelOptions,
    /** What the model computes in, as its version's catalogue says (for the reply's summary). */
    readonly precision: Precision,
  ) {}

  static async load(onnx: Uint8Array, options: StyleModelOptions = {}, precision: Precision = 'fp32'): Promise<ThumbnailNormModel> {
    const graphs = thumbnailNormGraphs(onnx);
    return new ThumbnailNormModel(await StyleModel.load(onnx, options), graphs, options, precision);
  }

  /** Paints a whole image, normalised by its own statistics (exactly the exported model). */
  run(image: RgbImage): Promise<RgbImage> {
    return this.whole.run(image);
  }

  /** Paints tiles normalised by the statistics of `thumbnail` (the whole photo, shrunk). */
  async forThumbnail(thumbnail: RgbImage): Promise<StyleRunner> {
    const graphs = this.graphs;
    if (!graphs) return this.whole;
    if (this.disposed) throw new Error('StyleModel used after dispose()');
    this.probe ??= StyleModel.load(graphs.probe, { ...this.options, sessions: 1 });
    this.tiles ??= StyleModel.load(graphs.tile, this.options);
    const [probe, tiles] = await Promise.all([this.probe, this.tiles]);
    const names = graphs.norms.flatMap((n) => [n.mean, n.variance]);
    const { extras } = await probe.runWith(thumbnail, {}, names);
    const feeds: Record<string, ExtraFeed> = {};
    for (const norm of graphs.norms) {
      for (const name of [norm.mean, norm.variance]) {
        const data = extras[name];
        if (!data) throw new Error(`the probe graph returned no ${name}`);
        feeds[name] = { data, dims: [1, norm.channels, 1, 1] };
      }
    }
    return { run: async (tile) => (await tiles.runWith(tile, feeds)).image };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const derived = await Promise.all([this.probe, this.tiles].map((p) => p?.catch(() => undefined)));
    await Promise.all([this.whole.dispose(), ...derived.map((m) => m?.dispose())]);
  }
}
