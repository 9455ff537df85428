import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STARTER_CONFIG } from '@nst/style-network';
import { trainStyle } from '../train/train.js';
import { initBackend, wasmThreadCount } from './backend.js';

let root: string;
let photos: string;
let style: Uint8Array;

async function png(width: number, height: number, seed: number): Promise<Uint8Array> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * (seed + 3) + Math.floor(i / 144) * 7) % 256;
  return new Uint8Array(await sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer());
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'nst-threads-'));
  photos = path.join(root, 'photos');
  await mkdir(photos);
  for (let i = 0; i < 3; i++) await writeFile(path.join(photos, `p${i}.png`), await png(48, 40, i));
  // Bytes, not a tensor: a tensor would pin the backend to its thread count.
  style = await png(40, 40, 7);
});

afterAll(async () => {
  await initBackend('wasm', { threads: 1 });
  await rm(root, { recursive: true, force: true });
});

async function train(threads: number): Promise<{ weights: Float32Array[]; loss: number; threads: number | undefined }> {
  const result = await trainStyle({
    style,
    photos,
    config: STARTER_CONFIG,
    steps: 3,
    batchSize: 2,
    imageSize: 32,
    learningRate: 5e-3,
    previewEvery: 0,
    backend: 'wasm',
    threads,
  });
  const weights = Object.values(result.net.variables).map((v) => v.dataSync().slice() as Float32Array);
  result.net.dispose();
  return { weights, loss: result.losses.total, threads: result.metadata.threads };
}

describe('WASM backend on several threads', () => {
  it('trains to the same weights on 2 threads as on 1, up to float error', async () => {
    const one = await train(1);
    expect(one.threads).toBe(1);
    const two = await train(2);
    expect(two.threads).toBe(2);
    expect(wasmThreadCount()).toBe(2);
    // The XNNPACK pool really has two threads (the package's own count, read from the module).
    expect(getThreadsCount()).toBe(2);
    expect(two.weights.length).toBe(one.weights.length);
    let worst = 0;
    for (let v = 0; v < one.weights.length; v++) {
      const a = one.weights[v]!;
      const b = two.weights[v]!;
      expect(b.length).toBe(a.length);
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(a[i]!)));
    }
    expect(worst).toBeLessThan(1e-4);
    expect(Math.abs(two.loss - one.loss) / Math.abs(one.loss)).toBeLessThan(1e-4);

    // Back on one thread, on a re-created backend: the replaced kernels' fallbacks were
    // re-bound to it (a stale binding would compute on the disposed module).
    const again = await train(1);
    expect(again.threads).toBe(1);
    expect(again.loss).toBe(one.loss);
    expect(again.weights).toEqual(one.weights);
  });

  it('refuses to change the thread count while tensors live on the backend', async () => {
    await initBackend('wasm', { threads: 1 });
    const pinned = tf.zeros([2]);
    try {
      await expect(initBackend('wasm', { threads: 2 })).rejects.toThrow(/tensors live on it/);
      expect(wasmThreadCount()).toBe(1);
    } finally {
      pinned.dispose();
    }
  });

  it('takes the count from NST_TRAIN_THREADS when none is given, and rejects a bad value', async () => {
    const saved = process.env['NST_TRAIN_THREADS'];
    try {
      process.env['NST_TRAIN_THREADS'] = '2';
      await initBackend('wasm');
      expect(wasmThreadCount()).toBe(2);
      process.env['NST_TRAIN_THREADS'] = 'two';
      await expect(initBackend('wasm')).rejects.toThrow(/NST_TRAIN_THREADS/);
    } finally {
      if (saved === undefined) delete process.env['NST_TRAIN_THREADS'];
      else process.env['NST_TRAIN_THREADS'] = saved;
      await initBackend('wasm', { threads: 1 });
    }
  });
});
