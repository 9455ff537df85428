/**
 * Serving precisions (issue 17): FP32, INT8 and BF16 models of the shipped starter styles, side
 * by side, measured in one run on this machine.
 *
 *  1. Speed. One starter version's FP32 and INT8 models (its shipped model.onnx and
 *     model.int8.onnx), in interleaved rounds so the shared machine's load hits both alike:
 *       - 1 MP on one thread, in CPU milliseconds of the process doing the work (ours:
 *         process.cpuUsage around a run; the peer: Python's time.process_time), which other
 *         processes taking the cores do not inflate the way they inflate wall time: on this
 *         shared machine the ratio to read first;
 *       - 1 MP (1024x1024) on one ORT session with --threads threads, beside the PyTorch peer
 *         (../shared/bench/peer_torch.py's Johnson network, kept alive and timed in the same
 *         rounds): peer_ms / ours_ms, as the engine bench reports it;
 *       - 1 MP and 12 MP (4000x3000) the way StyleService serves them (StyleService's tiles,
 *         overlap, sessions x threads, tiles in flight and thumbnail instance norms).
 *     BF16: the FP32 model with every Conv in bfloat16 (opset 22, Cast around each) is handed
 *     to ORT; its CPU provider has no bfloat16 Conv, so the row says what ORT answered.
 *  2. Quality cost. For every starter style's latest version, the INT8 output against the FP32
 *     output on the six held-out gallery photos (docs/gallery/photo-N.jpg, 512 px): mean
 *     absolute pixel difference, SSIM of luminance and the MobileNetV2 judge's distance (mean
 *     and worst photo), beside what the service's own default encoding (JPEG quality 90) does
 *     to the same FP32 outputs; how many photos are within INT8_QUALITY_THRESHOLD, and which
 *     precision the version serves (decided at export on training photos, not these).
 *
 *   node --import tsx system-tests/bench/precision.bench.ts [--style mosaic] [--runs 5] [--runs12 3] [--threads 2] [--out /tmp/precision] [--speed-only]
 *
 * --out writes each gallery photo's FP32 and INT8 outputs and their difference (x4) as PNGs.
 */
import { mkdir } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { loadStyleConfig } from '@nst/inference/config';
import { downscaleRgb, StyleModel, stylizeTiled, ThumbnailNormModel, type RgbImage } from '@nst/inference';
import { ModelRegistry, type VersionRecord } from '@nst/runtime';
import { median, PersistentPeer } from '@nst/test-kit';
import { checkPhoto, createJudge, initBackend, INT8_QUALITY_THRESHOLD, withinThreshold, worstCost, type PhotoCheck, type QualityCost } from '@nst/trainer';

/** CPU milliseconds this process (all its threads, the model's workers included) spends on `work`. */
async function cpuTime(work: () => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage();
  await work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const { onnx } = onnxProto;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const STARTER_DIR = path.join(repoRoot, 'trainer', 'starter-styles');
const GALLERY = [1, 2, 3, 4, 5, 6].map((n) => path.join(repoRoot, 'docs', 'gallery', `photo-${n}.jpg`));

/** Photo-like pixels (gradients and detail): timing does not depend on content, tiles do not differ. */
function syntheticPhoto(width: number, height: number): Uint8Array {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = Math.round(127 + 120 * Math.sin(x / 37) * Math.cos(y / 53));
      pixels[i + 1] = Math.round((255 * y) / (height - 1));
      pixels[i + 2] = ((x * 7 + y * 13) & 255) ^ ((x >> 4) & 1 ? 40 : 0);
    }
  }
  return pixels;
}

const toFloat = (pixels: Uint8Array, width: number, height: number): RgbImage => ({ data: Float32Array.from(pixels, (v) => v / 255), width, height });

/** float32 -> bfloat16 bits, round to nearest even. */
function bf16Bits(value: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  const bits = view.getUint32(0);
  return ((bits + 0x7fff + ((bits >> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * The FP32 model with every Conv computing in bfloat16: its input cast to bfloat16, its
 * weights and bias stored as bfloat16, its output cast back. Opset 22 is the first whose Conv
 * admits bfloat16.
 */
export function bf16Model(fp32: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(fp32);
  const graph = model.graph!;
  const initializers = new Map((graph.initializer ?? []).map((t) => [String(t.name), t]));
  const BF16 = onnx.TensorProto.DataType.BFLOAT16;
  const cast = (input: string, output: string, to: number) =>
    onnx.NodeProto.create({ opType: 'Cast', input: [input], output: [output], name: `${output}.cast`, attribute: [onnx.AttributeProto.create({ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to })] });
  const nodes = [];
  for (const node of graph.node ?? []) {
    if (node.opType !== 'Conv') {
      nodes.push(node);
      continue;
    }
    const [x, ...params] = node.input ?? [];
    const [y] = node.output ?? [];
    for (const name of params) {
      const tensor = initializers.get(String(name))!;
      const view = new DataView(tensor.rawData!.buffer, tensor.rawData!.byteOffset, tensor.rawData!.byteLength);
      const out = new Uint8Array(tensor.rawData!.byteLength / 2);
      const outView = new DataView(out.buffer);
      for (let i = 0; i < out.length / 2; i++) outView.setUint16(i * 2, bf16Bits(view.getFloat32(i * 4, true)), true);
      tensor.dataType = BF16;
      tensor.rawData = out;
    }
    nodes.push(cast(String(x), `${x}.bf16`, BF16));
    node.input = [`${x}.bf16`, ...params];
    node.output = [`${y}.bf16`];
    nodes.push(node, cast(`${y}.bf16`, String(y), onnx.TensorProto.DataType.FLOAT));
  }
  graph.node = nodes;
  model.opsetImport = [{ domain: '', version: 22 }];
  model.irVersion = 10;
  return onnx.ModelProto.encode(model).finish();
}

/** What ORT says when asked to load the BF16 model: a session, or the reason it has none. */
async function tryBf16(fp32: Uint8Array, threads: number): Promise<{ model?: StyleModel; refusal?: string }> {
  const bytes = bf16Model(fp32);
  try {
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, executionProviders: ['cpu'] });
    await session.release();
    return { model: await StyleModel.load(bytes, { threads }) };
  } catch (error) {
    return { refusal: (error instanceof Error ? error.message : String(error)).split('\n')[0] };
  }
}

interface ServedRunner {
  paint(pixels: Uint8Array, width: number, height: number): Promise<Uint8Array>;
  dispose(): Promise<void>;
}

/** The model as StyleService runs a photo: thumbnail statistics, then tiles across its sessions. */
async function served(bytes: Uint8Array, config: ReturnType<typeof loadStyleConfig>): Promise<ServedRunner> {
  const model = await ThumbnailNormModel.load(bytes, { threads: config.inferenceThreads, sessions: config.modelSessions, memoryArena: config.inferenceMemoryArena });
  return {
    async paint(pixels, width, height) {
      const tiles = { tileSize: config.tileSize, overlap: config.tileOverlap, tilesInFlight: config.tilesInFlight };
      const many = Math.max(width, height) > config.tileSize;
      const runner = many && config.normThumbnail ? await model.forThumbnail(await downscaleRgb(pixels, width, height, config.normThumbnail)) : model;
      return stylizeTiled(runner, pixels, width, height, tiles);
    },
    dispose: () => model.dispose(),
  };
}

async function time(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function loadGallery(): Promise<RgbImage[]> {
  return Promise.all(
    GALLERY.map(async (file) => {
      const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      return toFloat(new Uint8Array(data), info.width, info.height);
    }),
  );
}

const bytesOf = (image: RgbImage): Buffer => Buffer.from(Uint8Array.from(image.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));

async function writePng(image: RgbImage, file: string): Promise<void> {
  await sharp(bytesOf(image), { raw: { width: image.width, height: image.height, channels: 3 } }).png().toFile(file);
}

export interface QualityRow {
  style: string;
  version: number;
  serves: string;
  mean: QualityCost;
  worst: QualityCost;
  /** The same measures for the FP32 output as JPEG 90. */
  jpegMean: QualityCost;
  within: number;
  photos: number;
}

const meanCost = (costs: QualityCost[]): QualityCost => ({
  meanAbsDiff: costs.reduce((s, c) => s + c.meanAbsDiff, 0) / costs.length,
  ssim: costs.reduce((s, c) => s + c.ssim, 0) / costs.length,
  judgeDistance: costs.reduce((s, c) => s + (c.judgeDistance ?? 0), 0) / costs.length,
});

async function latestVersions(registry: ModelRegistry): Promise<VersionRecord[]> {
  const styles = await registry.listStyles();
  return Promise.all(styles.map((s) => registry.latestVersion(s.id)));
}

/** Part 2: the quality cost of INT8 for every starter style, plus the JPEG 90 reference. */
export async function benchQuality(registry: ModelRegistry, options: { threads: number; out?: string; log: (line: string) => void }): Promise<QualityRow[]> {
  await initBackend('wasm');
  const judge = createJudge();
  const gallery = await loadGallery();
  const rows: QualityRow[] = [];
  if (options.out) await mkdir(options.out, { recursive: true });
  try {
    for (const version of await latestVersions(registry)) {
      if (!version.metadata.derivedModels?.int8) {
        options.log(`${version.style} v${version.version}: no INT8 model, skipped`);
        continue;
      }
      const [fp32, int8] = await Promise.all([
        StyleModel.load(await registry.readModel(version.style, version.version), { threads: options.threads }),
        StyleModel.load(await registry.readModel(version.style, version.version, 'int8'), { threads: options.threads }),
      ]);
      const checks: PhotoCheck[] = [];
      try {
        for (const [p, photo] of gallery.entries()) {
          const reference = await fp32.run(photo);
          const candidate = await int8.run(photo);
          checks.push(await checkPhoto(candidate, reference, judge.extract));
          if (options.out) {
            const stem = path.join(options.out, `${version.style}-photo-${p + 1}`);
            await writePng(reference, `${stem}-fp32.png`);
            await writePng(candidate, `${stem}-int8.png`);
            await writePng({ ...reference, data: reference.data.map((v, i) => Math.abs(v - (candidate.data[i] as number)) * 4) }, `${stem}-diff-x4.png`);
          }
        }
      } finally {
        await Promise.all([fp32.dispose(), int8.dispose()]);
      }
      const costs = checks.map((c) => c.int8);
      const worst = worstCost(costs);
      const within = checks.filter(withinThreshold).length;
      rows.push({
        style: version.style,
        version: version.version,
        serves: version.metadata.servePrecision ?? 'fp32',
        mean: meanCost(costs),
        worst,
        jpegMean: meanCost(checks.map((c) => c.jpeg)),
        within,
        photos: checks.length,
      });
      options.log(`${version.style} v${version.version}: worst MAD ${worst.meanAbsDiff.toFixed(2)}, SSIM ${worst.ssim.toFixed(4)}, judge ${worst.judgeDistance?.toFixed(4)}; ${within}/${checks.length} photos within`);
    }
  } finally {
    judge.dispose();
  }
  return rows;
}

/**
 * Best and median of a run's timings. The machine is shared: other processes take the cores
 * at random moments and only ever make a run slower, so the best of N is the least disturbed
 * estimate and the median shows the spread; ratios are given for both.
 */
export interface Timing {
  best: number;
  median: number;
}

const timing = (values: number[]): Timing => ({ best: Math.min(...values), median: median(values) });

export interface SpeedRow {
  precision: string;
  /** CPU ms per 1 MP image on one thread. */
  cpu1mp?: Timing;
  /** peer / ours in CPU time on one thread. */
  cpuPeerRatio?: Timing;
  engine1mp?: Timing;
  served1mp?: Timing;
  served12mp?: Timing;
  /** peer / ours at 1 MP (engine), best against best and median against median. */
  peerRatio?: Timing;
  note?: string;
}

/** Part 1: FP32, INT8 and BF16 speed of one version, and the peer at 1 MP. */
export async function benchSpeed(
  registry: ModelRegistry,
  version: VersionRecord,
  options: { runs: number; runs12: number; threads: number; env?: NodeJS.ProcessEnv; log: (line: string) => void },
): Promise<{ rows: SpeedRow[]; peer: Timing; peerCpu: Timing; torch: string }> {
  const config = loadStyleConfig(options.env ?? process.env);
  const { log, threads } = options;
  const fp32Bytes = await registry.readModel(version.style, version.version);
  const int8Bytes = await registry.readModel(version.style, version.version, 'int8');
  const bf16 = await tryBf16(fp32Bytes, threads);
  if (bf16.refusal) log(`bf16: ONNX Runtime ${ort.env.versions.common} refused the model: ${bf16.refusal}`);

  const mp1 = { width: 1024, height: 1024 };
  const mp12 = { width: 4000, height: 3000 };
  const pixels1 = syntheticPhoto(mp1.width, mp1.height);
  const pixels12 = syntheticPhoto(mp12.width, mp12.height);
  const image1 = toFloat(pixels1, mp1.width, mp1.height);
  const precisions = [
    { name: 'fp32', bytes: fp32Bytes },
    { name: 'int8', bytes: int8Bytes },
  ];
  const times = new Map<string, { cpu: number[]; engine: number[]; served1: number[]; served12: number[] }>(
    precisions.map((p) => [p.name, { cpu: [], engine: [], served1: [], served12: [] }]),
  );
  // CPU time on one thread, ours against the peer's, rounds interleaved.
  const cpuPeer = new PersistentPeer(1024, 1, { cpu: true });
  const peerCpuTimes: number[] = [];
  try {
    await cpuPeer.ready();
    const singles = await Promise.all(precisions.map(async (p) => ({ ...p, model: await StyleModel.load(p.bytes, { threads: 1 }) })));
    try {
      for (const e of singles) await e.model.run(image1);
      for (let round = 1; round <= options.runs; round++) {
        peerCpuTimes.push(await cpuPeer.time());
        for (const e of round % 2 ? singles : [...singles].reverse()) times.get(e.name)?.cpu.push(await cpuTime(() => e.model.run(image1)));
        log(`1 MP one thread, CPU ms, round ${round}/${options.runs}: peer ${peerCpuTimes.at(-1)?.toFixed(0)}, ${singles.map((e) => `${e.name} ${times.get(e.name)?.cpu.at(-1)?.toFixed(0)}`).join(', ')}`);
      }
    } finally {
      await Promise.all(singles.map((e) => e.model.dispose()));
    }
  } finally {
    cpuPeer.stop();
  }
  const peer = new PersistentPeer(1024, threads);
  const peerTimes: number[] = [];
  let torch = '?';
  try {
    torch = await peer.ready();
    // Engine at 1 MP: whole image, one session, `threads` threads, rounds interleaved with the peer.
    const engines = await Promise.all(precisions.map(async (p) => ({ ...p, model: await StyleModel.load(p.bytes, { threads }) })));
    try {
      for (const e of engines) await e.model.run(image1);
      for (let round = 1; round <= options.runs; round++) {
        peerTimes.push(await peer.time());
        // Alternate which precision goes first, so neither always follows the peer.
        for (const e of round % 2 ? engines : [...engines].reverse()) times.get(e.name)?.engine.push(await time(() => e.model.run(image1)));
        log(`1 MP engine round ${round}/${options.runs}: peer ${peerTimes.at(-1)?.toFixed(0)} ms, ${engines.map((e) => `${e.name} ${times.get(e.name)?.engine.at(-1)?.toFixed(0)}`).join(', ')}`);
      }
    } finally {
      await Promise.all(engines.map((e) => e.model.dispose()));
    }
  } finally {
    peer.stop();
  }
  // Served: the StyleService path at 1 MP and 12 MP.
  const runners = await Promise.all(precisions.map(async (p) => ({ ...p, runner: await served(p.bytes, config) })));
  try {
    for (const r of runners) await r.runner.paint(pixels1, mp1.width, mp1.height);
    for (let round = 1; round <= options.runs; round++) {
      for (const r of round % 2 ? runners : [...runners].reverse()) times.get(r.name)?.served1.push(await time(() => r.runner.paint(pixels1, mp1.width, mp1.height)));
      log(`1 MP served round ${round}/${options.runs}: ${runners.map((r) => `${r.name} ${times.get(r.name)?.served1.at(-1)?.toFixed(0)}`).join(', ')}`);
    }
    for (let round = 1; round <= options.runs12; round++) {
      for (const r of round % 2 ? runners : [...runners].reverse()) times.get(r.name)?.served12.push(await time(() => r.runner.paint(pixels12, mp12.width, mp12.height)));
      log(`12 MP served round ${round}/${options.runs12}: ${runners.map((r) => `${r.name} ${times.get(r.name)?.served12.at(-1)?.toFixed(0)}`).join(', ')}`);
    }
  } finally {
    await Promise.all(runners.map((r) => r.runner.dispose()));
  }
  const peerTiming = timing(peerTimes);
  const peerCpu = timing(peerCpuTimes);
  const rows: SpeedRow[] = precisions.map((p) => {
    const t = times.get(p.name)!;
    const engine1mp = timing(t.engine);
    const cpu1mp = timing(t.cpu);
    return {
      precision: p.name,
      cpu1mp,
      cpuPeerRatio: { best: peerCpu.best / cpu1mp.best, median: peerCpu.median / cpu1mp.median },
      engine1mp,
      served1mp: timing(t.served1),
      served12mp: timing(t.served12),
      peerRatio: { best: peerTiming.best / engine1mp.best, median: peerTiming.median / engine1mp.median },
    };
  });
  rows.push({ precision: 'bf16', note: bf16.refusal ? `not run: ORT's CPU provider refused it (${bf16.refusal})` : 'loaded (unexpected: time it)' });
  await bf16.model?.dispose();
  return { rows, peer: peerTiming, peerCpu, torch };
}

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

const ms = (value: Timing | undefined) => (value === undefined ? '-' : `${value.best.toFixed(0)} / ${value.median.toFixed(0)}`);
const times = (value: Timing | undefined) => (value === undefined ? '-' : `${value.best.toFixed(2)}x / ${value.median.toFixed(2)}x`);
const speedup = (base: Timing | undefined, value: Timing | undefined): Timing | undefined =>
  base && value ? { best: base.best / value.best, median: base.median / value.median } : undefined;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      style: { type: 'string' },
      runs: { type: 'string', default: '5' },
      runs12: { type: 'string', default: '3' },
      threads: { type: 'string', default: '2' },
      registry: { type: 'string', default: STARTER_DIR },
      out: { type: 'string' },
      'speed-only': { type: 'boolean', default: false },
    },
  });
  const log = (line: string) => console.error(line);
  try {
    const registry = await ModelRegistry.open(path.resolve(values.registry), { readOnly: true });
    const threads = Number(values.threads);
    const quality = values['speed-only'] ? [] : await benchQuality(registry, { threads, log, ...(values.out ? { out: values.out } : {}) });
    // The served default: the named style, else the first whose latest version serves INT8.
    const latest = await latestVersions(registry);
    const chosen = values.style ? latest.find((v) => v.style === values.style) : (latest.find((v) => v.metadata.servePrecision === 'int8') ?? latest.find((v) => v.metadata.derivedModels?.int8));
    if (!chosen?.metadata.derivedModels?.int8) throw new Error(`no starter version with an INT8 model${values.style ? ` for style ${values.style}` : ''} in ${values.registry}`);
    const { rows: speed, peer, peerCpu, torch } = await benchSpeed(registry, chosen, { runs: Number(values.runs), runs12: Number(values.runs12), threads, log });

    const served = chosen.metadata.servePrecision ?? 'fp32';
    console.log(`\n### Speed: ${chosen.style} v${chosen.version} (serves ${served}); ms, best / median of the rounds; peer = PyTorch ${torch} Johnson network, ${threads} threads`);
    console.log(`    1 MP = 1024x1024 (engine: one session, ${threads} threads, whole image); 12 MP = 4000x3000; "served" = tiled as StyleService runs it (loadStyleConfig)`);
    console.log(`    CPU = CPU ms of one thread per 1 MP image; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores at the end\n`);
    const fp32Row = speed.find((r) => r.precision === 'fp32');
    console.log(
      table(
        ['precision', 'CPU 1 MP', 'peer/ours CPU', '1 MP engine', 'peer/ours 1 MP', '1 MP served', '12 MP served', 'vs fp32: CPU', '1 MP engine', '1 MP served', '12 MP served', 'note'],
        [
          ['pytorch peer', ms(peerCpu), '1.00x', ms(peer), '1.00x', '-', '-', '-', '-', '-', '-', ''],
          ...speed.map((r) => [
            r.precision,
            ms(r.cpu1mp),
            times(r.cpuPeerRatio),
            ms(r.engine1mp),
            times(r.peerRatio),
            ms(r.served1mp),
            ms(r.served12mp),
            times(speedup(fp32Row?.cpu1mp, r.cpu1mp)),
            times(speedup(fp32Row?.engine1mp, r.engine1mp)),
            times(speedup(fp32Row?.served1mp, r.served1mp)),
            times(speedup(fp32Row?.served12mp, r.served12mp)),
            r.note ?? '',
          ]),
        ],
      ),
    );
    const t = INT8_QUALITY_THRESHOLD;
    console.log(`\n### Quality cost of INT8 against FP32 on the 6 gallery photos (mean / worst photo), beside FP32 as JPEG ${t.jpegQuality}`);
    console.log(`    a photo is within the threshold when INT8's MAD and judge distance are at most JPEG ${t.jpegQuality}'s and its SSIM >= ${t.minSsim}\n`);
    const f = (c: QualityCost, digits: number, key: keyof QualityCost) => (c[key] ?? NaN).toFixed(digits);
    console.log(
      table(
        ['style', 'MAD int8', `MAD jpeg${t.jpegQuality}`, 'SSIM int8', `SSIM jpeg${t.jpegQuality}`, 'judge int8', `judge jpeg${t.jpegQuality}`, 'within', 'serves'],
        quality.map((r) => [
          `${r.style} v${r.version}`,
          `${f(r.mean, 2, 'meanAbsDiff')} / ${f(r.worst, 2, 'meanAbsDiff')}`,
          f(r.jpegMean, 2, 'meanAbsDiff'),
          `${f(r.mean, 4, 'ssim')} / ${f(r.worst, 4, 'ssim')}`,
          f(r.jpegMean, 4, 'ssim'),
          `${f(r.mean, 4, 'judgeDistance')} / ${f(r.worst, 4, 'judgeDistance')}`,
          f(r.jpegMean, 4, 'judgeDistance'),
          `${r.within}/${r.photos}`,
          r.serves,
        ]),
      ),
    );
    const int8Row = speed.find((r) => r.precision === 'int8');
    const fastest = int8Row?.served1mp && fp32Row?.served1mp && int8Row.served1mp.best < fp32Row.served1mp.best ? 'int8' : 'fp32';
    const servedRow = speed.find((r) => r.precision === served);
    console.log(
      `\nServed default of ${chosen.style} v${chosen.version}: ${served} (fastest measured, best of the served 1 MP rounds: ${fastest}); ` +
        `${times(servedRow?.cpuPeerRatio)} the PyTorch peer at 1 MP in CPU time on one thread, ${times(servedRow?.peerRatio)} in wall time on ${threads} (best / median); ` +
        (quality.length > 0 ? `${quality.filter((r) => r.serves === 'int8').length} of ${quality.length} starter styles serve int8.` : ''),
    );
  } catch (error) {
    console.error(`precision bench failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  }
}

