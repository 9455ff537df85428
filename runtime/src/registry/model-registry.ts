/**
 * The model registry: styles, each with immutable numbered versions, in plain folders:
 *
 *   <root>/<style>/style.json, style.jpg, thumbnail.jpg (optional)
 *   <root>/<style>/versions/<n>/model.onnx, weights.bin, metadata.json,
 *                               model.int8.onnx (optional: a model derived at lower precision, precision.ts)
 *
 * A version appears by one rename of a complete, fsync'd temporary folder, so readers (in this
 * process or another) see all of it or none of it. Numbers are assigned under a per-style lock in
 * the process and, across processes, by rename failing when the number is taken. Every version is
 * checked against the sha256 in its metadata before it is listed or read: a damaged version is
 * reported as corrupt and never served.
 */
import { randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KeyedSerializer, errorCode, fsyncDir, fsyncTree, isProcessAlive, sha256, sha256File, writeFileDurable } from '../durable-fs';
import { RegistryConflictError, RegistryCorruptError, RegistryError, RegistryNotFoundError, RegistryValidationError } from './errors';
import {
  NewVersionMetadataSchema,
  StyleManifestSchema,
  VERSION_PATTERN,
  VersionMetadataSchema,
  checkStyleId,
  checkVersion,
  describeIssues,
  type NewVersionMetadata,
  type StyleManifest,
  type VersionMetadata,
} from './schema';
import { DERIVED_PRECISIONS, DerivedModelInfoSchema, modelFileOf, type DerivedModel, type DerivedPrecision, type NewDerivedModel, type Precision } from './precision';

export const STYLE_FILE = 'style.json';
export const STYLE_IMAGE_FILE = 'style.jpg';
export const THUMBNAIL_FILE = 'thumbnail.jpg';
export const VERSIONS_DIR = 'versions';
export const MODEL_FILE = 'model.onnx';
export const WEIGHTS_FILE = 'weights.bin';
export const METADATA_FILE = 'metadata.json';
/** Temporary folders start with this, then the writer's pid: `.tmp-<pid>-<random>`. */
export const TEMP_PREFIX = '.tmp-';

const READ_ONLY = 0o444;

/** A style as listed: its manifest, whether it has a thumbnail, and its intact versions. */
export interface StyleRecord extends StyleManifest {
  hasThumbnail: boolean;
  /** Intact version numbers, ascending (corrupt ones are left out). */
  versions: number[];
}

/** One intact version: its metadata and where its files lie. */
export interface VersionRecord {
  style: string;
  version: number;
  metadata: VersionMetadata;
  paths: { dir: string; model: string; weights: string; metadata: string; derived: Partial<Record<DerivedPrecision, string>> };
}

/** A version that failed verification, and why. */
export interface CorruptVersion {
  style: string;
  version: number;
  reason: string;
}

export interface NewStyle {
  id: string;
  displayName: string;
  description: string;
  origin: string;
  licence: string;
  /** The style image (the painting), JPEG. */
  styleImage: Uint8Array;
  /** A small preview for the gallery, JPEG. */
  thumbnail?: Uint8Array;
}

export interface NewVersion {
  /** The ONNX model StyleService runs. */
  model: Uint8Array;
  /** Serialized TF.js weights (opaque here), what fine-tunes start from. */
  weights: Uint8Array;
  /** Everything but style, version, createdAt and sha256, which the registry fills in. */
  metadata: NewVersionMetadata;
  /** Models derived from `model` at lower precision, stored beside it (precision.ts). */
  derivedModels?: Partial<Record<DerivedPrecision, NewDerivedModel>>;
}

export interface OpenOptions {
  /** A registry folder (the starter set) whose styles are copied in when this one lacks them. */
  seedFrom?: string;
  /** Never writes: no seeding, no clean-up, no registration. */
  readOnly?: boolean;
}

export interface WatchOptions {
  /** How often the folders are polled for versions other processes registered; default 1000 ms. */
  intervalMs?: number;
  /** Called when a poll fails (the watch keeps going). */
  onError?: (error: unknown) => void;
}

export interface RegistryWatch {
  /** Resolves once the starting state is known; rejects if it could not be read. */
  ready: Promise<void>;
  stop(): void;
}

type Listener<T> = (value: T) => void;

// Listeners run after the change is durable; one that throws must not turn a completed
// registration into a failed call, so its error is rethrown on its own, outside the caller.
function notify<T>(listeners: Set<Listener<T>>, value: T): void {
  for (const listener of listeners) {
    try {
      listener(value);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

function subscribe<T>(listeners: Set<Listener<T>>, listener: Listener<T>): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

function tempName(): string {
  return `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Whether a temporary folder's writer is gone (its pid is in the name). */
function isAbandonedTemp(name: string): boolean {
  const pid = Number(/^\.tmp-(\d+)-/.exec(name)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  return pid !== process.pid && !isProcessAlive(pid);
}

function isTaken(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'EEXIST' || code === 'ENOTEMPTY';
}

/**
 * File identity and size: a version's files are immutable, so a changed stamp means damage.
 * `optional` files (derived models) stamp as absent when missing; the required ones throw.
 */
async function stampOf(paths: string[], optional: string[] = []): Promise<string> {
  const stats = await Promise.all(paths.map((path) => stat(path)));
  const optionalStats = await Promise.all(
    optional.map((path) =>
      stat(path).catch((error: unknown) => {
        if (errorCode(error) === 'ENOENT') return undefined;
        throw error;
      }),
    ),
  );
  return [...stats, ...optionalStats].map((s) => (s ? `${s.ino}:${s.size}:${s.mtimeMs}` : '-')).join('|');
}

/** Where a version folder's derived models would lie. */
const derivedPaths = (dir: string): string[] => DERIVED_PRECISIONS.map((p) => join(dir, modelFileOf(p)));

type Checked = { ok: true; record: VersionRecord } | { ok: false; corrupt: CorruptVersion };

// Per style folder, across every registry instance in this process.
const registrations = new KeyedSerializer();

export class ModelRegistry {
  private readonly verified = new Map<string, { stamp: string; check: Promise<Checked> }>();
  private readonly versionListeners = new Set<Listener<VersionRecord>>();
  private readonly styleListeners = new Set<Listener<StyleRecord>>();
  private readonly corruptListeners = new Set<Listener<CorruptVersion>>();
  /** Versions already announced (registered here or seen by watch), as `style/n`. */
  private readonly announced = new Set<string>();
  private readonly reportedCorrupt = new Set<string>();

  private constructor(
    readonly root: string,
    readonly readOnly: boolean,
  ) {}

  /**
   * Opens the registry at `root` (created if missing), removes temporary folders left by
   * writers that died, and copies in every style of `seedFrom` that `root` lacks.
   */
  static async open(root: string, options: OpenOptions = {}): Promise<ModelRegistry> {
    const registry = new ModelRegistry(resolve(root), options.readOnly ?? false);
    if (registry.readOnly) {
      if (!(await exists(registry.root))) throw new RegistryError(`registry folder ${registry.root} does not exist`);
      return registry;
    }
    await mkdir(registry.root, { recursive: true });
    await registry.removeAbandonedTemps();
    if (options.seedFrom) await registry.seed(resolve(options.seedFrom));
    return registry;
  }

  // ---- paths ----

  styleDir(style: string): string {
    return join(this.root, checkStyleId(style));
  }

  styleImagePath(style: string): string {
    return join(this.styleDir(style), STYLE_IMAGE_FILE);
  }

  thumbnailPath(style: string): string {
    return join(this.styleDir(style), THUMBNAIL_FILE);
  }

  versionDir(style: string, version: number | string): string {
    return join(this.styleDir(style), VERSIONS_DIR, String(checkVersion(version)));
  }

  // ---- styles ----

  /** Every style with a readable style.json, ordered by id. */
  async listStyles(): Promise<StyleRecord[]> {
    const styles: StyleRecord[] = [];
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !/^[a-z0-9][a-z0-9-]{0,47}$/.test(entry.name)) continue;
      try {
        styles.push(await this.getStyle(entry.name));
      } catch (error) {
        // A folder without a valid style.json is not a style; it is skipped, not fatal.
        if (!(error instanceof RegistryError)) throw error;
      }
    }
    return styles.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** One style; RegistryNotFoundError when unknown. */
  async getStyle(style: string): Promise<StyleRecord> {
    const manifest = await this.readManifest(style);
    return {
      ...manifest,
      hasThumbnail: await exists(this.thumbnailPath(style)),
      versions: (await this.listVersions(style)).map((v) => v.version),
    };
  }

  async hasStyle(style: string): Promise<boolean> {
    return exists(join(this.styleDir(style), STYLE_FILE));
  }

  async readStyleImage(style: string): Promise<Uint8Array> {
    await this.readManifest(style);
    return readFile(this.styleImagePath(style));
  }

  /** The thumbnail, or undefined when the style has none. */
  async readThumbnail(style: string): Promise<Uint8Array | undefined> {
    await this.readManifest(style);
    try {
      return await readFile(this.thumbnailPath(style));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Creates a style with no versions yet; RegistryConflictError when the id is taken. */
  async createStyle(input: NewStyle): Promise<StyleRecord> {
    this.requireWritable();
    const id = checkStyleId(input.id);
    const parsed = StyleManifestSchema.safeParse({
      id,
      displayName: input.displayName,
      description: input.description,
      origin: input.origin,
      licence: input.licence,
      createdAt: new Date().toISOString(),
    });
    if (!parsed.success) throw new RegistryValidationError(`invalid style ${id}: ${describeIssues(parsed.error)}`);
    if (!(input.styleImage instanceof Uint8Array) || input.styleImage.length === 0) {
      throw new RegistryValidationError(`style ${id} needs a style image`);
    }
    const target = join(this.root, id);
    if (await exists(target)) throw new RegistryConflictError(`style ${id} already exists`);
    const temp = join(this.root, tempName());
    await mkdir(join(temp, VERSIONS_DIR), { recursive: true });
    try {
      await writeFileDurable(join(temp, STYLE_FILE), JSON.stringify(parsed.data, null, 2) + '\n');
      await writeFileDurable(join(temp, STYLE_IMAGE_FILE), input.styleImage);
      if (input.thumbnail && input.thumbnail.length > 0) await writeFileDurable(join(temp, THUMBNAIL_FILE), input.thumbnail);
      await fsyncDir(join(temp, VERSIONS_DIR));
      await fsyncDir(temp);
      try {
        await rename(temp, target);
      } catch (error) {
        if (isTaken(error)) throw new RegistryConflictError(`style ${id} already exists`);
        throw error;
      }
      await fsyncDir(this.root);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
    const record = await this.getStyle(id);
    notify(this.styleListeners, record);
    return record;
  }

  // ---- versions ----

  /** The style's intact versions, oldest first; RegistryNotFoundError for an unknown style. */
  async listVersions(style: string): Promise<VersionRecord[]> {
    return (await this.checkVersions(style)).intact;
  }

  /** Every version of the style, verified: the intact ones and the corrupt ones with reasons. */
  async checkVersions(style: string): Promise<{ intact: VersionRecord[]; corrupt: CorruptVersion[] }> {
    await this.readManifest(style);
    const intact: VersionRecord[] = [];
    const corrupt: CorruptVersion[] = [];
    for (const version of await this.versionNumbers(style)) {
      const checked = await this.check(style, version);
      if (checked.ok) intact.push(checked.record);
      else corrupt.push(checked.corrupt);
    }
    return { intact, corrupt };
  }

  /**
   * One version, verified. RegistryNotFoundError when the style or version does not exist,
   * RegistryCorruptError when its files do not match its metadata.
   */
  async getVersion(style: string, version: number | string): Promise<VersionRecord> {
    const n = checkVersion(version);
    await this.readManifest(style);
    const checked = await this.check(style, n);
    if (checked.ok) return checked.record;
    if (checked.corrupt.reason === 'missing') {
      throw new RegistryNotFoundError(`style ${style} has no version ${n}`, style, n);
    }
    throw new RegistryCorruptError(`style ${style} version ${n} is corrupt: ${checked.corrupt.reason}`, style, n);
  }

  /** The newest intact version; RegistryNotFoundError when the style has none. */
  async latestVersion(style: string): Promise<VersionRecord> {
    const versions = await this.listVersions(style);
    const latest = versions.at(-1);
    if (!latest) throw new RegistryNotFoundError(`style ${style} has no versions`, style);
    return latest;
  }

  /**
   * The ONNX model bytes at `precision` (FP32 by default), checked against the metadata's
   * sha256 as they are read; RegistryNotFoundError when the version has no model at that precision.
   */
  async readModel(style: string, version: number | string, precision: Precision = 'fp32'): Promise<Uint8Array> {
    return this.readVerified(style, version, precision === 'fp32' ? 'model' : precision);
  }

  /** The serialized weights, checked against the metadata's sha256 as they are read. */
  async readWeights(style: string, version: number | string): Promise<Uint8Array> {
    return this.readVerified(style, version, 'weights');
  }

  /**
   * Registers a new version of `style`: assigns the next number, writes the files into a
   * temporary folder, fsyncs them, and renames the folder into place. Resolves once the version
   * is durable and visible.
   */
  async registerVersion(style: string, input: NewVersion): Promise<VersionRecord> {
    this.requireWritable();
    checkStyleId(style);
    const parsed = NewVersionMetadataSchema.safeParse(input.metadata);
    if (!parsed.success) throw new RegistryValidationError(`invalid metadata for style ${style}: ${describeIssues(parsed.error)}`);
    for (const [name, bytes] of [['model', input.model], ['weights', input.weights]] as const) {
      if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new RegistryValidationError(`a version needs ${name} bytes`);
    }
    const derived = checkDerived(input.derivedModels ?? {});
    const serve = parsed.data.servePrecision;
    if (serve !== undefined && serve !== 'fp32' && !derived.some(([p]) => p === serve)) {
      throw new RegistryValidationError(`servePrecision is ${serve} but the version has no ${serve} model`);
    }
    await this.readManifest(style);
    const parent = parsed.data.parentVersion;
    if (parent !== null) {
      try {
        await this.getVersion(style, parent);
      } catch (error) {
        if (error instanceof RegistryNotFoundError || error instanceof RegistryCorruptError) {
          throw new RegistryValidationError(`parent version ${parent} of style ${style} is not an intact version`);
        }
        throw error;
      }
    }
    const shas = { model: sha256(input.model), weights: sha256(input.weights) };
    const styleDir = this.styleDir(style);
    const versionsDir = join(styleDir, VERSIONS_DIR);
    return registrations.run(styleDir, async () => {
      await mkdir(versionsDir, { recursive: true });
      const temp = join(styleDir, tempName());
      await mkdir(temp);
      try {
        await writeFileDurable(join(temp, MODEL_FILE), input.model, READ_ONLY);
        await writeFileDurable(join(temp, WEIGHTS_FILE), input.weights, READ_ONLY);
        const derivedModels: Partial<Record<DerivedPrecision, DerivedModel>> = {};
        for (const [precision, { model, ...info }] of derived) {
          await writeFileDurable(join(temp, modelFileOf(precision)), model, READ_ONLY);
          derivedModels[precision] = { ...info, sha256: sha256(model), sizeBytes: model.length };
        }
        const createdAt = new Date().toISOString();
        for (let attempt = 0; ; attempt++) {
          // Re-listed on every attempt: a number taken by another process shows up here.
          const next = ((await this.versionNumbers(style)).at(-1) ?? 0) + 1;
          const metadata: VersionMetadata = {
            style,
            version: next,
            createdAt,
            ...parsed.data,
            sha256: shas,
            ...(derived.length > 0 ? { derivedModels } : {}),
          };
          const metadataPath = join(temp, METADATA_FILE);
          await rm(metadataPath, { force: true });
          await writeFileDurable(metadataPath, JSON.stringify(metadata, null, 2) + '\n', READ_ONLY);
          await fsyncDir(temp);
          const target = join(versionsDir, String(next));
          try {
            // Atomic: the folder appears whole or not at all. Fails if another process took `next`.
            await rename(temp, target);
          } catch (error) {
            if (isTaken(error) && attempt < 100) continue;
            throw error;
          }
          await fsyncDir(versionsDir);
          await fsyncDir(styleDir);
          const record = this.recordOf(style, metadata);
          this.verified.set(`${style}/${next}`, {
            stamp: await stampOf([record.paths.metadata, record.paths.model, record.paths.weights], derivedPaths(record.paths.dir)),
            check: Promise.resolve({ ok: true, record }),
          });
          this.announced.add(`${style}/${next}`);
          notify(this.versionListeners, record);
          return record;
        }
      } catch (error) {
        await rm(temp, { recursive: true, force: true });
        throw error;
      }
    });
  }

  // ---- events ----

  /** Called after a version is registered by this registry, or found by watch(); returns unsubscribe. */
  onVersionRegistered(listener: Listener<VersionRecord>): () => void {
    return subscribe(this.versionListeners, listener);
  }

  /** Called after a style is created here, or found by watch(). */
  onStyleCreated(listener: Listener<StyleRecord>): () => void {
    return subscribe(this.styleListeners, listener);
  }

  /** Called once per damaged version found while listing, reading or watching. */
  onCorruptVersion(listener: Listener<CorruptVersion>): () => void {
    return subscribe(this.corruptListeners, listener);
  }

  /**
   * Polls the folders for styles and versions written by other processes and announces them
   * through onStyleCreated / onVersionRegistered (each once). What exists when the watch starts
   * (by the time `ready` resolves) is not announced. `stop()` ends the watch.
   */
  watch(options: WatchOptions = {}): RegistryWatch {
    const intervalMs = options.intervalMs ?? 1000;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const knownStyles = new Set<string>();
    const poll = async (announce: boolean) => {
      for (const style of await this.listStyles()) {
        if (!knownStyles.has(style.id)) {
          knownStyles.add(style.id);
          if (announce) notify(this.styleListeners, style);
        }
        for (const version of await this.listVersions(style.id)) {
          const key = `${style.id}/${version.version}`;
          if (this.announced.has(key)) continue;
          this.announced.add(key);
          if (announce) notify(this.versionListeners, version);
        }
      }
    };
    const schedule = () => {
      if (stopped) return;
      timer = setTimeout(() => {
        poll(true)
          .catch((error: unknown) => options.onError?.(error))
          .finally(schedule);
      }, intervalMs);
      timer.unref();
    };
    const ready = poll(false).finally(schedule);
    return {
      ready,
      stop: () => {
        stopped = true;
        if (timer) clearTimeout(timer);
      },
    };
  }

  // ---- internals ----

  private requireWritable(): void {
    if (this.readOnly) throw new RegistryError(`registry ${this.root} is open read-only`);
  }

  private async readManifest(style: string): Promise<StyleManifest> {
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
  private async versionNumbers(style: string): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(join(this.styleDir(style), VERSIONS_DIR));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
    return names
      .filter((name) => VERSION_PATTERN.test(name))
      .map(Number)
      .sort((a, b) => a - b);
  }

  private recordOf(style: string, metadata: VersionMetadata): VersionRecord {
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

  /** Verifies a version, reusing an earlier verdict while its files are unchanged. */
  private async check(style: string, version: number): Promise<Checked> {
    const dir = this.versionDir(style, version);
    const files = [join(dir, METADATA_FILE), join(dir, MODEL_FILE), join(dir, WEIGHTS_FILE)];
    let stamp: string;
    try {
      stamp = await stampOf(files, derivedPaths(dir));
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      const dirExists = await exists(dir);
      return this.reportCorrupt({ style, version, reason: dirExists ? 'missing files' : 'missing' });
    }
    const key = `${style}/${version}`;
    const cached = this.verified.get(key);
    if (cached && cached.stamp === stamp) return cached.check;
    const check = this.verify(style, version, files).then(
      (checked) => (checked.ok ? checked : this.reportCorrupt(checked.corrupt)),
      (error: unknown) => {
        // An I/O failure is not a verdict: the next call tries again.
        this.verified.delete(key);
        throw error;
      },
    );
    this.verified.set(key, { stamp, check });
    return check;
  }

  private async verify(style: string, version: number, [metadataPath, modelPath, weightsPath]: string[]): Promise<Checked> {
    const corrupt = (reason: string): Checked => ({ ok: false, corrupt: { style, version, reason } });
    let json: unknown;
    try {
      json = JSON.parse(await readFile(metadataPath as string, 'utf8'));
    } catch {
      return corrupt('metadata.json is not JSON');
    }
    const parsed = VersionMetadataSchema.safeParse(json);
    if (!parsed.success) return corrupt(`metadata.json: ${describeIssues(parsed.error)}`);
    const metadata = parsed.data;
    if (metadata.style !== style || metadata.version !== version) {
      return corrupt(`metadata.json names ${metadata.style} version ${metadata.version}`);
    }
    if ((await sha256File(modelPath as string)) !== metadata.sha256.model) return corrupt('model.onnx does not match its sha256');
    if ((await sha256File(weightsPath as string)) !== metadata.sha256.weights) return corrupt('weights.bin does not match its sha256');
    const record = this.recordOf(style, metadata);
    for (const precision of DERIVED_PRECISIONS) {
      const path = record.paths.derived[precision];
      const expected = metadata.derivedModels?.[precision]?.sha256;
      if (!path || !expected) continue;
      const file = modelFileOf(precision);
      const actual = await sha256File(path).catch((error: unknown) => {
        if (errorCode(error) === 'ENOENT') return 'missing';
        throw error;
      });
      if (actual === 'missing') return corrupt(`${file} is missing`);
      if (actual !== expected) return corrupt(`${file} does not match its sha256`);
    }
    return { ok: true, record };
  }

  private reportCorrupt(corrupt: CorruptVersion): Checked {
    const key = `${corrupt.style}/${corrupt.version}:${corrupt.reason}`;
    if (corrupt.reason !== 'missing' && !this.reportedCorrupt.has(key)) {
      this.reportedCorrupt.add(key);
      notify(this.corruptListeners, corrupt);
    }
    return { ok: false, corrupt };
  }

  private async readVerified(style: string, version: number | string, file: 'model' | 'weights' | DerivedPrecision): Promise<Uint8Array> {
    const record = await this.getVersion(style, version);
    const derived = file === 'model' || file === 'weights' ? undefined : file;
    const path = derived ? record.paths.derived[derived] : record.paths[file as 'model' | 'weights'];
    const expected = derived ? record.metadata.derivedModels?.[derived]?.sha256 : record.metadata.sha256[file as 'model' | 'weights'];
    if (!path || !expected) {
      throw new RegistryNotFoundError(`style ${style} version ${record.version} has no ${file} model`, style, record.version);
    }
    const bytes = await readFile(path);
    // Hash what is served, not only what was checked earlier: the bytes could change between.
    if (sha256(bytes) !== expected) {
      this.verified.delete(`${style}/${record.version}`);
      const name = derived ? modelFileOf(derived) : file === 'model' ? MODEL_FILE : WEIGHTS_FILE;
      const corrupt = { style, version: record.version, reason: `${name} does not match its sha256` };
      this.reportCorrupt(corrupt);
      throw new RegistryCorruptError(`style ${style} version ${record.version} is corrupt: ${corrupt.reason}`, style, record.version);
    }
    return bytes;
  }

  /** Removes temporary folders whose writer process is gone (a crash mid-write). */
  private async removeAbandonedTemps(): Promise<void> {
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

  /**
   * Copies each style of `seedDir` that this registry lacks, whole, by one rename; for a style it
   * has, registers the seed's versions it lacks (a retrained starter) as new versions.
   */
  private async seed(seedDir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(seedDir, { withFileTypes: true });
    } catch (error) {
      if (errorCode(error) === 'ENOENT') throw new RegistryError(`seed folder ${seedDir} does not exist`);
      throw error;
    }
    for (const entry of entries) {
      if (!entry.isDirectory() || !/^[a-z0-9][a-z0-9-]{0,47}$/.test(entry.name)) continue;
      const source = join(seedDir, entry.name);
      if (!(await exists(join(source, STYLE_FILE)))) continue;
      const target = join(this.root, entry.name);
      if (await exists(target)) {
        await this.seedVersions(source, entry.name);
        continue;
      }
      const temp = join(this.root, tempName());
      try {
        await cp(source, temp, { recursive: true, filter: (path) => !path.slice(source.length).includes(`/${TEMP_PREFIX}`) });
        await mkdir(join(temp, VERSIONS_DIR), { recursive: true });
        for (const version of await readdir(join(temp, VERSIONS_DIR))) {
          for (const file of [MODEL_FILE, WEIGHTS_FILE, METADATA_FILE, ...DERIVED_PRECISIONS.map(modelFileOf)]) {
            await chmod(join(temp, VERSIONS_DIR, version, file), READ_ONLY).catch((error: unknown) => {
              if (errorCode(error) !== 'ENOENT') throw error;
            });
          }
        }
        await fsyncTree(temp);
        await rename(temp, target);
        await fsyncDir(this.root);
      } catch (error) {
        await rm(temp, { recursive: true, force: true });
        // Another process seeding the same folder got there first: its copy is as good.
        if (isTaken(error)) continue;
        throw error;
      }
    }
  }

  /**
   * Registers each version of the seed's `style` whose model this registry does not hold yet,
   * oldest first, under this registry's next numbers (a data folder's own fine-tunes may have
   * taken the seed's). A new starter version thus arrives like any other registration, and the
   * release controller canaries it. A marker per model, created exclusively, keeps processes
   * seeding the same folder from registering it twice.
   */
  private async seedVersions(seedStyleDir: string, style: string): Promise<void> {
    const seedVersionsDir = join(seedStyleDir, VERSIONS_DIR);
    let names: string[];
    try {
      names = (await readdir(seedVersionsDir)).filter((name) => VERSION_PATTERN.test(name));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw error;
    }
    const seeded = await Promise.all(
      names
        .sort((a, b) => Number(a) - Number(b))
        .map(async (name) => VersionMetadataSchema.parse(JSON.parse(await readFile(join(seedVersionsDir, name, METADATA_FILE), 'utf8')))),
    );
    const seedModelOf = new Map(seeded.map((v) => [v.version, v.sha256.model]));
    const held = new Map((await this.listVersions(style)).map((v) => [v.metadata.sha256.model, v.version]));
    for (const metadata of seeded) {
      if (held.has(metadata.sha256.model)) continue;
      try {
        await writeFile(join(this.styleDir(style), `.seeded-${metadata.sha256.model}`), `${metadata.version}\n`, { flag: 'wx' });
      } catch (error) {
        if (errorCode(error) === 'EEXIST') continue; // another process registers (or registered) it
        throw error;
      }
      const { style: _style, version, createdAt: _createdAt, sha256: _sha256, parentVersion, derivedModels: seedDerived, ...rest } = metadata;
      // The seed's parent number means nothing here; the same model's number here does.
      const parentModel = parentVersion === null ? undefined : seedModelOf.get(parentVersion);
      const dir = join(seedVersionsDir, String(version));
      const derivedModels: Partial<Record<DerivedPrecision, NewDerivedModel>> = {};
      for (const precision of DERIVED_PRECISIONS) {
        const seedModel = seedDerived?.[precision];
        if (!seedModel) continue;
        const { sha256: _derivedSha, sizeBytes: _size, ...info } = seedModel;
        derivedModels[precision] = { ...info, model: new Uint8Array(await readFile(join(dir, modelFileOf(precision)))) };
      }
      const record = await this.registerVersion(style, {
        model: new Uint8Array(await readFile(join(dir, MODEL_FILE))),
        weights: new Uint8Array(await readFile(join(dir, WEIGHTS_FILE))),
        metadata: { ...rest, parentVersion: (parentModel === undefined ? undefined : held.get(parentModel)) ?? null },
        derivedModels,
      });
      held.set(metadata.sha256.model, record.version);
    }
  }
}

/** Derived models given to registerVersion, checked: [precision, model] pairs in DERIVED_PRECISIONS order. */
function checkDerived(given: Partial<Record<string, NewDerivedModel>>): [DerivedPrecision, NewDerivedModel][] {
  const known = new Set<string>(DERIVED_PRECISIONS);
  const unknown = Object.keys(given).filter((p) => !known.has(p));
  if (unknown.length > 0) throw new RegistryValidationError(`unknown derived model precision ${unknown.join(', ')}; known: ${DERIVED_PRECISIONS.join(', ')}`);
  const checked: [DerivedPrecision, NewDerivedModel][] = [];
  for (const precision of DERIVED_PRECISIONS) {
    const derived = given[precision];
    if (derived === undefined) continue;
    if (!(derived.model instanceof Uint8Array) || derived.model.length === 0) throw new RegistryValidationError(`the ${precision} model has no bytes`);
    const { model: _model, ...info } = derived;
    const parsed = DerivedModelInfoSchema.safeParse(info);
    if (!parsed.success) throw new RegistryValidationError(`invalid ${precision} model: ${describeIssues(parsed.error)}`);
    checked.push([precision, { ...parsed.data, model: derived.model }]);
  }
  return checked;
}
