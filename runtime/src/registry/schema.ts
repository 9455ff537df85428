/**
 * What the registry stores, as zod schemas: style ids, version numbers, style.json and
 * metadata.json. Ids name folders, so they are validated before any path is built from them.
 */
import { z } from 'zod';
import { RegistryValidationError } from './errors';
import { DerivedModelsSchema, PrecisionSchema } from './precision';

export const STYLE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,47}$/;
/** Decimal version numbers without leading zeros, as folder names and wire ids. */
export const VERSION_PATTERN = /^[1-9][0-9]{0,8}$/;

export const StyleIdSchema = z.string().regex(STYLE_ID_PATTERN, 'style ids are 1-48 of a-z, 0-9 and -, starting with a letter or digit');
export const VersionNumberSchema = z.number().int().min(1).max(999_999_999);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');

export const StyleManifestSchema = z.object({
  id: StyleIdSchema,
  displayName: z.string().min(1).max(120),
  description: z.string().max(2000),
  /** Where the style image comes from (artist, work, source). */
  origin: z.string().max(2000),
  licence: z.string().max(200),
  createdAt: z.iso.datetime({ offset: true }),
});
export type StyleManifest = z.infer<typeof StyleManifestSchema>;

export const VERSION_ORIGINS = ['starter', 'train', 'finetune'] as const;
export type VersionOrigin = (typeof VERSION_ORIGINS)[number];

export const VersionMetadataSchema = z.object({
  style: StyleIdSchema,
  version: VersionNumberSchema,
  /** The version this one was fine-tuned from; null when trained from scratch. */
  parentVersion: VersionNumberSchema.nullable(),
  createdAt: z.iso.datetime({ offset: true }),
  /** Version of the code that exported the ONNX model. */
  exporterVersion: z.string().min(1),
  /** The network's configuration (opaque here: the trainer's to interpret). */
  network: z.record(z.string(), z.unknown()),
  hyperparameters: z.record(z.string(), z.unknown()),
  /** Hashes of the training data; extra fields (counts, lists) are kept. */
  dataHashes: z.looseObject({ styleImage: z.string().min(1), photos: z.string().min(1) }),
  losses: z.record(z.string(), z.number()),
  metrics: z.record(z.string(), z.number()).optional(),
  sha256: z.object({ model: sha256Hex, weights: sha256Hex }),
  origin: z.enum(VERSION_ORIGINS),
  jobId: z.string().min(1).optional(),
  /** Why the version was made (for example the feedback that triggered a fine-tune). */
  reason: z.string().optional(),
  /** Models derived from model.onnx at lower precision, each a file beside it (precision.ts). */
  derivedModels: DerivedModelsSchema.optional(),
  /** The precision the version is served at by default; FP32 when absent. */
  servePrecision: PrecisionSchema.optional(),
});
export type VersionMetadata = z.infer<typeof VersionMetadataSchema>;

/**
 * What a caller supplies to registerVersion: the registry fills style, version, createdAt,
 * sha256, and derivedModels from the derived models given beside the metadata.
 */
export const NewVersionMetadataSchema = VersionMetadataSchema.omit({ style: true, version: true, createdAt: true, sha256: true, derivedModels: true }).strict();
export type NewVersionMetadata = z.input<typeof NewVersionMetadataSchema>;

/** A style id, checked; throws RegistryValidationError for anything that could leave its folder. */
export function checkStyleId(id: unknown): string {
  if (typeof id !== 'string' || !STYLE_ID_PATTERN.test(id)) {
    throw new RegistryValidationError(
      `invalid style id ${JSON.stringify(id)}: use 1-48 characters of a-z, 0-9 and '-', starting with a letter or digit`,
    );
  }
  return id;
}

/** A version number from a number or its decimal string (the wire form); throws RegistryValidationError. */
export function checkVersion(version: unknown): number {
  if (typeof version === 'number' && VersionNumberSchema.safeParse(version).success) return version;
  if (typeof version === 'string' && VERSION_PATTERN.test(version)) return Number(version);
  throw new RegistryValidationError(`invalid version ${JSON.stringify(version)}: versions are whole numbers from 1`);
}

/** zod issues as one readable line. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}
