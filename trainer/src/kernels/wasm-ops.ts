/**
 * Composition helpers for kernels written on top of the WASM backend: they call the
 * backend's own registered kernels directly (no tape, no engine bookkeeping, no nested
 * tidy) and give typed views of tensors in the WASM heap for the few data movements that
 * are cheaper as a tight JavaScript loop than as a chain of generic kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type WasmOps = ReturnType<typeof wasmOps>;

export function wasmOps(backend: BackendWasm) {
  const run = (kernelName: string, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: NamedAttrMap): TensorInfo => {
    const kernel = tf.getKernel(kernelName, 'wasm');
    if (!kernel) throw new Error(`kernel ${kernelName} is not registered for wasm`);
    const out = kernel.kernelFunc({ inputs: inputs as Record<string, TensorInfo>, backend, attrs });
    if (Array.isArray(out)) throw new Error(`kernel ${kernelName} returned several outputs`);
    return out;
  };
  return {
    backend,
    /** Allocates an uninitialised float32 tensor in the WASM heap. */
    alloc: (shape: number[]) => backend.makeOutput(shape, 'float32'),
    /**
     * A Float32Array view of a tensor's heap memory. Take views only after the last
     * allocation of a phase: growing the heap detaches earlier views.
     */
    view: (info: TensorInfo) => backend.typedArrayFromHeap(info) as Float32Array,
    dispose: (...infos: TensorInfo[]) => {
      for (const info of infos) backend.disposeData(info.dataId);
    },
    reshape: (x: TensorInfo, shape: number[]) => run('Reshape', { x }, { shape }),
    transpose: (x: TensorInfo, perm: number[]) => run('Transpose', { x }, { perm }),
    pad: (x: TensorInfo, paddings: Array<[number, number]>) => run('PadV2', { x }, { paddings, constantValue: 0 }),
    slice: (x: TensorInfo, begin: number[], size: number[]) => run('Slice', { x }, { begin, size }),
    matMul: (a: TensorInfo, b: TensorInfo) => run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false }),
    add: (a: TensorInfo, b: TensorInfo) => run('Add', { a, b }, {}),
    /** Stride-1 NHWC convolution with explicit zero padding (XNNPACK pads implicitly, no copy). */
    conv2d: (x: TensorInfo, filter: TensorInfo, pad: { top: number; bottom: number; left: number; right: number }) =>
      run(
        'Conv2D',
        { x, filter },
        {
          strides: [1, 1],
          pad: [
            [0, 0],
            [pad.top, pad.bottom],
            [pad.left, pad.right],
            [0, 0],
          ],
          dataFormat: 'NHWC',
          dilations: [1, 1],
        } as unknown as NamedAttrMap,
      ),
    depthToSpace: (x: TensorInfo, blockSize: number) => run('DepthToSpace', { x }, { blockSize, dataFormat: 'NHWC' }),
  };
}
