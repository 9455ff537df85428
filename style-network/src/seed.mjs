// @ts-check
/**
 * The cell seed: a fixed, procedural pattern fed to a seeded StyleNet as a fourth input channel.
 *
 * Why: a feed-forward network is a function of its input, so where a photo is flat (sky, a wall,
 * a blurred background) it can only paint flat colour. Paintings made of cells (stained glass,
 * mosaic, pointillism) put cells there too. Noise inputs are how texture networks get the
 * variation a flat input lacks (Ulyanov et al. 2016, "Texture Networks"); this is one noise
 * pattern shaped as cells: a Voronoi partition of the plane (one feature point per grid square,
 * jittered by a hash), in two channels. The first is each cell's own constant value in [0, 1],
 * which a network can turn into the cell's colour; the second is the distance to the nearest
 * cell boundary, 0 on it and rising to 1 a quarter of the spacing inside (Worley's F2 - F1
 * family of cellular noise), where it can draw lead lines between cells of similar values.
 *
 * The pattern is a pure function of global pixel coordinates, so the trainer (any crop, any
 * origin), the served graph (fed by StyleService) and every tile of a tiled photo see the same
 * cells, and nothing random is stored. No TF.js here: StyleService computes it for its ONNX graph.
 *
 * Plain JavaScript (type-checked from its JSDoc) rather than TypeScript because StyleService's
 * ONNX session workers (inference session-worker.mjs) compute the seed beside the session, off
 * the gRPC event loop, and those workers start without a TypeScript loader.
 */

/**
 * 32-bit integer hash of a grid square (two rounds of a murmur3-style finaliser).
 * @param {number} gx
 * @param {number} gy
 * @param {number} salt
 * @returns {number}
 */
function hash(gx, gy, salt) {
  let h = Math.imul(gx, 0x27d4eb2d) ^ Math.imul(gy, 0x165667b1) ^ Math.imul(salt, 0x9e3779b9);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const UNIT = 1 / 4294967296;

/** Channels of the seed: the cell's value, the distance to its boundary. */
export const SEED_CHANNELS = 2;

/** The boundary channel reaches 1 this fraction of the spacing inside a cell. */
const BOUNDARY_RAMP = 0.25;

/**
 * The seed for the rows [top, top + height) and columns [left, left + width) of the plane, planar
 * (CHW: the value channel, then the boundary channel, each row major), floats in [0, 1]. `cell`
 * is the grid spacing in pixels (the mean cell size). Pixel (y, x) belongs to the nearest feature
 * point (measured from the pixel's centre) among the 3x3 grid squares around its own; ties go to
 * the first found, in a fixed order. Its boundary distance is to the nearest bisector between
 * that point and another within the 5x5 squares around.
 * @param {number} height
 * @param {number} width
 * @param {number} cell
 * @param {number} [top]
 * @param {number} [left]
 * @returns {Float32Array}
 */
export function cellSeed(height, width, cell, top = 0, left = 0) {
  if (!(Number.isInteger(cell) && cell >= 2)) throw new Error(`cell seed spacing must be an integer of at least 2 pixels, got ${cell}`);
  if (!(Number.isInteger(top) && Number.isInteger(left))) throw new Error(`cell seed origin must be whole pixels, got ${top}, ${left}`);
  const plane = height * width;
  const out = new Float32Array(SEED_CHANNELS * plane);
  if (height <= 0 || width <= 0) return out;
  // Feature points and values of every grid square the region's pixels can reach, once. A
  // jittered grid's nearest point is always within the 3x3 squares around a pixel's own; the
  // second-nearest (for the boundary) can be one further, hence 5x5.
  const reach = 2;
  const gx0 = Math.floor((left + 0.5) / cell) - reach;
  const gy0 = Math.floor((top + 0.5) / cell) - reach;
  const columns = Math.floor((left + width - 0.5) / cell) + reach + 1 - gx0;
  const rows = Math.floor((top + height - 0.5) / cell) + reach + 1 - gy0;
  const pointX = new Float64Array(rows * columns);
  const pointY = new Float64Array(rows * columns);
  const values = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const cx = gx0 + c;
      const cy = gy0 + r;
      pointX[r * columns + c] = (cx + hash(cx, cy, 1) * UNIT) * cell;
      pointY[r * columns + c] = (cy + hash(cx, cy, 2) * UNIT) * cell;
      values[r * columns + c] = hash(cx, cy, 3) * UNIT;
    }
  }
  // Typed-array reads below are cast to number: every index is inside the grid by construction
  // (noUncheckedIndexedAccess would otherwise widen each to number | undefined).
  const ramp = BOUNDARY_RAMP * cell;
  for (let y = 0; y < height; y++) {
    const py = top + y + 0.5;
    const r0 = Math.floor(py / cell) - gy0;
    for (let x = 0; x < width; x++) {
      const px = left + x + 0.5;
      const c0 = Math.floor(px / cell) - gx0;
      let best = Infinity;
      let owner = -1;
      for (let r = r0 - 1; r <= r0 + 1; r++) {
        for (let c = c0 - 1; c <= c0 + 1; c++) {
          const i = r * columns + c;
          const dx = /** @type {number} */ (pointX[i]) - px;
          const dy = /** @type {number} */ (pointY[i]) - py;
          const d = dx * dx + dy * dy;
          if (d < best) {
            best = d;
            owner = i;
          }
        }
      }
      // Distance to the bisector with point k: (|x - k|^2 - |x - owner|^2) / (2 |k - owner|),
      // which is at least (|x - k| - |x - owner|) / 2: points further than |x - owner| + 2 ramp
      // cannot bring it under the ramp, where the channel saturates, so they are skipped.
      const ox = /** @type {number} */ (pointX[owner]);
      const oy = /** @type {number} */ (pointY[owner]);
      const reachable = (Math.sqrt(best) + 2 * ramp) ** 2;
      let boundary = ramp;
      for (let r = r0 - reach; r <= r0 + reach; r++) {
        for (let c = c0 - reach; c <= c0 + reach; c++) {
          const k = r * columns + c;
          if (k === owner) continue;
          const dx = /** @type {number} */ (pointX[k]) - px;
          const dy = /** @type {number} */ (pointY[k]) - py;
          const d = dx * dx + dy * dy;
          if (d >= reachable) continue;
          const sx = /** @type {number} */ (pointX[k]) - ox;
          const sy = /** @type {number} */ (pointY[k]) - oy;
          const distance = (d - best) / (2 * Math.sqrt(sx * sx + sy * sy));
          if (distance < boundary) boundary = distance;
        }
      }
      const p = y * width + x;
      out[p] = /** @type {number} */ (values[owner]);
      out[plane + p] = boundary / ramp;
    }
  }
  return out;
}

/**
 * The seed as a model input: cellSeed's planar values and their NCHW shape, [1, SEED_CHANNELS, H, W].
 * @param {number} height
 * @param {number} width
 * @param {number} cell
 * @param {number} [top]
 * @param {number} [left]
 * @returns {{ data: Float32Array; dims: [number, number, number, number] }}
 */
export function seedInput(height, width, cell, top = 0, left = 0) {
  return { data: cellSeed(height, width, cell, top, left), dims: [1, SEED_CHANNELS, height, width] };
}
