/**
 * Gradients of 2x2/stride-2 average pooling and of nearest-neighbour resizing: plain block
 * copies/sums, which the WASM backend runs through generic kernels (measured ~0.17 s and
 * ~0.11 s per training step). Written as single passes over the data; average pooling in
 * other configurations goes to the original kernel.
 */
import {
  AvgPoolGrad,
  ResizeNearestNeighborGrad,
  type AvgPoolGradAttrs,
  type KernelConfig,
  type KernelFunc,
  type ResizeNearestNeighborGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

function withFallback(kernelName: string, original: KernelConfig | undefined, fast: KernelFunc): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const out = fast(args) as TensorInfo | undefined;
    if (out) return out;
    if (!original) throw new Error(`${kernelName}: unsupported case and no original kernel`);
    return original.kernelFunc(args);
  };
  return { kernelName, backendName: 'wasm', kernelFunc };
}

/** dx[b, y, x, c] = dy[b, y/2, x/2, c] / 4 inside the pooled area, 0 in a dropped odd edge. */
export const avgPoolGradWasmConfig = (original: KernelConfig | undefined) =>
  withFallback(AvgPoolGrad, original, (args) => {
    const { dy, input } = args.inputs as { dy?: TensorInfo; input?: TensorInfo };
    const attrs = args.attrs as unknown as AvgPoolGradAttrs;
    const [fh, fw] = pair(attrs.filterSize);
    const [sh, sw] = pair(attrs.strides);
    if (!dy || !input || dy.dtype !== 'float32' || fh !== 2 || fw !== 2 || sh !== 2 || sw !== 2 || attrs.pad !== 'valid') {
      return undefined as unknown as TensorInfo;
    }
    const backend = args.backend as BackendWasm;
    const [batch = 0, h = 0, w = 0, c = 0] = input.shape;
    const [, oh = 0, ow = 0] = dy.shape;
    const out = backend.makeOutput([batch, h, w, c], 'float32');
    const src = backend.typedArrayFromHeap(dy) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    dst.fill(0);
    for (let b = 0; b < batch; b++) {
      for (let y = 0; y < 2 * oh; y++) {
        const srcRow = ((b * oh + (y >> 1)) * ow) * c;
        const dstRow = ((b * h + y) * w) * c;
        for (let x = 0; x < 2 * ow; x++) {
          const s = srcRow + (x >> 1) * c;
          const d = dstRow + x * c;
          for (let k = 0; k < c; k++) dst[d + k] = src[s + k]! * 0.25;
        }
      }
    }
    return out;
  });

/**
 * Source index of output position `o` along one axis: the forward kernel's own formula
 * (tfjs ResizeNearestNeighbor), so the gradient is its exact adjoint.
 */
function nearestSources(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  const ratio = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const sources = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const frac = halfPixelCenters ? ratio * (o + 0.5) : ratio * o;
    let s = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    if (halfPixelCenters) s = Math.max(0, s);
    sources[o] = s;
  }
  return sources;
}

/** dx[b, src(y), src(x), c] += dy[b, y, x, c] over every output pixel: one pass over dy. */
function nearestNeighborGrad(
  dst: Float32Array,
  src: Float32Array | Int32Array | Uint8Array,
  imagesShape: number[],
  dyShape: number[],
  attrs: ResizeNearestNeighborGradAttrs,
) {
  const [batch = 0, h = 0, w = 0, c = 0] = imagesShape;
  const [, oh = 0, ow = 0] = dyShape;
  const rows = nearestSources(h, oh, attrs.alignCorners, attrs.halfPixelCenters);
  const cols = nearestSources(w, ow, attrs.alignCorners, attrs.halfPixelCenters);
  dst.fill(0);
  let s = 0;
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < oh; y++) {
      const dstRow = (b * h + rows[y]!) * w * c;
      for (let x = 0; x < ow; x++, s += c) {
        const d = dstRow + cols[x]! * c;
        for (let k = 0; k < c; k++) dst[d + k]! += src[s + k]!;
      }
    }
  }
}

/**
 * ResizeNearestNeighborGrad as the exact adjoint of the forward resize, for WASM and CPU.
 * Besides speed (WASM), this fixes a bug in tfjs 4.22's kernels: they offset dy by the
 * INPUT image's batch stride, so for batch > 1 every image after the first gets gradients
 * read from the wrong place (found when the CPU and WASM gradients of a StyleNet disagreed
 * at batch 2 and agreed at batch 1; the test pins it against a direct computation).
 */
export const resizeNearestNeighborGradWasmConfig = (original: KernelConfig | undefined) =>
  withFallback(ResizeNearestNeighborGrad, original, (args) => {
    const { images, dy } = args.inputs as { images?: TensorInfo; dy?: TensorInfo };
    if (!images || !dy || dy.dtype !== 'float32') return undefined as unknown as TensorInfo;
    const backend = args.backend as BackendWasm;
    const out = backend.makeOutput(images.shape, 'float32');
    const src = backend.typedArrayFromHeap(dy) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    nearestNeighborGrad(dst, src, images.shape, dy.shape, args.attrs as unknown as ResizeNearestNeighborGradAttrs);
    return out;
  });

interface CpuBackendLike {
  data: { get(dataId: object): { values: Float32Array | Int32Array | Uint8Array } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

export const resizeNearestNeighborGradCpuConfig = (original: KernelConfig | undefined): KernelConfig => ({
  kernelName: ResizeNearestNeighborGrad,
  backendName: 'cpu',
  kernelFunc: (args) => {
    const { images, dy } = args.inputs as { images?: TensorInfo; dy?: TensorInfo };
    if (!images || !dy || dy.dtype !== 'float32') {
      if (!original) throw new Error('ResizeNearestNeighborGrad: unsupported case and no original kernel');
      return original.kernelFunc(args);
    }
    const backend = args.backend as unknown as CpuBackendLike;
    const dst = new Float32Array(images.shape.reduce((a, b) => a * b, 1));
    nearestNeighborGrad(dst, backend.data.get(dy.dataId).values, images.shape, dy.shape, args.attrs as unknown as ResizeNearestNeighborGradAttrs);
    return backend.makeTensorInfo(images.shape, 'float32', dst);
  },
});
