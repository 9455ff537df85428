/**
 * What TrainerService needs from the shared model registry and feedback store, narrowed to
 * the calls it makes. registry-adapter.ts implements both over @nst/runtime; keeping the
 * service to these few calls is what lets the Elasticsearch feedback store slot in later.
 */
import type { DerivedPrecision, NewDerivedModel, Precision } from '@nst/runtime';
import type { TrainingLoss } from './hyperparameters';
import type { CatalogueStyleInfo, ModelVersionInfo } from '@nst/runtime';

export type VersionOriginName = 'starter' | 'train' | 'finetune';

/** One registered version as TrainerService reports it (versions are decimal strings on the wire). */
export interface VersionInfo {
  style: string;
  version: string;
  parentVersion?: string;
  origin: VersionOriginName;
  jobId?: string;
  reason?: string;
  losses: Record<string, number>;
  metrics: Record<string, number>;
  createdAt: string;
  /** The loss the version was trained with; absent for versions that predate the record. */
  training?: TrainingLoss;
}

/** A style's first registration: how people see it and the painting it was trained on. */
export interface NewStyleInfo {
  displayName: string;
  description: string;
  /** Where the painting came from. */
  origin: string;
  licence: string;
  /** The painting as JPEG (what fine-tunes train against later). */
  styleImage: Uint8Array;
  thumbnail: Uint8Array;
}

export interface NewVersion {
  style: string;
  /** Set for a new style: the registry creates the style with it before its first version. */
  newStyle?: NewStyleInfo;
  parentVersion?: string;
  origin: 'train' | 'finetune';
  jobId: string;
  reason: string;
  /** The ONNX model StyleService runs. */
  onnx: Uint8Array;
  /** StyleNet.serialize() bytes: what a later fine-tune starts from. */
  weights: Uint8Array;
  exporterVersion: string;
  network: Record<string, unknown>;
  losses: Record<string, number>;
  hyperparameters: Record<string, unknown>;
  /** Hashes of the training data (style image, photo set) and counts. */
  dataHashes: { styleImage: string; photos: string } & Record<string, unknown>;
  /** Models derived from `onnx` at lower precision (export/precision.ts), stored beside it. */
  derivedModels?: Partial<Record<DerivedPrecision, NewDerivedModel>>;
  /** What the version serves by default; FP32 when absent. */
  servePrecision?: Precision;
}

export interface TrainerRegistry {
  /** Whether the style exists (with or without versions). */
  hasStyle(style: string): Promise<boolean>;
  /** The style's versions, oldest first; undefined when the style does not exist. */
  listVersions(style: string): Promise<VersionInfo[] | undefined>;
  readWeights(style: string, version: string): Promise<Uint8Array>;
  /** The style image (JPEG) the style was created with. */
  readStyleImage(style: string): Promise<Uint8Array>;
  /** Registers a version atomically (creating the style first when `newStyle` is set); resolves with its id. */
  registerVersion(version: NewVersion): Promise<string>;
}

/** One rating as the trainer reads it back from the feedback store. */
export interface RatingRecord {
  id: string;
  /** The stylize request rated; a request counts once, by its latest rating. Empty when unknown. */
  requestId?: string;
  style: string;
  version: string;
  rating: 'good' | 'bad';
  /** The kept input photo, present only with the person's consent. */
  photoPath?: string;
  receivedAt: string;
}

export interface FeedbackReader {
  /** Ratings received at or after `since`, oldest first. */
  ratingsSince(since: Date): Promise<RatingRecord[]>;
  /** Consented photos rated bad for the style (any version), oldest first, still held. */
  consentedBadPhotos(style: string): Promise<RatingRecord[]>;
}

// The catalogue's records are runtime's, shared with the services that follow it (CatalogueWatch).
export type { CatalogueStyleInfo, ModelVersionInfo };

export type CatalogueChange =
  | { kind: 'style'; style: CatalogueStyleInfo }
  | { kind: 'version'; style: string; version: ModelVersionInfo };

/** The registry as TrainerService serves it to StyleService and ReleaseService. */
export interface ModelCatalogue {
  /** Every style, ordered by id, with its intact versions. */
  listCatalogue(): Promise<CatalogueStyleInfo[]>;
  /** Called for each style created and version registered from now on; returns unsubscribe. */
  onChange(listener: (change: CatalogueChange) => void): () => void;
  /**
   * The verified model bytes of a version at `precision`; RegistryNotFoundError when the
   * version is unknown or has no model at that precision.
   */
  readModel(style: string, version: string, precision: Precision): Promise<{ info: ModelVersionInfo; bytes: Uint8Array }>;
}
