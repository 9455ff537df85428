/**
 * Model precisions in the registry. Every version has its FP32 model (model.onnx); it may also
 * carry models derived from it at lower precision (model.int8.onnx), each recorded in the
 * version's metadata with its sha256, size, how it was made and what it costs in quality, and
 * checked like every other file of the version. `servePrecision` is the version's own choice
 * of what to serve (FP32 when absent); StyleService may override it (NST_SERVE_PRECISION).
 */
import { ModelPrecision } from '@nst/proto';
import { z } from 'zod';

/** Precisions a derived model can have (FP32 is the version's own model.onnx). */
export const DERIVED_PRECISIONS = ['int8'] as const;
export type DerivedPrecision = (typeof DERIVED_PRECISIONS)[number];

export const PRECISIONS = ['fp32', ...DERIVED_PRECISIONS] as const;
export type Precision = (typeof PRECISIONS)[number];

export const PrecisionSchema = z.enum(PRECISIONS);

/** The file of a version's model at `precision`. */
export function modelFileOf(precision: Precision): string {
  return precision === 'fp32' ? 'model.onnx' : `model.${precision}.onnx`;
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');

/** What the caller that derived a model says about it (the registry adds sha256 and size). */
export const DerivedModelInfoSchema = z.object({
  /** Version of the code that derived it (the trainer's QUANTIZER_VERSION). */
  quantizerVersion: z.string().min(1),
  /** How it was calibrated: method, photo count, photo hashes... (the trainer's to interpret). */
  calibration: z.record(z.string(), z.unknown()),
  /** Measured cost against the FP32 model's output (mean absolute difference, SSIM, judge distance...). */
  quality: z.record(z.string(), z.number()),
  /** Whether that cost was within the quality threshold when it was measured. */
  passed: z.boolean(),
});
export type DerivedModelInfo = z.infer<typeof DerivedModelInfoSchema>;

export const DerivedModelSchema = DerivedModelInfoSchema.extend({
  sha256: sha256Hex,
  sizeBytes: z.number().int().positive(),
});
export type DerivedModel = z.infer<typeof DerivedModelSchema>;

export const DerivedModelsSchema = z.object({ int8: DerivedModelSchema.optional() }).strict();
export type DerivedModels = z.infer<typeof DerivedModelsSchema>;

/** A derived model as registerVersion takes it: the bytes and what is known about them. */
export interface NewDerivedModel extends DerivedModelInfo {
  model: Uint8Array;
}

/** The precisions a version has models for, FP32 first. */
export function precisionsOf(metadata: { derivedModels?: DerivedModels | undefined }): Precision[] {
  return ['fp32', ...DERIVED_PRECISIONS.filter((p) => metadata.derivedModels?.[p] !== undefined)];
}

const TO_PROTO: Record<Precision, ModelPrecision> = { fp32: ModelPrecision.MODEL_PRECISION_FP32, int8: ModelPrecision.MODEL_PRECISION_INT8 };

/** The wire enum of a precision. */
export function precisionToProto(precision: Precision): ModelPrecision {
  return TO_PROTO[precision];
}

/** A precision from the wire: UNSPECIFIED reads as FP32; undefined for values this code does not know. */
export function precisionFromProto(value: ModelPrecision): Precision | undefined {
  if (value === ModelPrecision.MODEL_PRECISION_UNSPECIFIED) return 'fp32';
  return PRECISIONS.find((p) => TO_PROTO[p] === value);
}
