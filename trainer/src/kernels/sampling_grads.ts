/**
 * Gradients of 2x2/stride-2 average pooling and of integer-factor nearest-neighbour
 * upsampling for the WASM backend: both are plain block copies/sums, which the backend runs
 * through generic kernels (measured ~0.17 s and ~0.11 s per training step). Written as
 * single passes over heap views; every other configuration goes to the original kernel.
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

/** For out = f * in (integer f, no corner alignment): dx[b, i, j, c] = sum of its f x f block of dy. */
export const resizeNearestNeighborGradWasmConfig = (original: KernelConfig | undefined) =>
  withFallback(ResizeNearestNeighborGrad, original, (args) => {
    const { images, dy } = args.inputs as { images?: TensorInfo; dy?: TensorInfo };
    const attrs = args.attrs as unknown as ResizeNearestNeighborGradAttrs;
    if (!images || !dy || dy.dtype !== 'float32' || attrs.alignCorners) return undefined as unknown as TensorInfo;
    const [batch = 0, h = 0, w = 0, c = 0] = images.shape;
    const [, oh = 0, ow = 0] = dy.shape;
    const fy = oh / h;
    const fx = ow / w;
    if (!Number.isInteger(fy) || !Number.isInteger(fx) || fy < 1 || fx < 1) return undefined as unknown as TensorInfo;
    const backend = args.backend as BackendWasm;
    const out = backend.makeOutput([batch, h, w, c], 'float32');
    const src = backend.typedArrayFromHeap(dy) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    dst.fill(0);
    for (let b = 0; b < batch; b++) {
      for (let y = 0; y < oh; y++) {
        const srcRow = ((b * oh + y) * ow) * c;
        const dstRow = ((b * h + Math.floor(y / fy)) * w) * c;
        for (let x = 0; x < ow; x++) {
          const s = srcRow + x * c;
          const d = dstRow + Math.floor(x / fx) * c;
          for (let k = 0; k < c; k++) dst[d + k]! += src[s + k]!;
        }
      }
    }
    return out;
  });
