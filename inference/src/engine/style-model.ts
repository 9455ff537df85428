/**
 * StyleModel: one exported style network (ONNX) served by onnxruntime-node on the CPU.
 *
 * Images cross this API as interleaved RGB (HWC) float32 in 0..1, which is what sharp's raw
 * output gives after /255; the network itself is NCHW, so run() transposes on the way in and out
 * (a few milliseconds at 1024², small next to the convolutions). session.run executes on ORT's
 * own threads and resolves a promise, so the event loop stays free while a model runs.
 */
import * as ort from 'onnxruntime-node';
import type { RgbImage } from '../pipeline/tiling';

export interface StyleModelOptions {
  /** ORT intra-op threads (one convolution split across them). Default 2. */
  threads?: number;
}

/** The exporter's tensor names (trainer/src/export/onnx.ts); kept here so inference does not depend on the trainer. */
const INPUT_NAME = 'image';
const OUTPUT_NAME = 'stylized';

export const DEFAULT_THREADS = 2;

export class StyleModel {
  private disposed = false;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
    /** Threads this session was created with. */
    readonly threads: number,
  ) {}

  /** Loads an ONNX model from a file path or its bytes. */
  static async load(source: string | Uint8Array, opts: StyleModelOptions = {}): Promise<StyleModel> {
    const threads = opts.threads ?? DEFAULT_THREADS;
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
    const options: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      executionProviders: ['cpu'],
    };
    const session = typeof source === 'string' ? await ort.InferenceSession.create(source, options) : await ort.InferenceSession.create(source, options);
    const inputName = session.inputNames.includes(INPUT_NAME) ? INPUT_NAME : session.inputNames[0];
    const outputName = session.outputNames.includes(OUTPUT_NAME) ? OUTPUT_NAME : session.outputNames[0];
    if (inputName === undefined || outputName === undefined || session.inputNames.length !== 1) {
      await session.release();
      throw new Error(`not a style model: inputs [${session.inputNames.join(', ')}], outputs [${session.outputNames.join(', ')}]`);
    }
    return new StyleModel(session, inputName, outputName, threads);
  }

  /** Stylizes one image; the result has the same width and height. */
  async run(image: RgbImage): Promise<RgbImage> {
    if (this.disposed) throw new Error('StyleModel used after dispose()');
    const { width, height, data } = image;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`bad image size ${width}x${height}`);
    }
    if (data.length !== width * height * 3) throw new RangeError(`image data has ${data.length} values, expected ${width * height * 3} (RGB ${width}x${height})`);
    const input = new ort.Tensor('float32', hwcToChw(data, width, height), [1, 3, height, width]);
    const results = await this.session.run({ [this.inputName]: input });
    const output = results[this.outputName];
    if (!output) throw new Error(`model produced no '${this.outputName}'`);
    try {
      const dims = output.dims;
      if (dims.length !== 4 || dims[1] !== 3 || dims[2] !== height || dims[3] !== width) {
        throw new Error(`model returned [${dims.join(',')}] for a ${width}x${height} image`);
      }
      return { width, height, data: chwToHwc(output.data as Float32Array, width, height) };
    } finally {
      for (const tensor of Object.values(results)) tensor.dispose();
      input.dispose();
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

/** Interleaved RGB (HWC) -> planar (CHW). */
export function hwcToChw(data: Float32Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(plane * 3);
  for (let p = 0, i = 0; p < plane; p++, i += 3) {
    out[p] = data[i] ?? 0;
    out[plane + p] = data[i + 1] ?? 0;
    out[2 * plane + p] = data[i + 2] ?? 0;
  }
  return out;
}

/** Planar (CHW) -> interleaved RGB (HWC). */
export function chwToHwc(data: Float32Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(plane * 3);
  for (let p = 0, i = 0; p < plane; p++, i += 3) {
    out[i] = data[p] ?? 0;
    out[i + 1] = data[plane + p] ?? 0;
    out[i + 2] = data[2 * plane + p] ?? 0;
  }
  return out;
}

/** sharp raw RGB bytes (0..255) -> float RGB image (0..1). */
export function rgbFromBytes(pixels: Uint8Array, width: number, height: number): RgbImage {
  if (pixels.length !== width * height * 3) throw new RangeError(`expected ${width * height * 3} RGB bytes, got ${pixels.length}`);
  const data = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) data[i] = (pixels[i] ?? 0) / 255;
  return { data, width, height };
}

/** Float RGB image (0..1) -> raw RGB bytes for sharp, rounded and clamped. */
export function bytesFromRgb(image: RgbImage): Uint8Array {
  const out = new Uint8Array(image.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = Math.round((image.data[i] ?? 0) * 255);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}
