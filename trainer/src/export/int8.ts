/**
 * The INT8 model of an exported style network, made at export and stored beside the FP32 one
 * in the version: calibrated on training photos (calibrate.ts), quantized to QDQ
 * (quantize.ts), then run beside the FP32 model on other training photos to measure what it
 * costs in quality. It is served by default only when that cost is below the threshold.
 *
 * The threshold (INT8_QUALITY_THRESHOLD), on every checked photo (the numbers behind it:
 * `npm run bench -- precision` and inference/README.md#int8-serving):
 *  - the INT8 output may differ from the FP32 one no more than the service's own default
 *    encoding (JPEG quality 90) changes that same FP32 output, in mean absolute pixel
 *    difference and in the judge's style distance. Every reply already goes through that
 *    encoder, so a change below it is below what people are shown anyway; measured against
 *    the same photo and style, because what JPEG does varies with both (judge distance 0.03
 *    on mosaic's gallery outputs, more on fine hatching);
 *  - SSIM of luminance >= 0.95, absolute: JPEG 90 keeps it above 0.99 by spending its error
 *    on colour, INT8 spends its error on fine luminance texture. Looked at side by side at
 *    3x, INT8 outputs at SSIM 0.95-0.96 could not be told from FP32 (auvers, elephants),
 *    while at 0.91-0.92 a style's regular stipple had turned to visible grain (elephants
 *    before channel gains).
 */
import * as ort from 'onnxruntime-node';
import type { DerivedModelInfo } from '@nst/runtime';
import type { RgbImage } from '../eval/colour-transfer';
import sharp from 'sharp';
import { contentStructure, styleDistance, type FeatureExtractor } from '../eval/scores';
import { decodeImage, listImageFiles, sha256 } from '../train/photos';
import { calibrate, DEFAULT_PERCENTILE, imageConvs, photoFeeds, quantizeQdq, QUANTIZER_VERSION, seedCellOf, type CalibrationImage } from '@nst/style-network';

/** What the INT8 output must keep to on every checked photo (see the file comment). */
export const INT8_QUALITY_THRESHOLD = {
  /** SSIM of luminance between the INT8 and FP32 outputs. */
  minSsim: 0.95,
  /** The encoder quality (the service's default) whose change of the FP32 output is the limit for mean absolute difference and judge distance. */
  jpegQuality: 90,
} as const;

/** Every eighth training photo calibrates, a disjoint eighth checks the result. */
const CALIBRATION_STRIDE = 8;
const CHECK_OFFSET = 4;
/** Photos are decoded no larger than this (the shipped ones are 384 px on the short side). */
const MAX_SIDE = 640;

export interface Int8Options {
  /** Folder of training photos (never the gallery's held-out ones). */
  photosDir: string;
  /** The style judge's feature extractor; without it the judge distance is not measured. */
  judge?: FeatureExtractor;
  /** Most photos checked; default 8. */
  checkPhotos?: number;
  /** ORT intra-op threads; default 2. */
  threads?: number;
}

export interface Int8Model {
  model: Uint8Array;
  /** What the registry records beside it (precision.ts DerivedModelInfo). */
  info: DerivedModelInfo;
}

/** How far one picture is from another, on the measures a person sees. */
export interface QualityCost {
  /** Mean absolute pixel difference (0..255). */
  meanAbsDiff: number;
  /** SSIM of luminance. */
  ssim: number;
  /** The judge's Gram distance (eval/judge.ts), when a judge was given. */
  judgeDistance?: number;
}

/** One checked photo: INT8 against FP32, and the FP32 output's JPEG against itself. */
export interface PhotoCheck {
  int8: QualityCost;
  jpeg: QualityCost;
}

/** Whether one photo's INT8 output is within INT8_QUALITY_THRESHOLD. */
export function withinThreshold(check: PhotoCheck): boolean {
  const { int8, jpeg } = check;
  const judged = int8.judgeDistance !== undefined && jpeg.judgeDistance !== undefined;
  return int8.ssim >= INT8_QUALITY_THRESHOLD.minSsim && int8.meanAbsDiff <= jpeg.meanAbsDiff && (!judged || (int8.judgeDistance as number) <= (jpeg.judgeDistance as number));
}

/** What the service's default encoding (JPEG, INT8_QUALITY_THRESHOLD.jpegQuality) does to `reference`, on each measure. */
export async function encoderCost(reference: RgbImage, judge?: FeatureExtractor): Promise<QualityCost> {
  const { width, height } = reference;
  const bytes = Uint8Array.from(reference.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  const jpeg = await sharp(bytes, { raw: { width, height, channels: 3 } }).jpeg({ quality: INT8_QUALITY_THRESHOLD.jpegQuality }).toBuffer();
  const decoded = await sharp(jpeg).raw().toBuffer();
  return qualityCost({ data: Float32Array.from(decoded, (v) => v / 255), width, height }, reference, judge);
}

/** Checks INT8 against FP32 on one photo's outputs. */
export async function checkPhoto(int8: RgbImage, fp32: RgbImage, judge?: FeatureExtractor): Promise<PhotoCheck> {
  return { int8: qualityCost(int8, fp32, judge), jpeg: await encoderCost(fp32, judge) };
}

/** The worst INT8 measures over the checked photos, and how close they came to the encoder's. */
export function summarizeChecks(checks: PhotoCheck[]): Record<string, number> & { passed: number } {
  const worst = worstCost(checks.map((c) => c.int8));
  const ratio = (pick: (c: QualityCost) => number | undefined) =>
    Math.max(...checks.map((c) => (pick(c.int8) ?? 0) / Math.max(pick(c.jpeg) ?? 0, 1e-9)));
  return {
    checkPhotos: checks.length,
    passed: checks.filter(withinThreshold).length,
    worstMeanAbsDiff: round(worst.meanAbsDiff, 3),
    worstSsim: round(worst.ssim, 5),
    worstMeanAbsDiffVsJpeg: round(ratio((c) => c.meanAbsDiff), 3),
    ...(worst.judgeDistance !== undefined
      ? { worstJudgeDistance: round(worst.judgeDistance, 5), worstJudgeDistanceVsJpeg: round(ratio((c) => c.judgeDistance), 3) }
      : {}),
  };
}

/** Mean absolute difference of two 0..1 images in 0..255 steps, as the encoder would round them. */
export function meanAbsDiff(a: RgbImage, b: RgbImage): number {
  const byte = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(byte(a.data[i] as number) - byte(b.data[i] as number));
  return sum / a.data.length;
}

/** The cost of painting `candidate` where `reference` was painted, on each measure. */
export function qualityCost(candidate: RgbImage, reference: RgbImage, judge?: FeatureExtractor): QualityCost {
  return {
    meanAbsDiff: meanAbsDiff(candidate, reference),
    ssim: contentStructure(candidate, reference),
    ...(judge ? { judgeDistance: styleDistance(judge, candidate, reference) } : {}),
  };
}

/** The worst of several costs, measure by measure. */
export function worstCost(costs: QualityCost[]): QualityCost {
  const judged = costs.flatMap((c) => (c.judgeDistance === undefined ? [] : [c.judgeDistance]));
  return {
    meanAbsDiff: Math.max(...costs.map((c) => c.meanAbsDiff)),
    ssim: Math.min(...costs.map((c) => c.ssim)),
    ...(judged.length > 0 ? { judgeDistance: Math.max(...judged) } : {}),
  };
}

/**
 * One ONNX Runtime session that paints whole images as StyleService would (the cell seed fed
 * where the model reads one). Not StyleService's StyleModel: the trainer does not depend on
 * StyleService, and the export gate needs no worker threads.
 */
export async function modelRunner(model: Uint8Array, threads: number): Promise<{ run(image: RgbImage): Promise<RgbImage>; release(): Promise<void> }> {
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  });
  const seedCell = seedCellOf(model);
  return {
    async run(image) {
      const { width, height } = image;
      const plane = width * height;
      const feeds = photoFeeds(image.data, height, width, seedCell);
      const results = await session.run(feeds);
      const out = results[session.outputNames[0] as string]?.data as Float32Array;
      const data = new Float32Array(plane * 3);
      for (let p = 0, i = 0; p < plane; p++, i += 3) {
        data[i] = out[p] as number;
        data[i + 1] = out[plane + p] as number;
        data[i + 2] = out[2 * plane + p] as number;
      }
      for (const tensor of [...Object.values(feeds), ...Object.values(results)]) tensor.dispose();
      return { data, width, height };
    },
    release: () => session.release(),
  };
}

async function loadPhotos(files: string[]): Promise<CalibrationImage[]> {
  const photos: CalibrationImage[] = [];
  for (const file of files) photos.push(await decodeImage(file, MAX_SIDE));
  return photos;
}

/**
 * Derives, measures and describes the INT8 model of `fp32`. Deterministic for the same model
 * and photos (the quality numbers too, up to ORT's float rounding).
 */
export async function deriveInt8(fp32: Uint8Array, options: Int8Options): Promise<Int8Model> {
  const threads = options.threads ?? 2;
  const files = (await listImageFiles(options.photosDir)).sort();
  const calibrationFiles = files.filter((_, i) => i % CALIBRATION_STRIDE === 0);
  const checkFiles = files.filter((_, i) => i % CALIBRATION_STRIDE === CHECK_OFFSET).slice(0, options.checkPhotos ?? 8);
  // A folder of fewer than five photos has no disjoint check set: check on the calibration ones.
  const checked = checkFiles.length > 0 ? checkFiles : calibrationFiles;
  if (calibrationFiles.length === 0) throw new Error(`no photos to calibrate the int8 model on in ${options.photosDir}`);

  const keepFloat = imageConvs(fp32);
  const calibration = await calibrate(fp32, await loadPhotos(calibrationFiles), { keepFloat, p: DEFAULT_PERCENTILE, threads });
  const photoHashes = sha256(new TextEncoder().encode(calibrationFiles.map((f) => f.split('/').at(-1)).join('\n')));
  const model = quantizeQdq(fp32, calibration.percentile, {
    keepFloat,
    channelRanges: calibration.channels,
    metadata: { calibration: `percentile ${DEFAULT_PERCENTILE}`, calibration_photos: String(calibrationFiles.length) },
  });

  const [reference, candidate] = await Promise.all([modelRunner(fp32, threads), modelRunner(model, threads)]);
  const checks: PhotoCheck[] = [];
  try {
    for (const photo of await loadPhotos(checked)) {
      const image = { data: photo.pixels, width: photo.width, height: photo.height };
      checks.push(await checkPhoto(await candidate.run(image), await reference.run(image), options.judge));
    }
  } finally {
    await Promise.all([reference.release(), candidate.release()]);
  }
  const quality = summarizeChecks(checks);
  return {
    model,
    info: {
      quantizerVersion: QUANTIZER_VERSION,
      calibration: {
        method: 'percentile',
        percentile: DEFAULT_PERCENTILE,
        photos: calibrationFiles.length,
        photoNamesSha256: photoHashes,
        floatConvs: keepFloat,
        channelGains: true,
      },
      quality: { ...quality, jpegQuality: INT8_QUALITY_THRESHOLD.jpegQuality, minSsim: INT8_QUALITY_THRESHOLD.minSsim },
      passed: quality.passed === checks.length,
    },
  };
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));
