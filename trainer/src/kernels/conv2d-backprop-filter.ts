/**
 * Conv2DBackpropFilter for the TF.js WASM backend, which ships without one (training any
 * convolutional network on 'wasm' fails at the first weight gradient). Hand-written because
 * no library provides it for this backend.
 *
 * The filter gradient is a correlation of the layer input with the output gradient:
 *   dW[i, j, ci, co] = sum_{b, y, x} x[b, y*s + i - top, x*s + j - left, ci] * dy[b, y, x, co]
 * computed as im2col + ONE large matrix product per batch chunk: the product runs on the
 * backend's BatchMatMul (XNNPACK GEMM, about 25-30 GFLOP/s on one core here).
 *
 * Measured on this backend, and why the code looks the way it does:
 *  - BatchMatMul with transposeA/transposeB leaves XNNPACK for a loop ~12x slower, so the
 *    patch matrix is built already "channel-major", [taps*C, N], and multiplied as is.
 *  - Building patches from generic kernels is slow here (StridedSlice with stride 2 costs
 *    ~200 ns per element, Slice copies row by row from JavaScript), so the patch matrix is
 *    written by one JavaScript loop straight into the WASM heap from a channel-major copy
 *    of the source (one native Transpose), which makes every inner copy a run along a row.
 *  - Which side is unrolled: for stride 1 we unroll whichever of x / dy has fewer channels
 *    (the patch matrix is taps*C x N, so smaller C is less copying and a better GEMM shape).
 *    The decoder's last 9x9 conv (32 -> 3 channels) would need a 2592 x N matrix from x but
 *    only 243 x N from dy. Strided convolutions always unroll x.
 *  - Large problems are split along the batch so a patch matrix stays under
 *    im2colLimits.patchBudgetFloats; each chunk is still one large GEMM.
 */
import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { wasmOps, type WasmOps } from './wasm-ops.js';

/** Max floats in one patch matrix (64 MiB); bigger problems are chunked along the batch. */
export const im2colLimits = { patchBudgetFloats: 16 * 1024 * 1024 };

interface FilterGeometry {
  batch: number;
  inH: number;
  inW: number;
  inChannels: number;
  outChannels: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  outH: number;
  outW: number;
  top: number;
  left: number;
}

/**
 * Copies one patch row segment: dst[o + t] = src[rowBase + t*stride + first] for t in
 * [0, count), with zeros where the source column (first + t*stride) falls outside [0, width).
 */
function copyStridedRow(
  dst: Float32Array,
  o: number,
  src: Float32Array,
  rowBase: number,
  width: number,
  first: number,
  stride: number,
  count: number,
) {
  // Output positions whose source column lies inside [0, width).
  const lo = first >= 0 ? 0 : Math.ceil(-first / stride);
  const hi = Math.min(count, Math.max(lo, Math.floor((width - 1 - first) / stride) + 1));
  dst.fill(0, o, o + lo);
  if (stride === 1) {
    const s0 = rowBase + first;
    dst.set(src.subarray(s0 + lo, s0 + hi), o + lo);
  } else {
    let s = rowBase + first + lo * stride;
    for (let t = lo; t < hi; t++, s += stride) dst[o + t] = src[s]!;
  }
  dst.fill(0, o + hi, o + count);
}

/**
 * Unrolls x for images [b0, b0+nb): patches [kh*kw*Ci, nb*outH*outW], row (i, j, ci),
 * column (b, y, x), from xc = x transposed to [Ci, B, H, W].
 */
function unrollInput(ops: WasmOps, g: FilterGeometry, xc: TensorInfo, b0: number, nb: number): TensorInfo {
  const n = nb * g.outH * g.outW;
  const patches = ops.alloc([g.kh * g.kw * g.inChannels, n]);
  const dst = ops.view(patches);
  const src = ops.view(xc);
  let o = 0;
  for (let i = 0; i < g.kh; i++) {
    for (let j = 0; j < g.kw; j++) {
      const firstCol = j - g.left;
      for (let ci = 0; ci < g.inChannels; ci++) {
        for (let b = b0; b < b0 + nb; b++) {
          const planeBase = (ci * g.batch + b) * g.inH * g.inW;
          for (let y = 0; y < g.outH; y++, o += g.outW) {
            const iy = y * g.sh + i - g.top;
            if (iy < 0 || iy >= g.inH) {
              dst.fill(0, o, o + g.outW);
            } else {
              copyStridedRow(dst, o, src, planeBase + iy * g.inW, g.inW, firstCol, g.sw, g.outW);
            }
          }
        }
      }
    }
  }
  return patches;
}

/**
 * Unrolls dy for images [b0, b0+nb) (stride 1 only): patches [kh*kw*Co, nb*H*W], row
 * (i, j, co), column (b, qy, qx) over the INPUT grid, holding dy[b, qy + top - i, qx + left - j, co]
 * (zero outside dy), from dyc = dy transposed to [Co, B, outH, outW]. Then
 *   dW[i, j, ci, co] = sum_{b, q} patches[(i, j, co), (b, q)] * x[b, q, ci].
 */
function unrollOutputGradient(ops: WasmOps, g: FilterGeometry, dyc: TensorInfo, b0: number, nb: number): TensorInfo {
  const n = nb * g.inH * g.inW;
  const patches = ops.alloc([g.kh * g.kw * g.outChannels, n]);
  const dst = ops.view(patches);
  const src = ops.view(dyc);
  let o = 0;
  for (let i = 0; i < g.kh; i++) {
    for (let j = 0; j < g.kw; j++) {
      const firstCol = g.left - j;
      for (let co = 0; co < g.outChannels; co++) {
        for (let b = b0; b < b0 + nb; b++) {
          const planeBase = (co * g.batch + b) * g.outH * g.outW;
          for (let qy = 0; qy < g.inH; qy++, o += g.inW) {
            const y = qy + g.top - i;
            if (y < 0 || y >= g.outH) {
              dst.fill(0, o, o + g.inW);
            } else {
              copyStridedRow(dst, o, src, planeBase + y * g.outW, g.outW, firstCol, 1, g.inW);
            }
          }
        }
      }
    }
  }
  return patches;
}

/** Sums `chunk(b0, nb)` over batch chunks sized so one patch matrix stays within budget. */
function sumOverBatchChunks(
  ops: WasmOps,
  batch: number,
  floatsPerImage: number,
  chunk: (b0: number, nb: number) => TensorInfo,
): TensorInfo {
  const perChunk = Math.max(1, Math.min(batch, Math.floor(im2colLimits.patchBudgetFloats / Math.max(1, floatsPerImage))));
  let total: TensorInfo | undefined;
  for (let b0 = 0; b0 < batch; b0 += perChunk) {
    const part = chunk(b0, Math.min(perChunk, batch - b0));
    if (total === undefined) {
      total = part;
    } else {
      const sum = ops.add(total, part);
      ops.dispose(total, part);
      total = sum;
    }
  }
  if (total === undefined) throw new Error('Conv2DBackpropFilter: empty batch');
  return total;
}

/** Rows [b0, b0+nb) of an NHWC tensor as a [nb*H*W, C] matrix (a contiguous copy). */
function batchRowsAsMatrix(ops: WasmOps, t: TensorInfo, b0: number, nb: number): TensorInfo {
  const [batch = 0, h = 0, w = 0, c = 0] = t.shape;
  if (nb === batch) return ops.reshape(t, [nb * h * w, c]);
  const part = ops.slice(t, [b0, 0, 0, 0], [nb, h, w, c]);
  const matrix = ops.reshape(part, [nb * h * w, c]);
  ops.dispose(part);
  return matrix;
}

export function conv2dBackpropFilterWasm(
  backend: BackendWasm,
  inputs: Conv2DBackpropFilterInputs,
  attrs: Conv2DBackpropFilterAttrs,
): TensorInfo {
  const { x, dy } = inputs;
  if (!x || !dy) throw new Error('Conv2DBackpropFilter needs x and dy');
  if (attrs.dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter supports NHWC only, got ${attrs.dataFormat}`);
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('Conv2DBackpropFilter supports float32 only');
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const g: FilterGeometry = {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inChannels: info.inChannels,
    outChannels: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    outH: info.outHeight,
    outW: info.outWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
  const ops = wasmOps(backend);
  const taps = g.kh * g.kw;

  if (g.sh === 1 && g.sw === 1 && g.outChannels < g.inChannels) {
    const dyc = ops.transpose(dy, [3, 0, 1, 2]);
    const product = sumOverBatchChunks(ops, g.batch, taps * g.outChannels * g.inH * g.inW, (b0, nb) => {
      const patches = unrollOutputGradient(ops, g, dyc, b0, nb);
      const xRows = batchRowsAsMatrix(ops, x, b0, nb);
      const part = ops.matMul(patches, xRows);
      ops.dispose(patches, xRows);
      return part;
    });
    ops.dispose(dyc);
    const byOut = ops.reshape(product, [g.kh, g.kw, g.outChannels, g.inChannels]);
    ops.dispose(product);
    const dw = ops.transpose(byOut, [0, 1, 3, 2]);
    ops.dispose(byOut);
    return dw;
  }

  const xc = ops.transpose(x, [3, 0, 1, 2]);
  const product = sumOverBatchChunks(ops, g.batch, taps * g.inChannels * g.outH * g.outW, (b0, nb) => {
    const patches = unrollInput(ops, g, xc, b0, nb);
    const dyRows = batchRowsAsMatrix(ops, dy, b0, nb);
    const part = ops.matMul(patches, dyRows);
    ops.dispose(patches, dyRows);
    return part;
  });
  ops.dispose(xc);
  const dw = ops.reshape(product, [g.kh, g.kw, g.inChannels, g.outChannels]);
  ops.dispose(product);
  return dw;
}

export const conv2dBackpropFilterWasmConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) =>
    conv2dBackpropFilterWasm(
      backend as BackendWasm,
      inputs as Conv2DBackpropFilterInputs,
      attrs as unknown as Conv2DBackpropFilterAttrs,
    ),
};
