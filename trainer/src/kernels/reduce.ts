/**
 * Sum and Mean over leading/middle axes of a channels-last tensor for the WASM backend.
 * The backend's kernels only reduce innermost axes natively, so reducing NHWC over batch
 * and space (every bias, gain and instance-norm gradient does) first transposes the whole
 * tensor: measured ~16 ms per [4, 256, 256, 16] tensor and about 0.5 s of a 6.4 s training
 * step. Here a contiguous run of axes that leaves the last axis alone is reduced in one
 * pass over the heap view, accumulating in float64. Anything else goes to the original.
 */
import {
  Mean,
  Sum,
  util,
  type KernelConfig,
  type KernelFunc,
  type MeanAttrs,
  type SumAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** [outer, reduced, inner] sizes when `axes` is one contiguous run not touching the last axis. */
function contiguousMiddle(shape: number[], axis: number | number[] | null): [number, number, number, number[]] | undefined {
  const rank = shape.length;
  // parseAxisParam: null/undefined means every axis, negatives count from the end.
  const axes = [...new Set(util.parseAxisParam(axis as number | number[], shape))].sort((a, b) => a - b);
  if (axes.length === 0 || rank < 2) return undefined;
  const first = axes[0]!;
  const last = axes[axes.length - 1]!;
  if (last - first + 1 !== axes.length || last >= rank - 1) return undefined;
  const outer = util.sizeFromShape(shape.slice(0, first));
  const reduced = util.sizeFromShape(shape.slice(first, last + 1));
  const inner = util.sizeFromShape(shape.slice(last + 1));
  return [outer, reduced, inner, axes];
}

function reduceMiddle(backend: BackendWasm, x: TensorInfo, axis: number | number[] | null, keepDims: boolean, mean: boolean): TensorInfo | undefined {
  if (x.dtype !== 'float32') return undefined;
  const plan = contiguousMiddle(x.shape, axis);
  if (!plan) return undefined;
  const [outer, reduced, inner, axes] = plan;
  const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  const out = backend.makeOutput(outShape, 'float32');
  const src = backend.typedArrayFromHeap(x) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const acc = new Float64Array(inner);
  const scale = mean ? 1 / reduced : 1;
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    let s = o * reduced * inner;
    let r = 0;
    // Four rows per pass: measured ~3x faster in V8 than one (fewer accumulator round trips).
    for (; r + 4 <= reduced; r += 4, s += 4 * inner) {
      for (let i = 0; i < inner; i++) {
        acc[i]! += src[s + i]! + src[s + inner + i]! + src[s + 2 * inner + i]! + src[s + 3 * inner + i]!;
      }
    }
    for (; r < reduced; r++, s += inner) {
      for (let i = 0; i < inner; i++) acc[i]! += src[s + i]!;
    }
    for (let i = 0; i < inner; i++) dst[o * inner + i] = acc[i]! * scale;
  }
  return out;
}

function reduceConfig(kernelName: typeof Sum | typeof Mean, original: KernelConfig | undefined): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x?: TensorInfo };
    const attrs = args.attrs as unknown as SumAttrs | MeanAttrs;
    const fast = x ? reduceMiddle(args.backend as BackendWasm, x, attrs.axis, attrs.keepDims, kernelName === Mean) : undefined;
    if (fast) return fast;
    if (!original) throw new Error(`${kernelName}: unsupported case and no original kernel`);
    return original.kernelFunc(args);
  };
  return { kernelName, backendName: 'wasm', kernelFunc };
}

export const sumWasmConfig = (original: KernelConfig | undefined) => reduceConfig(Sum, original);
export const meanWasmConfig = (original: KernelConfig | undefined) => reduceConfig(Mean, original);
