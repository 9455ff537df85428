/**
 * What StyleService needs to know about styles, and which version serves a request. The
 * catalog is an adapter over the model registry (see registry-catalog.ts); the resolver is an
 * interface so the release router can choose canary versions without touching the service.
 */
import type { Precision } from '@nst/runtime';
import { notFound } from './errors';
import type { VersionPrecisions } from './precision';

export interface CatalogStyle {
  id: string;
  displayName: string;
  description: string;
  /** Version ids, oldest first; the last one is the latest. */
  versions: string[];
}

export interface StyleCatalog {
  /** Every style, ordered by id. */
  listStyles(): Promise<CatalogStyle[]>;
  /** Version ids of a style, oldest first; undefined when the style does not exist. */
  listVersions(style: string): Promise<string[] | undefined>;
  /** The ONNX model of a version at `precision` (FP32 when not given). */
  readModel(style: string, version: string, precision?: Precision): Promise<Uint8Array>;
  /** The precisions a version has models for and its default; absent: every version is FP32 only. */
  precisions?(style: string, version: string): Promise<VersionPrecisions>;
}

export interface VersionRequest {
  style: string;
  /** The version the caller pinned (header field or x-nst-version metadata), if any. */
  pinnedVersion?: string | undefined;
  /** The caller's client id, for sticky routing. May be empty. */
  clientId: string;
}

/** Picks the version that serves a request; throws NOT_FOUND for unknown styles or versions. */
export interface VersionResolver {
  resolve(request: VersionRequest): Promise<string>;
}

/** Checks that a style (and optionally a version of it) exists; returns its versions. */
export async function requireStyle(catalog: StyleCatalog, style: string, version?: string): Promise<string[]> {
  const versions = await catalog.listVersions(style);
  if (!versions || versions.length === 0) {
    const known = (await catalog.listStyles()).filter((s) => s.versions.length > 0).map((s) => s.id);
    throw notFound(
      `style '${style}' does not exist; known styles: ${known.length > 0 ? known.join(', ') : '(none registered)'}`,
    );
  }
  if (version !== undefined && !versions.includes(version)) {
    throw notFound(`style '${style}' has no version '${version}'; its versions are: ${versions.join(', ')}`);
  }
  return versions;
}

/** Serves the pinned version when there is one, otherwise the style's latest version. */
export class LatestVersionResolver implements VersionResolver {
  constructor(private readonly catalog: StyleCatalog) {}

  async resolve(request: VersionRequest): Promise<string> {
    const versions = await requireStyle(this.catalog, request.style, request.pinnedVersion);
    return request.pinnedVersion ?? (versions.at(-1) as string);
  }
}
