/**
 * The routing rules StyleService's local router and the Istio routing rendered by ReleaseService
 * share, over the part of a rollout that routing reads:
 *
 * 1. A pinned version (StylizeHeader.version or `x-nst-version` metadata) always wins.
 * 2. Without a rollout the style's latest version serves.
 * 3. With a canary: a caller with a client id goes to the canary iff bucketOf(clientId) < weight
 *    (sticky, monotone in the weight); a caller without one is split per call at random.
 * 4. Otherwise the rollout's stable version serves (a registered but unreleased version does not).
 *
 * Rules 1 and 2 need the catalogue and live in StyleService; 3 and 4 are here.
 */
import { bucketOf } from './bucket';

export type RolloutPhaseName = 'stable' | 'canary' | 'promoted' | 'rolled_back';

/** What routing needs of a style's rollout (ReleaseService's RolloutRecord has more). */
export interface RoutingRollout {
  style: string;
  phase: RolloutPhaseName;
  stableVersion: string;
  /** Present exactly while phase is 'canary'. */
  canaryVersion?: string | undefined;
  /** Percent of unpinned calls for the canary. */
  canaryWeight: number;
}

export type RouteArm = 'stable' | 'canary';

/**
 * Which side of a rollout an unpinned call goes to. `random` returns [0, 1) and is used only
 * for callers without a client id.
 */
export function routeArm(rollout: RoutingRollout, clientId: string, random: () => number = Math.random): RouteArm {
  if (rollout.phase !== 'canary' || rollout.canaryVersion === undefined || rollout.canaryWeight <= 0) return 'stable';
  if (rollout.canaryWeight >= 100) return 'canary';
  if (clientId) return bucketOf(clientId) < rollout.canaryWeight ? 'canary' : 'stable';
  return random() * 100 < rollout.canaryWeight ? 'canary' : 'stable';
}

/** The version an unpinned call is served by under `rollout`. */
export function routeVersion(rollout: RoutingRollout, clientId: string, random: () => number = Math.random): string {
  return routeArm(rollout, clientId, random) === 'canary' ? (rollout.canaryVersion as string) : rollout.stableVersion;
}
