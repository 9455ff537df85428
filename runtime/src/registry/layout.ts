/**
 * Where the registry's files lie, and reading what the folders say:
 *
 *   <root>/<style>/style.json, style.jpg, thumbnail.jpg (optional)
 *   <root>/<style>/versions/<n>/model.onnx, weights.bin, metadata.json,
 *                               model.int8.onnx (optional: a model derived at lower precision, precision.ts)
 *
 * Writers work in temporary folders named `.tmp-<pid>-<random>` beside their target, so a
 * folder whose writer died can be told from one being written and removed.
 */
import { randomBytes } from 'node:crypto';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode, isProcessAlive } from '../durable-fs';
import { RegistryNotFoundError, RegistryValidationError } from './errors';
import { DERIVED_PRECISIONS, modelFileOf, type DerivedPrecision } from './precision';
import type { VersionRecord } from './records';
import { StyleManifestSchema, VERSION_PATTERN, checkStyleId, checkVersion, describeIssues, type StyleManifest, type VersionMetadata } from './schema';

export const STYLE_FILE = 'style.json';
export const STYLE_IMAGE_FILE = 'style.jpg';
export const THUMBNAIL_FILE = 'thumbnail.jpg';
export const VERSIONS_DIR = 'versions';
export const MODEL_FILE = 'model.onnx';
export const WEIGHTS_FILE = 'weights.bin';
export const METADATA_FILE = 'metadata.json';
/** Temporary folders start with this, then the writer's pid: `.tmp-<pid>-<random>`. */
export const TEMP_PREFIX = '.tmp-';
/** A folder that may hold a style (a valid style id). */
export const STYLE_FOLDER = /^[a-z0-9][a-z0-9-]{0,47}$/;
/** Version files are never written again. */
export const READ_ONLY = 0o444;

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** Whether a rename failed because its target was taken (by another writer). */
export function isTaken(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'EEXIST' || code === 'ENOTEMPTY';
}

/** Whether a temporary folder's writer is gone (its pid is in the name). */
function isAbandonedTemp(name: string): boolean {
  const pid = Number(/^\.tmp-(\d+)-/.exec(name)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  return pid !== process.pid && !isProcessAlive(pid);
}

export class RegistryLayout {
  constructor(readonly root: string) {}

  styleDir(style: string): string {
    return join(this.root, checkStyleId(style));
  }

  styleImagePath(style: string): string {
    return join(this.styleDir(style), STYLE_IMAGE_FILE);
  }

  thumbnailPath(style: string): string {
    return join(this.styleDir(style), THUMBNAIL_FILE);
  }

  versionsDir(style: string): string {
    return join(this.styleDir(style), VERSIONS_DIR);
  }

  versionDir(style: string, version: number | string): string {
    return join(this.versionsDir(style), String(checkVersion(version)));
  }

  /** The files of a version, in the order they are verified: metadata, model, weights. */
  versionFiles(style: string, version: number): [string, string, string] {
    const dir = this.versionDir(style, version);
    return [join(dir, METADATA_FILE), join(dir, MODEL_FILE), join(dir, WEIGHTS_FILE)];
  }

  /** Where a version folder's derived models would lie (whether or not it has them). */
  derivedFiles(style: string, version: number): string[] {
    const dir = this.versionDir(style, version);
    return DERIVED_PRECISIONS.map((p) => join(dir, modelFileOf(p)));
  }

  recordOf(style: string, metadata: VersionMetadata): VersionRecord {
    const dir = this.versionDir(style, metadata.version);
    const derived: Partial<Record<DerivedPrecision, string>> = {};
    for (const precision of DERIVED_PRECISIONS) if (metadata.derivedModels?.[precision]) derived[precision] = join(dir, modelFileOf(precision));
    return {
      style,
      version: metadata.version,
      metadata,
      paths: { dir, model: join(dir, MODEL_FILE), weights: join(dir, WEIGHTS_FILE), metadata: join(dir, METADATA_FILE), derived },
    };
  }

  /** A fresh temporary folder's path inside `parent` (not created). */
  tempIn(parent: string): string {
    return join(parent, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** The style's manifest; RegistryNotFoundError when unknown, RegistryValidationError when unreadable. */
  async readManifest(style: string): Promise<StyleManifest> {
    const path = join(this.styleDir(style), STYLE_FILE);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') {
        throw new RegistryNotFoundError(`style ${style} does not exist`, style);
      }
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new RegistryValidationError(`${path} is not JSON`);
    }
    const parsed = StyleManifestSchema.safeParse(json);
    if (!parsed.success) throw new RegistryValidationError(`${path}: ${describeIssues(parsed.error)}`);
    if (parsed.data.id !== style) throw new RegistryValidationError(`${path} names style ${parsed.data.id}, not ${style}`);
    return parsed.data;
  }

  /** Numbered version folders, ascending; temporary folders and stray files are ignored. */
  async versionNumbers(style: string): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.versionsDir(style));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
    return names
      .filter((name) => VERSION_PATTERN.test(name))
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** Removes temporary folders whose writer process is gone (a crash mid-write). */
  async removeAbandonedTemps(): Promise<void> {
    const dirs = [this.root];
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (entry.isDirectory() && !entry.name.startsWith(TEMP_PREFIX)) dirs.push(join(this.root, entry.name));
    }
    for (const dir of dirs) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        if (name.startsWith(TEMP_PREFIX) && isAbandonedTemp(name)) await rm(join(dir, name), { recursive: true, force: true });
      }
    }
  }
}
