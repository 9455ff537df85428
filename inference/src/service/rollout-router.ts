/**
 * The local weighted router: StyleService's VersionResolver when releases are on. The rules are
 * @nst/runtime/routing's, the same as the Istio VirtualService ReleaseService renders: a pin
 * wins, a style without a rollout serves its latest version, otherwise the rollout's canary or
 * stable version serves.
 *
 * The rollouts come from a RoutingSource (rollout-feed.ts: the latest state ReleaseService
 * streamed, or the last one it sent while it is away), so a change reaches calls that start
 * after it arrives and never a call in flight.
 */
import { routeVersion, type RoutingRollout } from '@nst/runtime/routing';
import type { VersionRequest, VersionResolver } from './catalog';

/** Where the router reads a style's rollout. */
export interface RoutingSource {
  rollout(style: string): RoutingRollout | undefined;
}

export interface RolloutRouterOptions {
  /** [0, 1) source for callers without a client id; default Math.random. */
  random?: () => number;
}

export class RolloutRouter implements VersionResolver {
  private readonly random: () => number;

  /**
   * @param fallback resolves pins and styles without a rollout (LatestVersionResolver: it
   *   throws NOT_FOUND for unknown styles and versions).
   */
  constructor(
    private readonly source: RoutingSource,
    private readonly fallback: VersionResolver,
    options: RolloutRouterOptions = {},
  ) {
    this.random = options.random ?? Math.random;
  }

  async resolve(request: VersionRequest): Promise<string> {
    if (request.pinnedVersion) return this.fallback.resolve(request);
    const rollout = this.source.rollout(request.style);
    if (!rollout) return this.fallback.resolve(request);
    return routeVersion(rollout, request.clientId, this.random);
  }
}
