/**
 * Which precision serves a version. Each version has an FP32 model and may have an INT8 one
 * (quantized at export, runtime/src/registry/precision.ts); the version names its own default
 * (INT8 only when the quantized model's measured quality cost passed the threshold), and
 * NST_SERVE_PRECISION can override it for the whole StyleService:
 *
 *   auto  each version's own default (the documented default setting)
 *   fp32  always the FP32 model
 *   int8  the INT8 model wherever a version has one, whatever its measured cost
 *
 * A version without the chosen model is served in FP32.
 */
import type { Precision } from '@nst/runtime';

export const SERVE_PRECISION_SETTINGS = ['auto', 'fp32', 'int8'] as const;
export type ServePrecisionSetting = (typeof SERVE_PRECISION_SETTINGS)[number];

/** What a catalogue knows about a version's models. */
export interface VersionPrecisions {
  /** Precisions the version has models for (always includes fp32). */
  available: readonly Precision[];
  /** The version's own default. */
  serve: Precision;
}

export function choosePrecision(version: VersionPrecisions, setting: ServePrecisionSetting): Precision {
  const wanted = setting === 'auto' ? version.serve : setting;
  return version.available.includes(wanted) ? wanted : 'fp32';
}
