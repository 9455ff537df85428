/** Messages between the job executor (main thread) and a training worker thread. */
import type { DerivedModelInfo } from '@nst/runtime';
import type { ResolvedHyperparameters } from './hyperparameters';

export interface WorkerJobSpec {
  /** file: URL of worker.ts, loaded by worker-bootstrap.mjs. */
  entry: string;
  jobId: string;
  styleImageFile: string;
  photosDir: string;
  checkpointDir: string;
  /** Continue from the checkpoint in checkpointDir when there is one. */
  resume: boolean;
  /** Serialized StyleNet to fine-tune; a new network is created when absent. */
  initialWeightsFile?: string;
  hyperparameters: ResolvedHyperparameters;
  checkpointEvery: number;
  previewEvery: number;
  /** WASM threads to train on (absent: the backend's default). */
  threads?: number;
}

export interface WorkerProgress {
  type: 'progress';
  step: number;
  totalSteps: number;
  losses: Record<string, number>;
  imagesPerSec: number;
  etaSeconds: number;
  preview?: Uint8Array;
}

export interface WorkerResult {
  type: 'result';
  onnx: Uint8Array;
  weights: Uint8Array;
  /** Version of the ONNX exporter that wrote `onnx`. */
  exporterVersion: string;
  losses: Record<string, number>;
  /** trainStyle's TrainMetadata (hyperparameters, data hashes, timings). */
  metadata: Record<string, unknown>;
  /** The INT8 model derived from `onnx` (export/int8.ts) and what it costs in quality. */
  int8?: { model: Uint8Array; info: DerivedModelInfo };
  /** Why there is no INT8 model (the version is registered with FP32 only). */
  int8Error?: string;
}

export interface WorkerFailure {
  type: 'failed';
  message: string;
  aborted: boolean;
}

export type WorkerMessage = WorkerProgress | WorkerResult | WorkerFailure;

export interface WorkerAbort {
  type: 'abort';
  reason: string;
}
