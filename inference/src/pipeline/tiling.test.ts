import { describe, expect, it } from 'vitest';
import { axisWeights, countTiles, planAxis, stylizeTiled, type RgbImage, type StyleRunner } from './tiling';

const identity: StyleRunner = { run: async (image) => ({ ...image, data: Float32Array.from(image.data) }) };

function randomPixels(width: number, height: number, seed = 1): Uint8Array {
  const pixels = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < pixels.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    pixels[i] = s >>> 24;
  }
  return pixels;
}

describe('planAxis', () => {
  it('covers the axis edge to edge with at least the requested overlap', () => {
    for (const [extent, tile, overlap] of [
      [1600, 512, 64],
      [1200, 512, 64],
      [4000, 768, 96],
      [513, 512, 32],
      [3000, 256, 100],
    ] as const) {
      const spans = planAxis(extent, tile, overlap);
      expect(spans[0]?.start).toBe(0);
      const last = spans.at(-1)!;
      expect(last.start + last.length).toBe(extent);
      for (let i = 1; i < spans.length; i++) {
        const previous = spans[i - 1]!;
        expect(previous.start + previous.length - spans[i]!.start).toBeGreaterThanOrEqual(overlap);
      }
    }
  });

  it('uses the fewest tiles, each no longer than needed', () => {
    expect(planAxis(1155, 512, 32)).toEqual([
      { start: 0, length: 408 },
      { start: 374, length: 408 },
      { start: 747, length: 408 },
    ]);
    expect(planAxis(1024, 512, 32).map((s) => s.length)).toEqual([364, 364, 364]);
    expect(planAxis(992, 512, 32).map((s) => s.length)).toEqual([512, 512]);
  });

  it('uses one tile, the whole axis, when the image is no larger than a tile', () => {
    expect(planAxis(300, 512, 64)).toEqual([{ start: 0, length: 300 }]);
  });

  it('gives weights that cross-fade to a total of 1 across a two-tile overlap', () => {
    const spans = planAxis(900, 512, 64);
    expect(spans).toHaveLength(2);
    const [a, b] = [axisWeights(spans, 0), axisWeights(spans, 1)];
    for (let x = 0; x < 900; x++) {
      const wa = x < spans[0]!.length ? a[x]! : 0;
      const wb = x >= spans[1]!.start ? b[x - spans[1]!.start]! : 0;
      expect(wa + wb).toBeCloseTo(1, 5);
    }
  });
});

describe('stylizeTiled', () => {
  it('reproduces the input exactly through an identity model (blending loses nothing)', async () => {
    const [width, height] = [333, 250];
    const pixels = randomPixels(width, height);
    const out = await stylizeTiled(identity, pixels, width, height, { tileSize: 96, overlap: 24 });
    expect(countTiles(width, height, 96, 24)).toBeGreaterThan(9);
    expect(Buffer.from(out).equals(Buffer.from(pixels))).toBe(true);
  });

  it("tells the model where each tile sits in the photo, so a seeded model paints one picture's cells, not each tile's own", async () => {
    const seen: { top: number; left: number; width: number; height: number }[] = [];
    const recording: StyleRunner = {
      run: async (image) => {
        seen.push({ ...image.origin!, width: image.width, height: image.height });
        return { ...image, data: Float32Array.from(image.data) };
      },
    };
    const [width, height] = [333, 250];
    await stylizeTiled(recording, randomPixels(width, height), width, height, { tileSize: 96, overlap: 24 });
    const columns = planAxis(width, 96, 24);
    const rows = planAxis(height, 96, 24);
    expect(seen).toEqual(rows.flatMap((r) => columns.map((c) => ({ top: r.start, left: c.start, width: c.length, height: r.length }))));
  });

  it('cross-fades tiles that disagree instead of leaving a hard seam', async () => {
    // Tiles paint alternately pure black and pure white: the worst case for seams.
    let calls = 0;
    const flatPerTile: StyleRunner = {
      run: async (image: RgbImage) => ({ ...image, data: new Float32Array(image.data.length).fill(calls++ % 2) }),
    };
    const [width, height] = [400, 300];
    const out = await stylizeTiled(flatPerTile, new Uint8Array(width * height * 3), width, height, {
      tileSize: 160,
      overlap: 48,
    });
    let largestStep = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 1; x < width; x++) {
        const i = (y * width + x) * 3;
        largestStep = Math.max(largestStep, Math.abs(out[i]! - out[i - 3]!));
      }
    }
    // A hard seam would jump by 255 in one pixel; a raised-cosine ramp over >= 48 pixels
    // moves at most 255 * pi / (2 * 48) ~ 8.3 per pixel.
    expect(countTiles(width, height, 160, 48)).toBe(12);
    expect(largestStep).toBeGreaterThan(0);
    expect(largestStep).toBeLessThanOrEqual(9);
  });

  it('reports progress per tile and stops between tiles when aborted', async () => {
    const controller = new AbortController();
    let runs = 0;
    const progress: string[] = [];
    const counting: StyleRunner = {
      run: async (image) => {
        runs++;
        return identity.run(image);
      },
    };
    const run = stylizeTiled(counting, randomPixels(300, 300), 300, 300, {
      tileSize: 128,
      overlap: 16,
      signal: controller.signal,
      onTile: (done, total) => {
        progress.push(`${done}/${total}`);
        if (done === 2) controller.abort(new Error('client went away'));
      },
    });
    await expect(run).rejects.toThrow('client went away');
    expect(runs).toBe(2);
    expect(progress).toEqual(['1/9', '2/9']);
  });

  it('blends the same image with several tiles in flight, keeping at most that many running', async () => {
    // A model that answers out of order (later tiles sooner) and counts concurrent runs.
    let running = 0;
    let mostRunning = 0;
    let calls = 0;
    const outOfOrder: StyleRunner = {
      run: async (image) => {
        running++;
        mostRunning = Math.max(mostRunning, running);
        const delay = 12 - (calls++ % 4) * 3;
        await new Promise((resolve) => setTimeout(resolve, delay));
        running--;
        return { ...image, data: image.data.map((v) => 1 - v) };
      },
    };
    const [width, height] = [333, 250];
    const pixels = randomPixels(width, height, 7);
    const options = { tileSize: 96, overlap: 24 };
    const sequential = await stylizeTiled(outOfOrder, pixels, width, height, options);
    expect(mostRunning).toBe(1);
    mostRunning = 0;
    const parallel = await stylizeTiled(outOfOrder, pixels, width, height, { ...options, tilesInFlight: 3 });
    expect(mostRunning).toBe(3);
    expect(Buffer.from(parallel).equals(Buffer.from(sequential))).toBe(true);
    expect(parallel[0]).toBe(255 - pixels[0]!);
  });

  it('starts no new tile after an abort while earlier tiles are in flight, and fails with the reason', async () => {
    const controller = new AbortController();
    let started = 0;
    const slow: StyleRunner = {
      run: async (image) => {
        started++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return identity.run(image);
      },
    };
    const run = stylizeTiled(slow, randomPixels(300, 300), 300, 300, {
      tileSize: 128,
      overlap: 16,
      tilesInFlight: 2,
      signal: controller.signal,
      onTile: (done) => {
        if (done === 1) controller.abort(new Error('deadline passed'));
      },
    });
    await expect(run).rejects.toThrow('deadline passed');
    expect(started).toBe(2);
  });
});
