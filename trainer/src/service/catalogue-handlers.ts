/**
 * The model catalogue RPCs of nst.v1.TrainerService: WatchVersions and FetchModel serve the
 * registry TrainerService owns to StyleService and ReleaseService, and KeepPhoto takes the
 * consented photos StyleService used to write into a folder the trainer read.
 */
import { status, type Metadata, type sendUnaryData, type ServerErrorResponse, type ServerWritableStream } from '@grpc/grpc-js';
import type {
  CatalogueStyle,
  FetchModelRequest,
  FetchModelResponse,
  KeepPhotoRequest,
  KeepPhotoResponse,
  ModelVersion,
  TrainerServiceServer,
  WatchVersionsRequest,
  WatchVersionsResponse,
} from '@nst/proto';
import {
  checkStyleId,
  checkVersion,
  describeIssues,
  precisionFromProto,
  precisionToProto,
  RegistryCorruptError,
  RegistryNotFoundError,
  RegistryValidationError,
} from '@nst/runtime';
import { requireAdmin } from './auth';
import { TrainerServiceError, failedPrecondition, invalidArgument, notFound } from './errors';
import { KeepPhotoSchema, type KeptPhotoStore } from './kept-photos';
import type { CatalogueChange, CatalogueStyleInfo, ModelCatalogue, ModelVersionInfo } from './ports';

/** Heartbeat interval when the client asks for none, and the range a client may ask for. */
export const DEFAULT_HEARTBEAT_SECONDS = 10;
const HEARTBEAT_RANGE = [1, 300] as const;

export interface CatalogueHandlerDeps {
  catalogue: ModelCatalogue;
  /** Kept photos; absent: KeepPhoto answers FAILED_PRECONDITION. */
  keptPhotos?: KeptPhotoStore;
  adminToken: string;
  /** FetchModel's chunk size (NST_CHUNK_BYTES). */
  chunkBytes: number;
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export type CatalogueMethods = Pick<TrainerServiceServer, 'watchVersions' | 'fetchModel' | 'keepPhoto'>;

export interface CatalogueHandlers {
  implementation: CatalogueMethods;
  /** Ends every open WatchVersions stream (the trainer is stopping; clients reconnect). */
  endWatches(): void;
}

export function toModelVersion(info: ModelVersionInfo): ModelVersion {
  return {
    version: info.version,
    modelSha256: info.modelSha256,
    modelSizeBytes: info.modelSizeBytes,
    exporterVersion: info.exporterVersion,
    parentVersion: info.parentVersion ?? '',
    createdAt: new Date(info.createdAt),
    derivedModels: (info.derivedModels ?? []).map((d) => ({ precision: precisionToProto(d.precision), sha256: d.sha256, sizeBytes: d.sizeBytes })),
    servePrecision: precisionToProto(info.servePrecision ?? 'fp32'),
  };
}

export function toCatalogueStyle(style: CatalogueStyleInfo): CatalogueStyle {
  return { id: style.id, displayName: style.displayName, description: style.description, versions: style.versions.map(toModelVersion) };
}

export function createCatalogueHandlers(deps: CatalogueHandlerDeps): CatalogueHandlers {
  const { catalogue, logger } = deps;
  const watches = new Set<() => void>();

  const toStatus = (error: unknown, method: string): Partial<ServerErrorResponse> => {
    if (error instanceof TrainerServiceError) return { code: error.code, details: error.message };
    if (error instanceof RegistryValidationError) return { code: status.INVALID_ARGUMENT, details: error.message };
    if (error instanceof RegistryNotFoundError) return { code: status.NOT_FOUND, details: error.message };
    if (error instanceof RegistryCorruptError) {
      return { code: status.DATA_LOSS, details: `${error.message}; the trainer will not serve it: register a new version of the style` };
    }
    logger.error({ err: error, method }, 'TrainerService call failed');
    return { code: status.INTERNAL, details: `${method} failed inside the trainer; the trainer log has the details` };
  };

  /** NOT_FOUND naming what exists, so the caller can correct the style or version; resolves with the version's precisions. */
  const requireVersion = async (style: string, version: string): Promise<string[]> => {
    const styles = await catalogue.listCatalogue();
    const found = styles.find((s) => s.id === style);
    if (!found) {
      const known = styles.filter((s) => s.versions.length > 0).map((s) => s.id);
      throw notFound(`style '${style}' does not exist in the trainer's registry; known styles: ${known.join(', ') || '(none registered)'}`);
    }
    const held = found.versions.find((v) => v.version === version);
    if (!held) {
      const versions = found.versions.map((v) => v.version);
      throw notFound(`style '${style}' has no version '${version}'; its versions are: ${versions.join(', ') || '(none yet)'}`);
    }
    return ['fp32', ...(held.derivedModels ?? []).map((d) => d.precision)];
  };

  const implementation: CatalogueMethods = {
    watchVersions(call: ServerWritableStream<WatchVersionsRequest, WatchVersionsResponse>) {
      const requested = call.request.heartbeatSeconds;
      if (requested !== 0 && (requested < HEARTBEAT_RANGE[0] || requested > HEARTBEAT_RANGE[1])) {
        call.emit('error', {
          code: status.INVALID_ARGUMENT,
          details: `heartbeat_seconds is ${requested}; use ${HEARTBEAT_RANGE[0]} to ${HEARTBEAT_RANGE[1]}, or 0 for the default`,
        });
        return;
      }
      const heartbeatMs = (requested || DEFAULT_HEARTBEAT_SECONDS) * 1000;
      let snapshotSent = false;
      let ended = false;
      // Changes made while the snapshot is read wait here, and those it already holds are dropped.
      const pending: CatalogueChange[] = [];
      const inSnapshot = new Set<string>();
      let heartbeat: NodeJS.Timeout | undefined;
      const send = (message: WatchVersionsResponse): void => {
        if (ended) return;
        call.write(message);
        heartbeat?.refresh();
      };
      const sendChange = (change: CatalogueChange): void => {
        if (change.kind === 'style') {
          if (inSnapshot.has(change.style.id)) return;
          inSnapshot.add(change.style.id);
          for (const v of change.style.versions) inSnapshot.add(`${change.style.id}/${v.version}`);
          send({ event: { $case: 'styleAdded', styleAdded: toCatalogueStyle(change.style) } });
        } else {
          const key = `${change.style}/${change.version.version}`;
          if (inSnapshot.has(key)) return;
          inSnapshot.add(key);
          send({ event: { $case: 'versionAdded', versionAdded: { style: change.style, version: toModelVersion(change.version) } } });
        }
      };
      const unsubscribe = catalogue.onChange((change) => (snapshotSent ? sendChange(change) : pending.push(change)));
      const end = (): void => {
        if (ended) return;
        ended = true;
        unsubscribe();
        clearInterval(heartbeat);
        watches.delete(end);
        call.end();
      };
      watches.add(end);
      call.on('cancelled', end);
      call.on('error', end);
      catalogue.listCatalogue().then(
        (styles) => {
          for (const style of styles) {
            inSnapshot.add(style.id);
            for (const v of style.versions) inSnapshot.add(`${style.id}/${v.version}`);
          }
          send({ event: { $case: 'snapshot', snapshot: { styles: styles.map(toCatalogueStyle) } } });
          snapshotSent = true;
          for (const change of pending.splice(0)) sendChange(change);
          heartbeat = setInterval(() => send({ event: { $case: 'heartbeat', heartbeat: {} } }), heartbeatMs);
        },
        (error: unknown) => {
          if (ended) return;
          ended = true;
          unsubscribe();
          watches.delete(end);
          call.emit('error', toStatus(error, 'WatchVersions'));
        },
      );
    },

    fetchModel(call: ServerWritableStream<FetchModelRequest, FetchModelResponse>) {
      const fail = (error: unknown): void => {
        if (!call.cancelled) call.emit('error', toStatus(error, 'FetchModel'));
      };
      (async () => {
        const { style, version } = call.request;
        const precision = precisionFromProto(call.request.precision);
        if (!precision) throw invalidArgument(`precision ${call.request.precision} is unknown; use MODEL_PRECISION_FP32 or MODEL_PRECISION_INT8`);
        if (!style) throw invalidArgument('style is empty; name the style whose model to fetch (WatchVersions lists them)');
        if (!version) throw invalidArgument(`version is empty; name a version of style '${style}' (WatchVersions lists them)`);
        checkStyleId(style);
        checkVersion(version);
        const held = await requireVersion(style, version);
        if (!held.includes(precision)) {
          throw notFound(`style '${style}' version ${version} has no ${precision} model; it has: ${held.join(', ')}`);
        }
        const { info, bytes } = await catalogue.readModel(style, version, precision);
        const write = (message: FetchModelResponse): Promise<void> =>
          new Promise((resolve) => (call.write(message) ? resolve() : call.once('drain', resolve)));
        await write({
          kind: {
            $case: 'header',
            header: {
              style,
              version,
              sha256: precision === 'fp32' ? info.modelSha256 : (info.derivedModels?.find((d) => d.precision === precision)?.sha256 ?? ''),
              sizeBytes: bytes.length,
              exporterVersion: info.exporterVersion,
              precision: precisionToProto(precision),
            },
          },
        });
        for (let offset = 0; offset < bytes.length && !call.cancelled; offset += deps.chunkBytes) {
          await write({ kind: { $case: 'chunk', chunk: Buffer.from(bytes.buffer, bytes.byteOffset + offset, Math.min(deps.chunkBytes, bytes.length - offset)) } });
        }
        call.end();
      })().catch(fail);
    },

    keepPhoto(call: { request: KeepPhotoRequest; metadata: Metadata }, callback: sendUnaryData<KeepPhotoResponse>) {
      (async () => {
        requireAdmin(call.metadata, deps.adminToken);
        if (!deps.keptPhotos) throw failedPrecondition('this TrainerService keeps no photos (it was started without a kept-photos folder)');
        const parsed = KeepPhotoSchema.safeParse(call.request);
        if (!parsed.success) throw invalidArgument(`the photo cannot be kept: ${describeIssues(parsed.error)}`);
        return { photoRef: await deps.keptPhotos.keep(parsed.data) };
      })().then(
        (response) => callback(null, response),
        (error: unknown) => callback(toStatus(error, 'KeepPhoto')),
      );
    },
  };

  return {
    implementation,
    endWatches: () => {
      for (const end of [...watches]) end();
    },
  };
}
