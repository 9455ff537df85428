/**
 * Training checkpoints: the network weights (StyleNet.serialize), the Adam state, the step
 * and the data RNG position, so an interrupted run continues exactly where it stopped.
 * Each file is written to a temp name and renamed, and the manifest (checkpoint.json) is
 * renamed last, so a crash mid-write leaves the previous checkpoint intact.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LossValues } from '../loss/style-loss.js';

export interface CheckpointManifest {
  version: 1;
  step: number;
  rngState: number;
  losses?: LossValues;
  /** Hyperparameters of the run that wrote it (resume refuses a different network shape). */
  hyperparameters: Record<string, unknown>;
  weightsFile: string;
  optimizerFile: string;
  savedAt: string;
}

const MANIFEST = 'checkpoint.json';

/** What optimizer.getWeights() returns (tfjs-core does not export the type). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

async function writeAtomic(file: string, bytes: Uint8Array | string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, bytes);
  await rename(temp, file);
}

/** Named tensors -> one buffer: u32 header length, JSON header, then float32 data. */
export function packTensors(named: NamedTensor[]): Uint8Array {
  const header = named.map(({ name, tensor }) => ({ name, shape: tensor.shape, dtype: tensor.dtype }));
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const arrays = named.map(({ tensor }) => new Float32Array(tensor.dataSync()));
  const dataBytes = arrays.reduce((n, a) => n + a.byteLength, 0);
  // Pad the header so the float data is 4-byte aligned.
  const headerLength = Math.ceil(headerBytes.length / 4) * 4;
  const out = new Uint8Array(4 + headerLength + dataBytes);
  new DataView(out.buffer).setUint32(0, headerLength, true);
  out.set(headerBytes, 4);
  out.fill(0x20, 4 + headerBytes.length, 4 + headerLength); // JSON-safe padding (spaces)
  let offset = 4 + headerLength;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    offset += a.byteLength;
  }
  return out;
}

export function unpackTensors(bytes: Uint8Array): NamedTensor[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength))) as Array<{
    name: string;
    shape: number[];
    dtype: tf.DataType;
  }>;
  let offset = 4 + headerLength;
  return header.map(({ name, shape, dtype }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(bytes.slice(offset, offset + size * 4).buffer);
    offset += size * 4;
    return { name, tensor: tf.tensor(data, shape, dtype === 'int32' ? 'int32' : 'float32') };
  });
}

export async function saveCheckpoint(
  dir: string,
  state: Omit<CheckpointManifest, 'version' | 'weightsFile' | 'optimizerFile' | 'savedAt'>,
  weights: Uint8Array,
  optimizerWeights: NamedTensor[],
): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Step-numbered data files: the manifest never points at a file being overwritten.
  const weightsFile = `weights-${state.step}.bin`;
  const optimizerFile = `optimizer-${state.step}.bin`;
  await writeAtomic(path.join(dir, weightsFile), weights);
  await writeAtomic(path.join(dir, optimizerFile), packTensors(optimizerWeights));
  const previous = await readManifest(dir);
  const manifest: CheckpointManifest = { version: 1, ...state, weightsFile, optimizerFile, savedAt: new Date().toISOString() };
  await writeAtomic(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 2));
  if (previous && previous.weightsFile !== weightsFile) {
    await rm(path.join(dir, previous.weightsFile), { force: true });
    await rm(path.join(dir, previous.optimizerFile), { force: true });
  }
}

export async function readManifest(dir: string): Promise<CheckpointManifest | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8')) as CheckpointManifest;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function loadCheckpoint(
  dir: string,
): Promise<{ manifest: CheckpointManifest; weights: Uint8Array; optimizerWeights: NamedTensor[] } | undefined> {
  const manifest = await readManifest(dir);
  if (!manifest) return undefined;
  const weights = new Uint8Array(await readFile(path.join(dir, manifest.weightsFile)));
  const optimizerWeights = unpackTensors(new Uint8Array(await readFile(path.join(dir, manifest.optimizerFile))));
  return { manifest, weights, optimizerWeights };
}
