/**
 * A training worker thread: runs one job's trainStyle (TF.js keeps this thread busy between
 * steps, so training never blocks the server's event loop), exports the result to ONNX,
 * derives its INT8 model (calibrated on the job's photos, judged against the FP32 output) and
 * hands the models, the weights and the metadata back to the main thread, which registers them.
 */
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { EXPORTER_VERSION, exportOnnx, STARTER_CONFIG, StyleNet } from '@nst/style-network';
import type { DerivedModelInfo } from '@nst/runtime';
import { createJudge } from '../eval/judge';
import { deriveInt8 } from '../export/int8';
import { initBackend } from '../kernels/backend';
import { trainStyle } from '../train/train';
import type { WorkerAbort, WorkerJobSpec, WorkerMessage } from './worker-protocol';

const spec = workerData as WorkerJobSpec;
const port = parentPort!;
const controller = new AbortController();
port.on('message', (message: WorkerAbort) => {
  if (message.type === 'abort') controller.abort(message.reason);
});

/** A copy that owns its whole buffer, so it can be transferred rather than cloned. */
const own = (bytes: Uint8Array): Uint8Array =>
  bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();

const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

async function run(): Promise<void> {
  const h = spec.hyperparameters;
  // The backend must be up before weights become tensors (trainStyle would do it later).
  const threads = spec.threads ? { threads: spec.threads } : {};
  await initBackend(undefined, threads);
  const initial = spec.initialWeightsFile ? StyleNet.deserialize(new Uint8Array(await readFile(spec.initialWeightsFile))) : undefined;
  const result = await trainStyle({
    style: spec.styleImageFile,
    photos: spec.photosDir,
    // New styles get the starter network: the width and depth chosen for serving speed.
    ...(initial ? { initial } : { config: STARTER_CONFIG }),
    steps: h.steps,
    batchSize: h.batchSize,
    imageSize: h.imageSize,
    learningRate: h.learningRate,
    lossWeights: h.lossWeights,
    lossNetwork: h.lossNetwork,
    styleScale: h.styleScale,
    ...(h.statistic ? { statistic: h.statistic } : {}),
    ...(h.slicedLayers ? { slicedLayers: h.slicedLayers } : {}),
    ...(h.styleLayerWeights ? { styleLayerWeights: h.styleLayerWeights } : {}),
    ...(h.patchPools ? { patchPools: h.patchPools } : {}),
    ...(h.stylePooling ? { stylePooling: h.stylePooling } : {}),
    ...(h.deepLayers ? { deepLayers: h.deepLayers } : {}),
    ...(h.flatContent !== undefined ? { flatContent: h.flatContent } : {}),
    ...(h.lossMargin !== undefined ? { lossMargin: h.lossMargin } : {}),
    ...(h.seedWindows ? { seedWindows: h.seedWindows } : {}),
    seed: h.seed,
    ...threads,
    checkpointDir: spec.checkpointDir,
    checkpointEvery: spec.checkpointEvery,
    resume: spec.resume,
    previewEvery: spec.previewEvery,
    signal: controller.signal,
    onProgress: (progress) => {
      post({
        type: 'progress',
        step: progress.step,
        totalSteps: progress.totalSteps,
        losses: { ...progress.losses },
        imagesPerSec: progress.imagesPerSec,
        etaSeconds: progress.etaSeconds,
        ...(progress.preview ? { preview: progress.preview } : {}),
      });
    },
  });
  initial?.dispose();
  const onnx = own(exportOnnx(result.net));
  const weights = own(result.net.serialize());
  result.net.dispose();
  // A failed quantization costs speed, not the training: the version is registered in FP32.
  let int8: { model: Uint8Array; info: DerivedModelInfo } | undefined;
  let int8Error: string | undefined;
  if (!controller.signal.aborted) {
    const judge = createJudge();
    try {
      const derived = await deriveInt8(onnx, { photosDir: spec.photosDir, judge: judge.extract });
      int8 = { model: own(derived.model), info: derived.info };
    } catch (error) {
      int8Error = error instanceof Error ? error.message : String(error);
    } finally {
      judge.dispose();
    }
  }
  post(
    {
      type: 'result',
      onnx,
      weights,
      exporterVersion: EXPORTER_VERSION,
      losses: { ...result.losses },
      metadata: result.metadata as unknown as Record<string, unknown>,
      ...(int8 ? { int8 } : {}),
      ...(int8Error ? { int8Error } : {}),
    },
    [onnx.buffer as ArrayBuffer, weights.buffer as ArrayBuffer, ...(int8 ? [int8.model.buffer as ArrayBuffer] : [])],
  );
}

run().catch((error: unknown) => {
  post({ type: 'failed', message: error instanceof Error ? error.message : String(error), aborted: controller.signal.aborted });
});
