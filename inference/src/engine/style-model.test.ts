import { exportOnnx, initNetworkBackend, STARTER_CONFIG, StyleNet } from '@nst/style-network';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesFromRgb, chwToHwc, hwcToChw, rgbFromBytes, StyleModel } from './style-model';

let model: StyleModel;

beforeAll(async () => {
  await initNetworkBackend();
  const net = StyleNet.create({ channels: [4, 6, 8], residualBlocks: 1, outerKernel: 3 }, 9);
  model = await StyleModel.load(exportOnnx(net), { threads: 1 });
  net.dispose();
});

afterAll(async () => {
  await model.dispose();
});

describe('StyleModel', () => {
  it('returns an image of the same odd size with values in 0..1', async () => {
    const image = rgbFromBytes(Uint8Array.from({ length: 13 * 9 * 3 }, (_, i) => (i * 29) % 256), 13, 9);
    const out = await model.run(image);
    expect([out.width, out.height, out.data.length]).toEqual([13, 9, 13 * 9 * 3]);
    expect(Math.min(...out.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...out.data)).toBeLessThanOrEqual(1);
  });

  it('runs concurrent requests on one session', async () => {
    const image = rgbFromBytes(new Uint8Array(16 * 16 * 3).fill(128), 16, 16);
    const outs = await Promise.all([model.run(image), model.run(image), model.run(image)]);
    expect(outs[1]?.data).toEqual(outs[0]?.data);
    expect(outs[2]?.data).toEqual(outs[0]?.data);
  });

  it('opens more sessions while all are busy, up to the limit, and gives every run the same answer', async () => {
    const net = StyleNet.create({ channels: [4, 6, 8], residualBlocks: 1, outerKernel: 3 }, 5);
    const pooled = await StyleModel.load(exportOnnx(net), { threads: 1, sessions: 2 });
    net.dispose();
    expect(pooled.openSessions).toBe(1);
    const image = rgbFromBytes(Uint8Array.from({ length: 64 * 48 * 3 }, (_, i) => (i * 7) % 256), 64, 48);
    const first = await pooled.run(image);
    // Runs one at a time never need a second session.
    expect(pooled.openSessions).toBe(1);
    // The second session opens in the background once runs overlap (~100 ms to open).
    for (let round = 0; round < 40 && pooled.openSessions < 2; round++) {
      await Promise.all(Array.from({ length: 4 }, () => pooled.run(image)));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(pooled.openSessions).toBe(2);
    const outs = await Promise.all(Array.from({ length: 6 }, () => pooled.run(image)));
    expect(pooled.openSessions).toBe(2);
    for (const out of outs) expect(out.data).toEqual(first.data);
    await pooled.dispose();
    await expect(pooled.run(image)).rejects.toThrow(/dispose/);
    await expect(StyleModel.load(new Uint8Array(), { sessions: 0 })).rejects.toThrow(/sessions/);
  });

  it('keeps the event loop free while a model runs', async () => {
    const net = StyleNet.create(STARTER_CONFIG, 2);
    const starter = await StyleModel.load(exportOnnx(net));
    net.dispose();
    const size = 320;
    const image = rgbFromBytes(new Uint8Array(size * size * 3).fill(90), size, size);
    let last = performance.now();
    let longestGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 2);
    const started = performance.now();
    await starter.run(image);
    const runMs = performance.now() - started;
    clearInterval(timer);
    await starter.dispose();
    // On the main thread the loop would stall for the whole run.
    expect(runMs).toBeGreaterThan(40);
    expect(longestGap).toBeLessThan(runMs / 2);
  });

  it('finishes runs already queued when disposed, then refuses new ones', async () => {
    const net = StyleNet.create({ channels: [4, 6, 8], residualBlocks: 1, outerKernel: 3 }, 4);
    const doomed = await StyleModel.load(exportOnnx(net), { threads: 1 });
    net.dispose();
    const image = rgbFromBytes(new Uint8Array(24 * 24 * 3).fill(200), 24, 24);
    const queued = [doomed.run(image), doomed.run(image)];
    await doomed.dispose();
    const done = await Promise.all(queued);
    expect(done.map((o) => o.data.length)).toEqual([24 * 24 * 3, 24 * 24 * 3]);
    await expect(doomed.run(image)).rejects.toThrow(/dispose/);
  });

  it('rejects data that does not match the stated size, and use after dispose', async () => {
    await expect(model.run({ data: new Float32Array(10), width: 4, height: 4 })).rejects.toThrow(/expected 48/);
    const net = StyleNet.create({ channels: [2, 2, 2], residualBlocks: 0, outerKernel: 1 }, 1);
    const other = await StyleModel.load(exportOnnx(net), {});
    net.dispose();
    expect(other.threads).toBe(2);
    await other.dispose();
    await expect(other.run({ data: new Float32Array(48), width: 4, height: 4 })).rejects.toThrow(/dispose/);
  });

  it('rejects bytes that are not an ONNX model, and bad thread counts', async () => {
    await expect(StyleModel.load(new Uint8Array([1, 2, 3]))).rejects.toThrow();
    await expect(StyleModel.load(new Uint8Array(), { threads: 0 })).rejects.toThrow(/threads/);
  });
});

describe('pixel layout helpers', () => {
  it('HWC <-> CHW are inverse and place channels in planes', () => {
    const hwc = Float32Array.from({ length: 2 * 3 * 3 }, (_, i) => i);
    const chw = hwcToChw(hwc, 3, 2);
    expect(Array.from(chw.subarray(0, 6))).toEqual([0, 3, 6, 9, 12, 15]);
    expect(chwToHwc(chw, 3, 2)).toEqual(hwc);
  });

  it('bytes -> floats -> bytes is lossless and clamps out-of-range floats', () => {
    const bytes = Uint8Array.from({ length: 256 * 3 }, (_, i) => i % 256);
    expect(bytesFromRgb(rgbFromBytes(bytes, 16, 16))).toEqual(bytes);
    expect(Array.from(bytesFromRgb({ data: Float32Array.of(-0.2, 0.5, 1.7), width: 1, height: 1 }))).toEqual([0, 128, 255]);
  });
});
