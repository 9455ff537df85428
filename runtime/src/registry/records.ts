/** What the registry hands out and takes in. */
import type { DerivedPrecision, NewDerivedModel } from './precision';
import type { NewVersionMetadata, StyleManifest, VersionMetadata } from './schema';

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

export type Listener<T> = (value: T) => void;

// Listeners run after the change is durable; one that throws must not turn a completed
// registration into a failed call, so its error is rethrown on its own, outside the caller.
export function notify<T>(listeners: Set<Listener<T>>, value: T): void {
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

export function subscribe<T>(listeners: Set<Listener<T>>, listener: Listener<T>): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}
