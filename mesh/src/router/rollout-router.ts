/**
 * The local weighted router: StyleService's VersionResolver when releases are on. The rules,
 * the same as the Istio VirtualService rendered from the same records (../istio):
 *
 * 1. A pinned version (StylizeHeader.version or `x-nst-version` metadata) always wins; an
 *    unknown one is NOT_FOUND (the fallback resolver checks it).
 * 2. Without a rollout record the style's latest version serves (what StyleService did before
 *    releases existed), so StyleService works without ReleaseService.
 * 3. With a canary: a caller with a client id goes to the canary iff bucketOf(clientId) < weight
 *    (sticky, monotone in the weight); a caller without one is split per call at random.
 * 4. Otherwise the record's stable version serves (a registered but unreleased version does not).
 *
 * The state is read through RolloutStore's cache, so a change written by ReleaseService
 * reaches calls that start after it within about a second, and never a call in flight.
 */
import type { RolloutStore } from '../rollout/rollout-store';
import { rolloutOf, type RolloutRecord } from '../rollout/schema';
import { bucketOf } from './bucket';

/** What StyleService asks (structurally inference's VersionRequest). */
export interface RouteRequest {
  style: string;
  pinnedVersion?: string | undefined;
  clientId: string;
}

/** Picks a version (structurally inference's VersionResolver). */
export interface VersionResolverLike {
  resolve(request: RouteRequest): Promise<string>;
}

export type RouteArm = 'stable' | 'canary';

/**
 * Which side of a rollout an unpinned call goes to. `random` returns [0, 1) and is used only
 * for callers without a client id.
 */
export function routeArm(rollout: RolloutRecord, clientId: string, random: () => number = Math.random): RouteArm {
  if (rollout.phase !== 'canary' || rollout.canaryVersion === undefined || rollout.canaryWeight <= 0) return 'stable';
  if (rollout.canaryWeight >= 100) return 'canary';
  if (clientId) return bucketOf(clientId) < rollout.canaryWeight ? 'canary' : 'stable';
  return random() * 100 < rollout.canaryWeight ? 'canary' : 'stable';
}

/** The version an unpinned call is served by under `rollout`. */
export function routeVersion(rollout: RolloutRecord, clientId: string, random: () => number = Math.random): string {
  return routeArm(rollout, clientId, random) === 'canary' ? (rollout.canaryVersion as string) : rollout.stableVersion;
}

export interface RolloutRouterOptions {
  /** [0, 1) source for callers without a client id; default Math.random. */
  random?: () => number;
  /** Told when rollouts.json cannot be parsed (the last good state keeps serving). */
  onStateError?: (error: unknown) => void;
}

export class RolloutRouter implements VersionResolverLike {
  private readonly random: () => number;
  private readonly onStateError: (error: unknown) => void;

  /**
   * @param fallback resolves pins and styles without a rollout (StyleService's
   *   LatestVersionResolver: it throws NOT_FOUND for unknown styles and versions).
   */
  constructor(
    private readonly store: RolloutStore,
    private readonly fallback: VersionResolverLike,
    options: RolloutRouterOptions = {},
  ) {
    this.random = options.random ?? Math.random;
    this.onStateError = options.onStateError ?? (() => undefined);
  }

  async resolve(request: RouteRequest): Promise<string> {
    if (request.pinnedVersion) return this.fallback.resolve(request);
    const rollout = rolloutOf(await this.store.readOrLast(this.onStateError), request.style);
    if (!rollout) return this.fallback.resolve(request);
    return routeVersion(rollout, request.clientId, this.random);
  }
}
