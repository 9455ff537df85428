/**
 * The model registry: styles, each with immutable numbered versions, in plain folders
 * (layout.ts). ModelRegistry is the one object the services use; its parts are:
 *
 * - layout.ts: where the files lie, reading manifests and version numbers, clean-up of the
 *   temporary folders of writers that died;
 * - writer.ts: new styles and versions, written whole and renamed into place, so readers (in
 *   this process or another) see all of a version or none of it;
 * - verifier.ts: every version checked against the sha256 in its metadata before it is listed
 *   or read; a damaged version is reported as corrupt and never served;
 * - seeding.ts: filling a registry from the starter styles;
 * - registry-watch.ts: following versions other processes register.
 */
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { errorCode, sha256 } from '../durable-fs';
import { RegistryConflictError, RegistryCorruptError, RegistryError, RegistryNotFoundError, RegistryValidationError } from './errors';
import { exists, RegistryLayout, STYLE_FILE, STYLE_FOLDER } from './layout';
import { notify, subscribe, type CorruptVersion, type Listener, type NewStyle, type NewVersion, type StyleRecord, type VersionRecord } from './records';
import { watchRegistry, type RegistryWatch, type WatchOptions } from './registry-watch';
import { DERIVED_PRECISIONS, DerivedModelInfoSchema, type DerivedPrecision, type NewDerivedModel, type Precision } from './precision';
import { NewVersionMetadataSchema, StyleManifestSchema, checkStyleId, checkVersion, describeIssues } from './schema';
import { seedRegistry } from './seeding';
import { VersionVerifier } from './verifier';
import { writeNextVersion, writeStyle } from './writer';

export { METADATA_FILE, MODEL_FILE, STYLE_FILE, STYLE_IMAGE_FILE, TEMP_PREFIX, THUMBNAIL_FILE, VERSIONS_DIR, WEIGHTS_FILE } from './layout';
export type { CorruptVersion, NewStyle, NewVersion, StyleRecord, VersionRecord } from './records';
export type { RegistryWatch, WatchOptions } from './registry-watch';

export interface OpenOptions {
  /** A registry folder (the starter set) whose styles are copied in when this one lacks them. */
  seedFrom?: string;
  /** Never writes: no seeding, no clean-up, no registration. */
  readOnly?: boolean;
}

export class ModelRegistry {
  readonly layout: RegistryLayout;
  private readonly verifier: VersionVerifier;
  private readonly versionListeners = new Set<Listener<VersionRecord>>();
  private readonly styleListeners = new Set<Listener<StyleRecord>>();
  private readonly corruptListeners = new Set<Listener<CorruptVersion>>();
  /** Versions already announced (registered here or seen by watch), as `style/n`. */
  private readonly announced = new Set<string>();

  private constructor(
    readonly root: string,
    readonly readOnly: boolean,
  ) {
    this.layout = new RegistryLayout(root);
    this.verifier = new VersionVerifier(this.layout, (corrupt) => notify(this.corruptListeners, corrupt));
  }

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
    await registry.layout.removeAbandonedTemps();
    if (options.seedFrom) await seedRegistry(registry, resolve(options.seedFrom));
    return registry;
  }

  // ---- paths ----

  styleDir(style: string): string {
    return this.layout.styleDir(style);
  }

  styleImagePath(style: string): string {
    return this.layout.styleImagePath(style);
  }

  thumbnailPath(style: string): string {
    return this.layout.thumbnailPath(style);
  }

  versionDir(style: string, version: number | string): string {
    return this.layout.versionDir(style, version);
  }

  // ---- styles ----

  /** Every style with a readable style.json, ordered by id. */
  async listStyles(): Promise<StyleRecord[]> {
    const styles: StyleRecord[] = [];
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !STYLE_FOLDER.test(entry.name)) continue;
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
    const manifest = await this.layout.readManifest(style);
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
    await this.layout.readManifest(style);
    return readFile(this.styleImagePath(style));
  }

  /** The thumbnail, or undefined when the style has none. */
  async readThumbnail(style: string): Promise<Uint8Array | undefined> {
    await this.layout.readManifest(style);
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
    if (await exists(join(this.root, id))) throw new RegistryConflictError(`style ${id} already exists`);
    await writeStyle(this.layout, parsed.data, input);
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
    await this.layout.readManifest(style);
    const intact: VersionRecord[] = [];
    const corrupt: CorruptVersion[] = [];
    for (const version of await this.layout.versionNumbers(style)) {
      const checked = await this.verifier.check(style, version);
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
    await this.layout.readManifest(style);
    const checked = await this.verifier.check(style, n);
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
    return this.verifier.read(await this.getVersion(style, version), precision === 'fp32' ? 'model' : precision);
  }

  /** The serialized weights, checked against the metadata's sha256 as they are read. */
  async readWeights(style: string, version: number | string): Promise<Uint8Array> {
    return this.verifier.read(await this.getVersion(style, version), 'weights');
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
    await this.layout.readManifest(style);
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
    const files = { model: input.model, weights: input.weights, sha256: { model: sha256(input.model), weights: sha256(input.weights) }, derived };
    return writeNextVersion(this.layout, style, files, parsed.data, async (written) => {
      const record = this.layout.recordOf(style, written);
      await this.verifier.remember(record);
      this.announced.add(`${style}/${written.version}`);
      notify(this.versionListeners, record);
      return record;
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
    return watchRegistry(
      {
        listStyles: () => this.listStyles(),
        listVersions: (style) => this.listVersions(style),
        announced: this.announced,
        styleFound: (style) => notify(this.styleListeners, style),
        versionFound: (version) => notify(this.versionListeners, version),
      },
      options,
    );
  }

  private requireWritable(): void {
    if (this.readOnly) throw new RegistryError(`registry ${this.root} is open read-only`);
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
