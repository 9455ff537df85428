/**
 * Writing the registry durably: a new style, or the next version of one. Each is written whole
 * into a temporary folder, every file and the folder fsync'd, then renamed into place in one
 * step, so readers (in this process or another) see all of it or none of it. Version numbers
 * are assigned under a per-style lock in the process and, across processes, by the rename
 * failing when the number is taken (then the next is tried).
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyedSerializer, fsyncDir, sha256, writeFileDurable } from '../durable-fs';
import { RegistryConflictError } from './errors';
import { isTaken, METADATA_FILE, MODEL_FILE, READ_ONLY, STYLE_FILE, STYLE_IMAGE_FILE, THUMBNAIL_FILE, VERSIONS_DIR, WEIGHTS_FILE, type RegistryLayout } from './layout';
import { modelFileOf, type DerivedModel, type DerivedPrecision, type NewDerivedModel } from './precision';
import type { NewStyle } from './records';
import type { NewVersionMetadata, StyleManifest, VersionMetadata } from './schema';

// Per style folder, across every registry instance in this process.
const registrations = new KeyedSerializer();

/** Writes a checked style with no versions; RegistryConflictError when the id is taken. */
export async function writeStyle(layout: RegistryLayout, manifest: StyleManifest, input: Pick<NewStyle, 'styleImage' | 'thumbnail'>): Promise<void> {
  const target = join(layout.root, manifest.id);
  const temp = layout.tempIn(layout.root);
  await mkdir(join(temp, VERSIONS_DIR), { recursive: true });
  try {
    await writeFileDurable(join(temp, STYLE_FILE), JSON.stringify(manifest, null, 2) + '\n');
    await writeFileDurable(join(temp, STYLE_IMAGE_FILE), input.styleImage);
    if (input.thumbnail && input.thumbnail.length > 0) await writeFileDurable(join(temp, THUMBNAIL_FILE), input.thumbnail);
    await fsyncDir(join(temp, VERSIONS_DIR));
    await fsyncDir(temp);
    try {
      await rename(temp, target);
    } catch (error) {
      if (isTaken(error)) throw new RegistryConflictError(`style ${manifest.id} already exists`);
      throw error;
    }
    await fsyncDir(layout.root);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

export interface VersionFiles {
  model: Uint8Array;
  weights: Uint8Array;
  /** Their sha256, recorded in the metadata. */
  sha256: { model: string; weights: string };
  /** Checked models derived at lower precision, in DERIVED_PRECISIONS order. */
  derived: [DerivedPrecision, NewDerivedModel][];
}

/**
 * Writes checked files and metadata as the style's next version and, once it is durable and
 * visible, hands its metadata to `published` while the style is still locked (so what this
 * process announces is in order); resolves with what `published` returns.
 */
export async function writeNextVersion<T>(
  layout: RegistryLayout,
  style: string,
  files: VersionFiles,
  metadata: NewVersionMetadata,
  published: (written: VersionMetadata) => Promise<T>,
): Promise<T> {
  const styleDir = layout.styleDir(style);
  const versionsDir = layout.versionsDir(style);
  return registrations.run(styleDir, async () => {
    await mkdir(versionsDir, { recursive: true });
    const temp = layout.tempIn(styleDir);
    await mkdir(temp);
    try {
      await writeFileDurable(join(temp, MODEL_FILE), files.model, READ_ONLY);
      await writeFileDurable(join(temp, WEIGHTS_FILE), files.weights, READ_ONLY);
      const derivedModels: Partial<Record<DerivedPrecision, DerivedModel>> = {};
      for (const [precision, { model, ...info }] of files.derived) {
        await writeFileDurable(join(temp, modelFileOf(precision)), model, READ_ONLY);
        derivedModels[precision] = { ...info, sha256: sha256(model), sizeBytes: model.length };
      }
      const createdAt = new Date().toISOString();
      for (let attempt = 0; ; attempt++) {
        // Re-listed on every attempt: a number taken by another process shows up here.
        const next = ((await layout.versionNumbers(style)).at(-1) ?? 0) + 1;
        const written: VersionMetadata = {
          style,
          version: next,
          createdAt,
          ...metadata,
          sha256: files.sha256,
          ...(files.derived.length > 0 ? { derivedModels } : {}),
        };
        const metadataPath = join(temp, METADATA_FILE);
        await rm(metadataPath, { force: true });
        await writeFileDurable(metadataPath, JSON.stringify(written, null, 2) + '\n', READ_ONLY);
        await fsyncDir(temp);
        try {
          // Atomic: the folder appears whole or not at all. Fails if another process took `next`.
          await rename(temp, join(versionsDir, String(next)));
        } catch (error) {
          if (isTaken(error) && attempt < 100) continue;
          throw error;
        }
        await fsyncDir(versionsDir);
        await fsyncDir(styleDir);
        return published(written);
      }
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
  });
}
