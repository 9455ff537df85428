/**
 * Stylizing a large photo tile by tile. The network runs on overlapping tiles; each tile's
 * output is weighted by a smooth (raised-cosine) ramp across the overlap with its neighbours,
 * and every output pixel is the weight-normalised sum of the tiles covering it, so there are
 * no seams where tiles meet. Memory stays bounded: tiles are processed one row of tiles at a
 * time and only a band of float accumulators (image width x tile height) is held; finished
 * rows are written straight into the 8-bit output.
 */
import { SPAN_ATTRIBUTES, withSpan } from '@nst/runtime';

/** An RGB image as the style network sees it: HWC, float values 0..1. */
export interface RgbImage {
  data: Float32Array;
  width: number;
  height: number;
  /**
   * Where this image's top-left pixel sits in the whole picture when it is a tile of one (absent:
   * it is the whole picture). A seeded model paints from the cell seed at these coordinates, so
   * overlapping tiles agree on their cells.
   */
  origin?: { top: number; left: number };
}

/** Anything that stylizes one RGB image (a loaded style model). */
export interface StyleRunner {
  run(image: RgbImage): Promise<RgbImage>;
}

/** A span along one axis: tiles start at `start` and cover `length` pixels. */
export interface AxisSpan {
  start: number;
  length: number;
}

/**
 * Tile positions along one axis of `extent` pixels. Tiles are at most `tile` long and
 * neighbours overlap by at least `overlap`; the first tile starts at 0 and the last ends
 * exactly at the edge. The fewest tiles that can do it are used, each only as long as needed
 * (rounded up to a multiple of 4, the network's stride), so little work is spent twice: a
 * 1155-pixel axis with 512-pixel tiles takes three 408-pixel tiles, not three of 512.
 */
export function planAxis(extent: number, tile: number, overlap: number): AxisSpan[] {
  if (!Number.isInteger(extent) || extent <= 0) throw new RangeError(`extent must be a positive integer, got ${extent}`);
  if (!Number.isInteger(tile) || tile <= 0) throw new RangeError(`tile size must be a positive integer, got ${tile}`);
  if (overlap < 0 || overlap >= tile) throw new RangeError(`overlap must be in [0, tile size), got ${overlap}`);
  if (extent <= tile) return [{ start: 0, length: extent }];
  const count = Math.ceil((extent - overlap) / (tile - overlap));
  const length = Math.min(tile, Math.ceil((extent + (count - 1) * overlap) / count / 4) * 4);
  const stride = (extent - length) / (count - 1);
  return Array.from({ length: count }, (_, i) => ({ start: Math.round(i * stride), length }));
}

/** Smooth 0..1 ramp (raised cosine): ramp(t) + ramp(1 - t) = 1, so two-tile overlaps cross-fade exactly. */
function ramp(t: number): number {
  if (t <= 0) return 0;
  if (t >= 1) return 1;
  return 0.5 - 0.5 * Math.cos(Math.PI * t);
}

/**
 * Blend weights along one axis for tile `index` of `spans`: 1 in the tile's own part, ramping
 * down towards 0 across each overlap with a neighbour. Image borders get no ramp. Weights are
 * strictly positive (sampled at pixel centres), so normalisation never divides by zero.
 */
export function axisWeights(spans: readonly AxisSpan[], index: number): Float32Array {
  const span = spans[index];
  if (!span) throw new RangeError(`no tile ${index}`);
  const previous = spans[index - 1];
  const next = spans[index + 1];
  const leading = previous ? previous.start + previous.length - span.start : 0;
  const trailing = next ? span.start + span.length - next.start : 0;
  const weights = new Float32Array(span.length);
  for (let i = 0; i < span.length; i++) {
    const fromStart = leading > 0 ? ramp((i + 0.5) / leading) : 1;
    const toEnd = trailing > 0 ? ramp((span.length - i - 0.5) / trailing) : 1;
    weights[i] = fromStart * toEnd;
  }
  return weights;
}

export interface TiledOptions {
  tileSize: number;
  overlap: number;
  /** Called after each tile; awaited, so a slow consumer slows the loop rather than queueing. */
  onTile?: (done: number, total: number) => void | Promise<void>;
  /** Checked between tiles: an aborted request stops after the tiles in flight. */
  signal?: AbortSignal;
  /**
   * Tiles sent to the model before the first unfinished one is blended (default 1). More than
   * one lets a model with several sessions run one image's tiles in parallel; results are
   * still blended in raster order, so the band of accumulators stays one tile row high.
   */
  tilesInFlight?: number;
}

/** Placeholder for a blended tile, so its result can be collected while later tiles run. */
const DONE: Promise<RgbImage> = Promise.resolve({ data: new Float32Array(0), width: 0, height: 0 });

/** Number of tiles `stylizeTiled` will run for an image. */
export function countTiles(width: number, height: number, tileSize: number, overlap: number): number {
  return planAxis(width, tileSize, overlap).length * planAxis(height, tileSize, overlap).length;
}

/**
 * Stylizes an 8-bit RGB image (HWC, 3 channels) through `model`, tile by tile, and returns the
 * 8-bit RGB result of the same size.
 */
export async function stylizeTiled(
  model: StyleRunner,
  pixels: Uint8Array,
  width: number,
  height: number,
  options: TiledOptions,
): Promise<Uint8Array> {
  if (pixels.length !== width * height * 3) {
    throw new RangeError(`expected ${width}x${height}x3 = ${width * height * 3} bytes, got ${pixels.length}`);
  }
  const columns = planAxis(width, options.tileSize, options.overlap);
  const rows = planAxis(height, options.tileSize, options.overlap);
  const columnWeights = columns.map((_, i) => axisWeights(columns, i));
  const total = columns.length * rows.length;
  const bandRows = Math.max(...rows.map((r) => r.length));
  // Weighted RGB sums and the weight total for rows [bandTop, bandTop + bandRows).
  const sums = new Float32Array(width * bandRows * 3);
  const weightSums = new Float32Array(width * bandRows);
  let bandTop = 0;
  const output = new Uint8Array(width * height * 3);
  let done = 0;

  // Writes band rows [bandTop, until) to the output and slides the rest of the band up.
  const flushRowsBefore = (until: number): void => {
    const count = until - bandTop;
    if (count <= 0) return;
    for (let i = 0, o = bandTop * width * 3; i < count * width; i++) {
      const w = weightSums[i] as number;
      for (let c = 0; c < 3; c++, o++) {
        const v = (sums[i * 3 + c] as number) / w;
        output[o] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
      }
    }
    sums.copyWithin(0, count * width * 3);
    sums.fill(0, (bandRows - count) * width * 3);
    weightSums.copyWithin(0, count * width);
    weightSums.fill(0, (bandRows - count) * width);
    bandTop = until;
  };

  const tiles = rows.flatMap((row, r) => columns.map((column, c) => ({ row, r, column, c })));
  const rowWeightsOf = rows.map((_, r) => axisWeights(rows, r));
  const window = Math.max(1, Math.floor(options.tilesInFlight ?? 1));
  const runs: Array<Promise<RgbImage>> = [];
  // Copies tile i out of the photo and hands it to the model (each tile its own buffer, since
  // several may be in flight).
  const launch = (i: number): void => {
    const { row, column } = tiles[i] as (typeof tiles)[number];
    const tw = column.length;
    const th = row.length;
    const tileInput = new Float32Array(tw * th * 3);
    for (let y = 0; y < th; y++) {
      const src = ((row.start + y) * width + column.start) * 3;
      const dst = y * tw * 3;
      for (let k = 0; k < tw * 3; k++) tileInput[dst + k] = (pixels[src + k] as number) / 255;
    }
    const input = { data: tileInput, width: tw, height: th, origin: { top: row.start, left: column.start } };
    const run = withSpan(
      'inference tile',
      { [SPAN_ATTRIBUTES.tile]: i, [SPAN_ATTRIBUTES.tiles]: total, [SPAN_ATTRIBUTES.width]: tw, [SPAN_ATTRIBUTES.height]: th, [SPAN_ATTRIBUTES.pixels]: tw * th },
      () => model.run(input),
    );
    // Awaited in order below; if an earlier tile fails first this one is never awaited.
    run.catch(() => undefined);
    runs.push(run);
  };

  for (let i = 0; i < tiles.length; i++) {
    while (runs.length < Math.min(tiles.length, i + window)) {
      options.signal?.throwIfAborted();
      launch(runs.length);
    }
    const { row, r, column, c } = tiles[i] as (typeof tiles)[number];
    if (c === 0) flushRowsBefore(row.start);
    const rowWeights = rowWeightsOf[r] as Float32Array;
    const tw = column.length;
    const th = row.length;
    const result = await (runs[i] as Promise<RgbImage>);
    if (result.width !== tw || result.height !== th || result.data.length !== tw * th * 3) {
      throw new Error(`style model returned ${result.width}x${result.height} for a ${tw}x${th} tile`);
    }
    const wx = columnWeights[c] as Float32Array;
    for (let y = 0; y < th; y++) {
      const wy = rowWeights[y] as number;
      const bandRow = row.start + y - bandTop;
      for (let x = 0; x < tw; x++) {
        const w = wy * (wx[x] as number);
        const p = bandRow * width + column.start + x;
        const s = (y * tw + x) * 3;
        weightSums[p] = (weightSums[p] as number) + w;
        sums[p * 3] = (sums[p * 3] as number) + w * (result.data[s] as number);
        sums[p * 3 + 1] = (sums[p * 3 + 1] as number) + w * (result.data[s + 1] as number);
        sums[p * 3 + 2] = (sums[p * 3 + 2] as number) + w * (result.data[s + 2] as number);
      }
    }
    runs[i] = DONE;
    done++;
    await options.onTile?.(done, total);
  }
  flushRowsBefore(height);
  return output;
}
