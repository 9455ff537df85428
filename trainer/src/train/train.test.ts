import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../kernels/backend.js';
import { StyleLoss } from '../loss/style-loss.js';
import { STARTER_CONFIG, StyleNet } from '@nst/style-network';
import { readManifest } from './checkpoint.js';
import { seedOrigin, seedOrigins, trainStyle, type TrainOptions, type TrainProgress } from './train.js';

const SIZE = 32;
let root: string;
let photos: string;
let style: tf.Tensor3D;

async function writePhoto(file: string, seed: number) {
  const raw = Buffer.alloc(48 * 40 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * (seed + 3) + Math.floor(i / 144) * 7) % 256;
  await writeFile(file, await sharp(raw, { raw: { width: 48, height: 40, channels: 3 } }).png().toBuffer());
}

beforeAll(async () => {
  await initBackend('wasm');
  root = await mkdtemp(path.join(tmpdir(), 'nst-train-'));
  photos = path.join(root, 'photos');
  await mkdir(photos);
  for (let i = 0; i < 3; i++) await writePhoto(path.join(photos, `p${i}.png`), i);
  style = tf.tidy(() => {
    const noise = tf.randomUniform([40, 40, 1], 0, 1, 'float32', 3);
    return tf.concat([tf.mul(noise, 0.2), tf.mul(noise, 0.4), tf.add(tf.mul(noise, 0.3), 0.6)], 2) as tf.Tensor3D;
  });
});

afterAll(async () => {
  style.dispose();
  await rm(root, { recursive: true, force: true });
});

function options(extra: Partial<TrainOptions>): TrainOptions {
  return {
    style,
    photos,
    config: STARTER_CONFIG,
    steps: 4,
    batchSize: 2,
    imageSize: SIZE,
    learningRate: 5e-3,
    previewEvery: 0,
    ...extra,
  };
}

function weightsOf(net: StyleNet): Float32Array[] {
  return Object.values(net.variables).map((v) => v.dataSync() as Float32Array);
}

describe('trainStyle', () => {
  it('lowers the loss on a fixed batch within a few steps', async () => {
    const initial = StyleNet.create(STARTER_CONFIG, 1);
    const evalLoss = new StyleLoss({ styleImage: style, imageSize: SIZE });
    // Mid-range noise: no pure colours in the input for the colour term to charge.
    const batch = tf.randomUniform([2, SIZE, SIZE, 3], 0.2, 0.8, 'float32', 5) as tf.Tensor4D;
    const score = (net: StyleNet) => tf.tidy(() => evalLoss.values(net.apply(batch), batch).total);
    const before = score(initial);
    // 40 steps: for the first dozen the colour term's charge on the fresh network's pure
    // colours outweighs style and content, which then recover (MEASUREMENTS 16).
    const result = await trainStyle(options({ initial, steps: 40 }));
    const after = score(result.net);
    expect(after).toBeLessThan(before * 0.8);
    expect(result.metadata.finetuned).toBe(true);
    expect(result.metadata.stepsCompleted).toBe(40);
    expect(result.metadata.photoCount).toBe(3);
    expect(result.metadata.styleSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.metadata.photosSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Number.isFinite(result.losses.total)).toBe(true);
    result.net.dispose();
    initial.dispose();
    evalLoss.dispose();
    batch.dispose();
  });

  it('does not leak tensors from step to step, and reports progress with a preview', async () => {
    const counts: number[] = [];
    const reports: TrainProgress[] = [];
    const result = await trainStyle(
      options({
        steps: 5,
        previewEvery: 5,
        onProgress: (p) => {
          counts.push(tf.memory().numTensors);
          reports.push(p);
        },
      }),
    );
    expect(new Set(counts.slice(1, 4)).size).toBe(1);
    expect(reports.map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
    expect(reports.every((r) => r.totalSteps === 5 && r.imagesPerSec > 0 && r.etaSeconds >= 0)).toBe(true);
    expect(reports[4]!.etaSeconds).toBe(0);
    const preview = reports[4]!.preview;
    expect(preview && (await sharp(preview).metadata()).format).toBe('jpeg');
    expect(reports.slice(0, 4).every((r) => r.preview === undefined)).toBe(true);
    result.net.dispose();
  });

  it('resumes from a checkpoint at the right step and reproduces an uninterrupted run bit for bit', async () => {
    const straight = await trainStyle(options({ steps: 4 }));
    const dir = path.join(root, 'ckpt');
    const first = await trainStyle(options({ steps: 2, checkpointDir: dir, checkpointEvery: 1 }));
    expect((await readManifest(dir))?.step).toBe(2);
    first.net.dispose();
    const steps: number[] = [];
    const resumed = await trainStyle(options({ steps: 4, checkpointDir: dir, resume: true, onProgress: (p) => void steps.push(p.step) }));
    expect(resumed.metadata.resumedFromStep).toBe(2);
    expect(steps).toEqual([3, 4]);
    // Same batches, same Adam state (its bias-correction powers included): the same weights,
    // bit for bit.
    const distance = (p: Float32Array[], q: Float32Array[]) =>
      Math.max(...p.map((a, i) => Math.max(...a.map((v, j) => Math.abs(v - q[i]![j]!)))));
    expect(distance(weightsOf(straight.net), weightsOf(resumed.net))).toBe(0);
    straight.net.dispose();
    resumed.net.dispose();
  });

  it("fine-tunes an unseeded network into a cell-seeded one: the seed's weights leave zero, and every step reads another window of the seed", async () => {
    const plain = StyleNet.create(STARTER_CONFIG, 3);
    const initial = plain.withCellSeed(8);
    plain.dispose();
    const result = await trainStyle(options({ initial, steps: 3 }));
    expect(result.net.config.seedCell).toBe(8);
    const weights = result.net.variables['enc1.conv.weight']!.dataSync() as Float32Array;
    const [, , inputs = 0, outputs = 0] = result.net.variables['enc1.conv.weight']!.shape;
    const seedWeights = weights.filter((_, i) => Math.floor(i / outputs) % inputs >= 3);
    expect(Math.max(...seedWeights.map(Math.abs))).toBeGreaterThan(1e-3);
    const origins = new Set(Array.from({ length: 500 }, (_, step) => seedOrigin(step).join(',')));
    expect(origins.size).toBe(500);
    initial.dispose();
    result.net.dispose();
  });

  it('gives every image of a batch its own seed window when asked, the first where the whole batch would read, and records the choice', async () => {
    expect(seedOrigins(7, 4, 'batch')).toEqual(seedOrigin(7));
    const perImage = seedOrigins(7, 4, 'image') as [number, number][];
    expect(perImage[0]).toEqual(seedOrigin(7));
    expect(new Set(perImage.map((o) => o.join(','))).size).toBe(4);
    const initial = StyleNet.create({ ...STARTER_CONFIG, seedCell: 8 }, 3);
    const result = await trainStyle(options({ initial, steps: 1, seedWindows: 'image' }));
    expect(result.metadata.hyperparameters.seedWindows).toBe('image');
    initial.dispose();
    result.net.dispose();
  });

  it('refuses the cells and lead loss terms for a network that reads no cell seed, before any step', async () => {
    await expect(trainStyle(options({ lossWeights: { cells: 1 } }))).rejects.toThrow(/reads no seed: give it one \(--seed-cell\)/);
    await expect(trainStyle(options({ lossWeights: { lead: 1 } }))).rejects.toThrow(/reads no seed: give it one \(--seed-cell\)/);
  });

  it('stops promptly when aborted, saving where it stopped', async () => {
    const dir = path.join(root, 'abort');
    const controller = new AbortController();
    const seen: number[] = [];
    // Whatever creating and disposing a StyleNet leaves behind is the network's business;
    // trainStyle itself must add nothing to it.
    let before = tf.memory().numTensors;
    StyleNet.create(STARTER_CONFIG, 1).dispose();
    const networkResidue = tf.memory().numTensors - before;
    before = tf.memory().numTensors;
    await expect(
      trainStyle(
        options({
          steps: 50,
          checkpointDir: dir,
          checkpointEvery: 100,
          signal: controller.signal,
          onProgress: (p) => {
            seen.push(p.step);
            if (p.step === 2) controller.abort();
          },
        }),
      ),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([1, 2]);
    expect((await readManifest(dir))?.step).toBe(2);
    expect(tf.memory().numTensors - before).toBe(networkResidue);
  });
});
