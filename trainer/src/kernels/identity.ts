/**
 * Identity and same-type Cast for the WASM backend as shared references instead of copies.
 * The backend's kernels memcpy the whole tensor, and autodiff emits many of them (gradient
 * pass-throughs, float32 -> float32 casts): measured ~0.3 s of a 5.7 s training step.
 * Sharing the data (reference-counted, as the backend's own Reshape does) is safe because
 * backend data is never written after a kernel produced it.
 */
import { Cast, Identity, type CastAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

function share(backend: BackendWasm, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function sharing(kernelName: string, original: KernelConfig | undefined, canShare: (x: TensorInfo, attrs: unknown) => boolean): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x?: TensorInfo };
    if (x && x.dtype !== 'string' && canShare(x, args.attrs)) return share(args.backend as BackendWasm, x);
    if (!original) throw new Error(`${kernelName}: unsupported case and no original kernel`);
    return original.kernelFunc(args);
  };
  return { kernelName, backendName: 'wasm', kernelFunc };
}

export const identityWasmConfig = (original: KernelConfig | undefined) => sharing(Identity, original, () => true);
export const castWasmConfig = (original: KernelConfig | undefined) =>
  sharing(Cast, original, (x, attrs) => (attrs as CastAttrs).dtype === x.dtype);
