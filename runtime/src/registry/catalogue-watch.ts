/**
 * The client side of TrainerService's WatchVersions: the model catalogue as the other
 * services see it. It keeps one stream open, reconnects with jittered exponential backoff
 * when the stream ends or fails, treats a stream silent for three heartbeats as dead, and
 * keeps the last known catalogue while TrainerService is away (so what callers already have
 * keeps working). Every stream starts with the whole catalogue; versions the watch had not
 * seen before are reported as new, whether they came as an event or in a reconnect's snapshot.
 */
import { credentials, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  TrainerServiceClient,
  type CatalogueStyle,
  type ModelVersion,
  type WatchVersionsResponse,
} from '@nst/proto';
import { precisionFromProto, type DerivedPrecision, type Precision } from './precision';

/** One intact version as the model catalogue (WatchVersions, FetchModel) describes it: what TrainerService sends and its followers keep. */
export interface ModelVersionInfo {
  version: string;
  modelSha256: string;
  modelSizeBytes: number;
  exporterVersion: string;
  parentVersion?: string;
  createdAt: string;
  /** Models at other precisions; absent or empty when the version has none. */
  derivedModels?: { precision: DerivedPrecision; sha256: string; sizeBytes: number }[];
  /** What the version serves by default; FP32 when absent. */
  servePrecision?: Precision;
}

/** A style of the catalogue with its intact versions. */
export interface CatalogueStyleInfo {
  id: string;
  displayName: string;
  description: string;
  /** Oldest first; the last one is the latest. */
  versions: ModelVersionInfo[];
}

export interface CatalogueUpdate {
  /** What arrived: a stream's first message, or an event on an open stream. */
  kind: 'snapshot' | 'style' | 'version';
  /** True for the watch's very first snapshot (everything in it is "new"). */
  initial: boolean;
  /** Versions this watch had not seen before, in the order they arrived. */
  newVersions: { style: string; version: ModelVersionInfo }[];
}

export interface CatalogueWatchOptions {
  /** TrainerService's address (NST_TRAINER_ADDR). */
  address: string;
  /** Heartbeat interval asked of the server; default 10 s. A stream silent for 3 of them is dead. */
  heartbeatSeconds?: number;
  /** Reconnect backoff; default 250 ms doubling to 10 s, with full jitter. */
  backoff?: { initialMs: number; maxMs: number };
  /** Called after every change of the catalogue, with the whole catalogue. */
  onUpdate?: (styles: readonly CatalogueStyleInfo[], update: CatalogueUpdate) => void;
  /** Called when the stream is lost (the catalogue is kept) and when it is back. */
  onConnection?: (connected: boolean, error?: Error) => void;
}

function toVersion(v: ModelVersion): ModelVersionInfo {
  return {
    version: v.version,
    modelSha256: v.modelSha256,
    modelSizeBytes: v.modelSizeBytes,
    exporterVersion: v.exporterVersion,
    ...(v.parentVersion ? { parentVersion: v.parentVersion } : {}),
    createdAt: (v.createdAt ?? new Date(0)).toISOString(),
    // Precisions this build does not know are left out: it cannot run them.
    derivedModels: v.derivedModels.flatMap((d) => {
      const precision = precisionFromProto(d.precision);
      return precision && precision !== 'fp32' ? [{ precision, sha256: d.sha256, sizeBytes: d.sizeBytes }] : [];
    }),
    servePrecision: precisionFromProto(v.servePrecision) ?? 'fp32',
  };
}

function toStyle(s: CatalogueStyle): CatalogueStyleInfo {
  return { id: s.id, displayName: s.displayName, description: s.description, versions: s.versions.map(toVersion) };
}

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class CatalogueWatch {
  private catalogue: CatalogueStyleInfo[] | undefined;
  private readonly seen = new Set<string>();
  private readonly client: TrainerServiceClient;
  private stream: ClientReadableStream<WatchVersionsResponse> | undefined;
  private silence: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private connectedNow = false;
  private firstSnapshot!: () => void;
  private lastErrorValue: Error | undefined;
  /** Resolves with the first snapshot (it may never come if TrainerService never answers). */
  readonly ready: Promise<void>;

  constructor(private readonly options: CatalogueWatchOptions) {
    // Pings find a dead connection (a vanished host) that the heartbeat alone would only
    // replace with another call on the same dead connection.
    this.client = new TrainerServiceClient(options.address, credentials.createInsecure(), {
      'grpc.keepalive_time_ms': 20_000,
      'grpc.keepalive_timeout_ms': 10_000,
    });
    this.ready = new Promise((resolve) => (this.firstSnapshot = resolve));
  }

  /** Opens the stream; the catalogue arrives with `ready`. */
  start(): this {
    this.connect();
    return this;
  }

  /** The last known catalogue (kept while TrainerService is away); undefined before the first snapshot. */
  styles(): readonly CatalogueStyleInfo[] | undefined {
    return this.catalogue;
  }

  /** Whether a stream is open now. */
  get connected(): boolean {
    return this.connectedNow;
  }

  /** Why the last stream ended, while no stream is open. */
  get lastError(): Error | undefined {
    return this.connectedNow ? undefined : this.lastErrorValue;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    clearTimeout(this.silence);
    this.stream?.cancel();
    this.stream = undefined;
    this.client.close();
  }

  private connect(): void {
    if (this.stopped) return;
    const heartbeatSeconds = this.options.heartbeatSeconds ?? 10;
    const stream = this.client.watchVersions({ heartbeatSeconds });
    this.stream = stream;
    let ended = false;
    const finish = (error: Error): void => {
      if (ended) return;
      ended = true;
      clearTimeout(this.silence);
      stream.removeAllListeners('data');
      stream.cancel();
      if (this.stream === stream) this.stream = undefined;
      this.lastErrorValue = error;
      if (this.connectedNow) {
        this.connectedNow = false;
        this.options.onConnection?.(false, error);
      }
      this.scheduleReconnect();
    };
    const watchSilence = (): void => {
      clearTimeout(this.silence);
      this.silence = setTimeout(
        () => finish(new Error(`TrainerService at ${this.options.address} sent nothing for ${3 * heartbeatSeconds} s`)),
        3 * heartbeatSeconds * 1000,
      );
      this.silence.unref();
    };
    watchSilence();
    stream.on('data', (message: WatchVersionsResponse) => {
      watchSilence();
      this.receive(message);
    });
    stream.on('error', (error: ServiceError) => {
      if (error.code === status.CANCELLED && (this.stopped || ended)) return;
      finish(error);
    });
    // TrainerService ends the stream when it stops; the next one will be up.
    stream.on('end', () => finish(new Error(`TrainerService at ${this.options.address} ended the catalogue stream (it is stopping)`)));
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 250, maxMs: 10_000 };
    const ceiling = Math.min(maxMs, initialMs * 2 ** this.failures);
    this.failures++;
    this.retry = setTimeout(() => this.connect(), initialMs / 2 + Math.random() * ceiling);
    this.retry.unref();
  }

  private receive(message: WatchVersionsResponse): void {
    const event = message.event;
    if (!event || event.$case === 'heartbeat') return;
    const initial = this.catalogue === undefined;
    const newVersions: CatalogueUpdate['newVersions'] = [];
    const note = (style: string, versions: ModelVersionInfo[]): void => {
      for (const version of versions) {
        const key = `${style}/${version.version}`;
        if (this.seen.has(key)) continue;
        this.seen.add(key);
        newVersions.push({ style, version });
      }
    };
    let kind: CatalogueUpdate['kind'];
    if (event.$case === 'snapshot') {
      kind = 'snapshot';
      this.catalogue = event.snapshot.styles.map(toStyle).sort(byId);
      for (const style of this.catalogue) note(style.id, style.versions);
      this.failures = 0;
      if (!this.connectedNow) {
        this.connectedNow = true;
        this.options.onConnection?.(true);
      }
    } else {
      // Events only follow a snapshot on the same stream, so the catalogue is there.
      const styles = [...(this.catalogue ?? [])];
      if (event.$case === 'styleAdded') {
        kind = 'style';
        const added = toStyle(event.styleAdded);
        const at = styles.findIndex((s) => s.id === added.id);
        if (at >= 0) styles[at] = added;
        else styles.push(added);
        note(added.id, added.versions);
      } else {
        kind = 'version';
        const { style, version } = event.versionAdded;
        if (!version) return;
        const added = toVersion(version);
        const at = styles.findIndex((s) => s.id === style);
        if (at < 0) return; // a version before its style: the next snapshot has both
        const current = styles[at] as CatalogueStyleInfo;
        if (current.versions.some((v) => v.version === added.version)) return;
        const versions = [...current.versions, added].sort((a, b) => Number(a.version) - Number(b.version));
        styles[at] = { ...current, versions };
        note(style, [added]);
      }
      this.catalogue = styles.sort(byId);
    }
    this.options.onUpdate?.(this.catalogue, { kind, initial, newVersions });
    if (initial) this.firstSnapshot();
  }
}
