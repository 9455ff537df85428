/**
 * StyleModel: one exported style network (ONNX) served by onnxruntime-node on the CPU.
 *
 * Images cross this API as interleaved RGB (HWC) float32 in 0..1, which is what sharp's raw
 * output gives after /255; the network itself is NCHW, so the worker transposes on the way in
 * and out (a few milliseconds at 1024², small next to the convolutions).
 *
 * Each ORT session lives in its own worker thread (session-worker.mjs), because
 * onnxruntime-node runs inference on the calling thread: its async run() only defers the call
 * with setImmediate, so on the main thread a 1024² image would freeze the event loop (gRPC
 * streams, health checks, other requests) for seconds. A session runs one image at a time
 * with `threads` intra-op threads; a model keeps a pool of up to `sessions` of them, opened on
 * demand when every open one is busy, so concurrent runs of the same style use separate cores
 * (ORT's intra-op threading scales poorly: 2 threads run a 1 MP image only ~1.4x faster than 1).
 */
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { RgbImage } from '../pipeline/tiling';
// The exporter's tensor names: the contract module alone, which loads no TF.js.
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, ONNX_SEED_INPUT_NAME, seedCellOf } from '@nst/style-network/contract';

export interface StyleModelOptions {
  /** ORT intra-op threads per session (one convolution split across them). Default 2. */
  threads?: number;
  /** Most sessions (worker threads) this model opens to run images in parallel. Default 1. */
  sessions?: number;
  /** Keep ORT's per-session memory arena (faster reuse, but it never shrinks). Default false. */
  memoryArena?: boolean;
}


export const DEFAULT_THREADS = 2;

type WorkerReply =
  | { type: 'loaded'; inputNames: string[]; outputNames: string[] }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; data: Float32Array; dims: number[]; extras?: Record<string, Float32Array> }
  | { type: 'error'; id: number; message: string };

/** A tensor fed to the model beside the image (float32). */
export interface ExtraFeed {
  data: Float32Array;
  dims: number[];
}

/** A run's image and the extra outputs it asked for. */
export interface RunResult {
  image: RgbImage;
  extras: Record<string, Float32Array>;
}

interface PendingRun {
  width: number;
  height: number;
  resolve: (result: RunResult) => void;
  reject: (error: Error) => void;
}

/** The cell seed a run's worker computes and feeds: the graph input's name, spacing and the pixels' origin. */
interface SeedRequest {
  name: string;
  cell: number;
  top: number;
  left: number;
}

interface SessionSettings {
  source: string | Uint8Array;
  threads: number;
  memoryArena: boolean;
}

/** One ORT session in one worker thread; runs queue in the worker and execute one at a time. */
class Session {
  private nextId = 1;
  private readonly pending = new Map<number, PendingRun>();
  private readonly exited: Promise<void>;
  private releasing = false;

  private constructor(
    private readonly worker: Worker,
    readonly inputName: string,
    readonly outputName: string,
  ) {
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (error) => this.failAll(error));
    this.exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        this.failAll(new Error(this.releasing ? 'StyleModel disposed while running' : `style model worker exited (code ${code})`));
        resolve();
      });
    });
    // Idle sessions must not keep the process alive; a run in flight does.
    worker.unref();
  }

  static async open({ source, threads, memoryArena }: SessionSettings): Promise<Session> {
    const worker = new Worker(new URL('./session-worker.mjs', import.meta.url));
    const loaded = await new Promise<{ inputNames: string[]; outputNames: string[] }>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`style model worker exited (code ${code}) while loading`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (reply: WorkerReply) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (reply.type === 'loaded') resolve(reply);
        else reject(new Error(`cannot load style model: ${reply.type === 'failed' ? reply.message : reply.type}`));
      });
      worker.postMessage({ type: 'load', model: source, threads, memoryArena });
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    // Other inputs (the cell seed, thumbnail-norm statistics) are fed by name with each run.
    const inputName = loaded.inputNames.includes(ONNX_INPUT_NAME) ? ONNX_INPUT_NAME : loaded.inputNames.length === 1 ? loaded.inputNames[0] : undefined;
    const outputName = loaded.outputNames.includes(ONNX_OUTPUT_NAME) ? ONNX_OUTPUT_NAME : loaded.outputNames[0];
    if (inputName === undefined || outputName === undefined) {
      await worker.terminate();
      throw new Error(`not a style model: inputs [${loaded.inputNames.join(', ')}], outputs [${loaded.outputNames.join(', ')}]`);
    }
    return new Session(worker, inputName, outputName);
  }

  /** Runs waiting in or running on this session. */
  get load(): number {
    return this.pending.size;
  }

  run(image: RgbImage, feeds: Record<string, ExtraFeed> = {}, extras: string[] = [], seed?: SeedRequest): Promise<RunResult> {
    const { width, height, data } = image;
    const id = this.nextId++;
    return new Promise<RunResult>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { width, height, resolve, reject });
      // Structured clone copies the pixels: the caller keeps its buffer.
      this.worker.postMessage({ type: 'run', id, data, width, height, input: this.inputName, output: this.outputName, feeds, extras, seed });
    });
  }

  private settle(reply: WorkerReply): void {
    if (reply.type !== 'result' && reply.type !== 'error') return;
    const run = this.pending.get(reply.id);
    if (!run) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.type === 'error') run.reject(new Error(`style model run failed: ${reply.message}`));
    else if (reply.data.length !== run.width * run.height * 3) {
      run.reject(new Error(`model returned [${reply.dims.join(',')}] for a ${run.width}x${run.height} image`));
    } else run.resolve({ image: { width: run.width, height: run.height, data: reply.data }, extras: reply.extras ?? {} });
  }

  private failAll(error: Error): void {
    for (const run of this.pending.values()) run.reject(error);
    this.pending.clear();
  }

  /** Releases the session and ends its thread, after the runs already queued finish. */
  async release(): Promise<void> {
    if (this.releasing) return this.exited;
    this.releasing = true;
    // Keep the process alive until the thread has released the session and exited.
    this.worker.ref();
    this.worker.postMessage({ type: 'release' });
    await this.exited;
  }
}

export class StyleModel {
  private disposed = false;
  /** Sessions opening beyond the first; runs keep going to the open ones meanwhile. */
  private opening: Promise<void> | undefined;

  private constructor(
    private readonly sessions: Session[],
    private readonly settings: SessionSettings,
    /** Threads each session was created with. */
    readonly threads: number,
    /** Most sessions this model opens. */
    readonly maxSessions: number,
    /** The cell seed's grid spacing when the graph takes one (ONNX_SEED_INPUT_NAME). */
    readonly seedCell: number | undefined,
  ) {}

  /** Loads an ONNX model from a file path or its bytes (one session; more open on demand). */
  static async load(source: string | Uint8Array, opts: StyleModelOptions = {}): Promise<StyleModel> {
    const threads = opts.threads ?? DEFAULT_THREADS;
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
    const sessions = opts.sessions ?? 1;
    if (!Number.isInteger(sessions) || sessions < 1) throw new RangeError(`sessions must be a positive integer, got ${sessions}`);
    const settings = { source, threads, memoryArena: opts.memoryArena ?? false };
    const first = await Session.open(settings);
    let seedCell: number | undefined;
    try {
      seedCell = seedCellOf(typeof source === 'string' ? await readFile(source) : source);
    } catch (error) {
      await first.release();
      throw error;
    }
    return new StyleModel([first], settings, threads, sessions, seedCell);
  }

  /** Sessions open now (1 up to maxSessions). */
  get openSessions(): number {
    return this.sessions.length;
  }

  /** Stylizes one image; the result has the same width and height. The input is not modified. */
  async run(image: RgbImage): Promise<RgbImage> {
    return (await this.runWith(image)).image;
  }

  /**
   * Stylizes one image with extra named inputs, returning the named extra outputs too (the
   * thumbnail-norm graphs: statistics in or out).
   */
  runWith(image: RgbImage, feeds: Record<string, ExtraFeed> = {}, extras: string[] = []): Promise<RunResult> {
    if (this.disposed) return Promise.reject(new Error('StyleModel used after dispose()'));
    const { width, height, data } = image;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      return Promise.reject(new RangeError(`bad image size ${width}x${height}`));
    }
    if (data.length !== width * height * 3) {
      return Promise.reject(new RangeError(`image data has ${data.length} values, expected ${width * height * 3} (RGB ${width}x${height})`));
    }
    // The seed of exactly these pixels of the whole picture, computed by the session's worker
    // (the Voronoi lookup has no ONNX op, so it cannot live in the graph; the tile's origin is known here).
    const { top = 0, left = 0 } = image.origin ?? {};
    const seed = this.seedCell !== undefined ? { name: ONNX_SEED_INPUT_NAME, cell: this.seedCell, top, left } : undefined;
    let least = this.sessions[0] as Session;
    for (const session of this.sessions) if (session.load < least.load) least = session;
    if (least.load > 0) this.openAnother();
    return least.run(image, feeds, extras, seed);
  }

  /**
   * Opens one more session in the background when all are busy. The run that noticed still
   * queues on the least busy open session (opening takes ~100 ms, a tile longer); the next
   * runs find the new one idle.
   */
  private openAnother(): void {
    if (this.opening || this.sessions.length >= this.maxSessions) return;
    this.opening = Session.open(this.settings).then(
      async (session) => {
        if (this.disposed) await session.release();
        else this.sessions.push(session);
      },
      // The first session loaded the same bytes, so this is a resource failure (threads,
      // memory): keep serving on the sessions already open.
      () => undefined,
    ).finally(() => {
      this.opening = undefined;
    });
  }

  /** Releases every session and ends their threads, after the runs already queued finish. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.opening;
    await Promise.all(this.sessions.map((session) => session.release()));
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
