/**
 * The StyleCatalog over TrainerService, which owns the model registry: the styles come from
 * its WatchVersions stream (runtime's CatalogueWatch: reconnects with backoff and keeps the
 * last known catalogue while TrainerService is away), and each model is fetched with
 * FetchModel on first use into StyleService's own disk cache (model-store.ts). The last
 * catalogue is also kept on disk beside the models, so a StyleService restarted while
 * TrainerService is down still serves the styles it has cached.
 */
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { TrainerServiceClient, type FetchModelResponse } from '@nst/proto';
import { CatalogueWatch, errorCode, precisionToProto, sha256, writeFileDurable, DERIVED_PRECISIONS, PRECISIONS, type Precision, type CatalogueStyleInfo, type ModelVersionInfo } from '@nst/runtime';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { CatalogStyle, StyleCatalog } from './catalog';
import { notFound, unavailable, type StyleServiceError } from './errors';
import { ModelMismatchError, ModelStore } from './model-store';
import type { VersionPrecisions } from './precision';
import type { KeptPhotoSink } from './photo-keeper';

export interface TrainerCatalogOptions {
  /** TrainerService's address (NST_TRAINER_ADDR). */
  address: string;
  /** StyleService's own folder for cached models and the last catalogue (NST_MODEL_CACHE_DIR). */
  cacheDir: string;
  /** Most bytes of cached models (NST_MODEL_CACHE_MIB). */
  maxBytes: number;
  /** Sent with KeepPhoto, which TrainerService guards with the admin token. */
  adminToken?: string;
  /** FetchModel's deadline; default 120 s. */
  fetchTimeoutMs?: number;
  heartbeatSeconds?: number;
  backoff?: { initialMs: number; maxMs: number };
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

const CATALOGUE_FILE = 'catalogue.json';

const ModelVersionInfoSchema = z.object({
  version: z.string(),
  modelSha256: z.string().regex(/^[0-9a-f]{64}$/),
  modelSizeBytes: z.number().int().nonnegative(),
  exporterVersion: z.string(),
  parentVersion: z.string().optional(),
  createdAt: z.string(),
  // Absent in catalogues saved before models had precisions.
  derivedModels: z
    .array(z.object({ precision: z.enum(DERIVED_PRECISIONS), sha256: z.string().regex(/^[0-9a-f]{64}$/), sizeBytes: z.number().int().positive() }))
    .optional(),
  servePrecision: z.enum(PRECISIONS).optional(),
});
const CatalogueFileSchema = z.object({
  address: z.string(),
  savedAt: z.string(),
  styles: z.array(z.object({ id: z.string(), displayName: z.string(), description: z.string(), versions: z.array(ModelVersionInfoSchema) })),
});

export class TrainerCatalog implements StyleCatalog, KeptPhotoSink {
  readonly models: ModelStore;
  private readonly watch: CatalogueWatch;
  private readonly client: TrainerServiceClient;
  /** The catalogue saved by an earlier run, used until TrainerService answers. */
  private saved: readonly CatalogueStyleInfo[] | undefined;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly options: TrainerCatalogOptions) {
    this.client = new TrainerServiceClient(options.address, credentials.createInsecure(), {
      'grpc.max_receive_message_length': 8 * 1024 * 1024,
    });
    this.models = new ModelStore({
      dir: join(options.cacheDir, 'models'),
      maxBytes: options.maxBytes,
      onCorrupt: (model, reason) => options.logger.warn({ style: model.style, version: model.version, reason }, 'cached model is damaged; fetching it again'),
    });
    this.watch = new CatalogueWatch({
      address: options.address,
      ...(options.heartbeatSeconds ? { heartbeatSeconds: options.heartbeatSeconds } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      onUpdate: (styles, update) => {
        if (update.kind === 'snapshot' || update.newVersions.length > 0) this.save(styles);
      },
      onConnection: (connected, error) =>
        connected
          ? options.logger.info({ address: options.address }, 'style catalogue stream from TrainerService is up')
          : options.logger.warn({ address: options.address, err: error }, 'lost the style catalogue stream from TrainerService; cached styles keep serving, reconnecting'),
    });
  }

  /** Loads the saved catalogue and opens the stream; resolves without waiting for TrainerService. */
  async start(): Promise<this> {
    try {
      const parsed = CatalogueFileSchema.safeParse(JSON.parse(await readFile(join(this.options.cacheDir, CATALOGUE_FILE), 'utf8')));
      if (parsed.success) this.saved = parsed.data.styles;
      else this.options.logger.warn({ issues: parsed.error.issues.length }, 'saved style catalogue is unreadable; waiting for TrainerService');
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
    }
    this.watch.start();
    return this;
  }

  /** Resolves once the first catalogue from TrainerService arrived, or after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([this.watch.ready.then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  get connected(): boolean {
    return this.watch.connected;
  }

  async listStyles(): Promise<CatalogStyle[]> {
    return this.styles().map((style) => ({
      id: style.id,
      displayName: style.displayName,
      description: style.description,
      versions: style.versions.map((v) => v.version),
    }));
  }

  async listVersions(style: string): Promise<string[] | undefined> {
    return this.styles()
      .find((s) => s.id === style)
      ?.versions.map((v) => v.version);
  }

  async precisions(style: string, version: string): Promise<VersionPrecisions> {
    const entry = this.entry(style, version);
    return { available: ['fp32', ...(entry.derivedModels ?? []).map((d) => d.precision)], serve: entry.servePrecision ?? 'fp32' };
  }

  async readModel(style: string, version: string, precision: Precision = 'fp32'): Promise<Uint8Array> {
    const entry = this.entry(style, version);
    const derived = precision === 'fp32' ? undefined : entry.derivedModels?.find((d) => d.precision === precision);
    if (precision !== 'fp32' && !derived) throw notFound(`style '${style}' version '${version}' has no ${precision} model in the catalogue TrainerService serves`);
    const expected = derived ? { sha256: derived.sha256, sizeBytes: derived.sizeBytes } : { sha256: entry.modelSha256, sizeBytes: entry.modelSizeBytes };
    try {
      return await this.models.get({ style, version, ...expected }, () => this.fetch(style, version, precision));
    } catch (error) {
      if (error instanceof ModelMismatchError) throw unavailable(`${error.message}; retry, and if it persists register the version again in TrainerService`);
      throw error;
    }
  }

  private entry(style: string, version: string): ModelVersionInfo {
    const entry = this.styles()
      .find((s) => s.id === style)
      ?.versions.find((v) => v.version === version);
    if (!entry) throw notFound(`style '${style}' has no version '${version}' in the catalogue TrainerService serves`);
    return entry;
  }

  /** KeepPhoto on TrainerService: the consented photo goes to its kept-photos folder. */
  keepPhoto(photo: { feedbackId: string; style: string; version: string; format: string; bytes: Uint8Array }): Promise<string> {
    const metadata = new Metadata();
    if (this.options.adminToken) metadata.set('authorization', `Bearer ${this.options.adminToken}`);
    return new Promise((resolve, reject) => {
      this.client.keepPhoto(
        { feedbackId: photo.feedbackId, style: photo.style, version: photo.version, format: photo.format, photo: Buffer.from(photo.bytes) },
        metadata,
        { deadline: Date.now() + 30_000 },
        (error, response) => (error ? reject(error) : resolve(response.photoRef)),
      );
    });
  }

  async close(): Promise<void> {
    this.watch.stop();
    this.client.close();
    await this.saving;
  }

  private styles(): readonly CatalogueStyleInfo[] {
    const styles = this.watch.styles() ?? this.saved;
    if (!styles) {
      const reason = this.watch.lastError?.message ?? 'no answer yet';
      throw unavailable(
        `StyleService has no style catalogue yet: TrainerService at ${this.options.address} has not sent one (${reason}); ` +
          'start TrainerService (NST_TRAINER_ADDR names where StyleService looks for it) and retry in a few seconds',
      );
    }
    return styles;
  }

  /** FetchModel: header, then chunks; the store checks the bytes against the catalogue. */
  private fetch(style: string, version: string, precision: Precision): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let expected: { sha256: string; size: number } | undefined;
      const stream = this.client.fetchModel({ style, version, precision: precisionToProto(precision) }, { deadline: Date.now() + (this.options.fetchTimeoutMs ?? 120_000) });
      stream.on('data', (message: FetchModelResponse) => {
        const kind = message.kind;
        if (kind?.$case === 'header') expected = { sha256: kind.header.sha256, size: kind.header.sizeBytes };
        else if (kind?.$case === 'chunk') chunks.push(Buffer.from(kind.chunk));
      });
      stream.on('error', (error: ServiceError) => reject(this.fetchError(style, version, error)));
      stream.on('end', () => {
        const bytes = Buffer.concat(chunks);
        if (!expected || bytes.length !== expected.size || sha256(bytes) !== expected.sha256) {
          reject(unavailable(`the ${precision} model of style ${style} version ${version} arrived incomplete from TrainerService (${bytes.length} bytes); retry`));
        } else resolve(bytes);
      });
    });
  }

  private fetchError(style: string, version: string, error: ServiceError): StyleServiceError {
    if (error.code === status.NOT_FOUND) return notFound(`TrainerService has no model for style ${style} version ${version}: ${error.details}`);
    if (error.code === status.UNAVAILABLE || error.code === status.DEADLINE_EXCEEDED || error.code === status.CANCELLED) {
      return unavailable(
        `the model of style '${style}' version ${version} is not cached on this StyleService, and TrainerService at ${this.options.address}, ` +
          `which serves the models, cannot be reached (${error.details || error.message}); start TrainerService or retry once it is back ` +
          '(styles already cached keep serving)',
      );
    }
    return unavailable(`TrainerService could not send the model of style '${style}' version ${version} (${status[error.code]}: ${error.details}); retry later`);
  }

  /** Keeps the catalogue on disk (atomically) for a restart while TrainerService is down. */
  private save(styles: readonly CatalogueStyleInfo[]): void {
    const body = JSON.stringify({ address: this.options.address, savedAt: new Date().toISOString(), styles });
    this.saving = this.saving
      .then(async () => {
        await mkdir(this.options.cacheDir, { recursive: true });
        const file = join(this.options.cacheDir, CATALOGUE_FILE);
        const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
        await writeFileDurable(temp, body);
        await rename(temp, file).catch(async (error: unknown) => {
          await rm(temp, { force: true });
          throw error;
        });
      })
      .catch((err: unknown) => this.options.logger.warn({ err }, 'could not save the style catalogue; a restart without TrainerService will have none'));
  }
}
