/**
 * StyleService's view of the releases: it subscribes to ReleaseService's WatchRollouts stream
 * and routes by the latest state received. ReleaseService owns the rollouts; this is a copy.
 *
 * - While ReleaseService is away (restarting, redeployed, unreachable) the last state keeps
 *   routing, and the feed reconnects with backoff (0.5 s doubling to 8 s).
 * - Each state received is also written to a file of StyleService's own
 *   (NST_ROUTING_STATE_FILE), read at start, so a StyleService restarted while ReleaseService
 *   is down still routes canaries as they were instead of serving every style's latest version.
 * - Keep-alive pings on the stream notice a server that vanished without closing it.
 */
import { credentials, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ReleaseServiceClient, RolloutPhase, type Rollout, type WatchRolloutsResponse } from '@nst/proto';
import { errorCode, replaceFileDurable } from '@nst/runtime';
import type { RolloutPhaseName, RoutingRollout } from '@nst/runtime/routing';
import { z } from 'zod';
import type { RoutingSource } from './rollout-router';

const PHASES: Partial<Record<RolloutPhase, RolloutPhaseName>> = {
  [RolloutPhase.ROLLOUT_PHASE_STABLE]: 'stable',
  [RolloutPhase.ROLLOUT_PHASE_CANARY]: 'canary',
  [RolloutPhase.ROLLOUT_PHASE_PROMOTED]: 'promoted',
  [RolloutPhase.ROLLOUT_PHASE_ROLLED_BACK]: 'rolled_back',
};

const RoutingRolloutSchema = z.object({
  style: z.string().min(1),
  phase: z.enum(['stable', 'canary', 'promoted', 'rolled_back']),
  stableVersion: z.string().min(1),
  canaryVersion: z.string().min(1).optional(),
  canaryWeight: z.number().int().min(0).max(100),
});

const SavedStateSchema = z.object({
  format: z.literal(1),
  /** When StyleService received it. */
  receivedAt: z.iso.datetime(),
  rollouts: z.array(RoutingRolloutSchema),
});
type SavedState = z.infer<typeof SavedStateSchema>;

/** The routing part of a streamed Rollout; undefined for one this version cannot route by. */
export function toRoutingRollout(rollout: Rollout): RoutingRollout | undefined {
  const phase = PHASES[rollout.phase];
  if (!phase || !rollout.style || !rollout.stableVersion) return undefined;
  const canary = phase === 'canary' && rollout.canaryVersion ? { canaryVersion: rollout.canaryVersion } : {};
  return { style: rollout.style, phase, stableVersion: rollout.stableVersion, canaryWeight: rollout.canaryWeight, ...canary };
}

export interface RolloutFeedLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface RolloutFeedOptions {
  /** ReleaseService's address (NST_RELEASE_ADDR). */
  address: string;
  /** NST_ROUTING_STATE_FILE. */
  stateFile: string;
  logger: RolloutFeedLogger;
  /** First and longest wait between reconnects; default 500 and 8000 ms. */
  backoffMs?: { min: number; max: number };
}

export class RolloutFeed implements RoutingSource {
  private rollouts = new Map<string, RoutingRollout>();
  private receivedAt: string | undefined;
  private readonly client: ReleaseServiceClient;
  private call: ClientReadableStream<WatchRolloutsResponse> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private delayMs: number;
  private connected = false;
  private closed = false;
  private saving: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<() => void>();

  private constructor(private readonly options: RolloutFeedOptions) {
    this.client = new ReleaseServiceClient(options.address, credentials.createInsecure(), {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    });
    this.delayMs = options.backoffMs?.min ?? 500;
  }

  /** Loads the saved state (if any) and starts following ReleaseService in the background. */
  static async open(options: RolloutFeedOptions): Promise<RolloutFeed> {
    const feed = new RolloutFeed(options);
    await feed.loadSaved();
    feed.subscribe();
    return feed;
  }

  rollout(style: string): RoutingRollout | undefined {
    return this.rollouts.get(style);
  }

  /** Every style's rollout in the state routing uses now. */
  all(): RoutingRollout[] {
    return [...this.rollouts.values()];
  }

  /** Whether the stream is up (a state arrived on the current connection). */
  get live(): boolean {
    return this.connected;
  }

  /** When the state routing uses now was received; undefined when there is none. */
  get stateReceivedAt(): string | undefined {
    return this.receivedAt;
  }

  /** Calls `listener` after each state received; returns the unsubscribe function. */
  onUpdate(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops following; waits for the last state to be saved. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.call?.cancel();
    this.client.close();
    await this.saving;
  }

  private async loadSaved(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.options.stateFile, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw error;
    }
    let saved: SavedState;
    try {
      saved = SavedStateSchema.parse(JSON.parse(text));
    } catch (error) {
      // A copy, not the source of truth: ReleaseService sends the state again when it answers.
      this.options.logger.warn({ err: error, file: this.options.stateFile }, 'saved rollout state unreadable; ignored until ReleaseService sends the state');
      return;
    }
    this.apply(saved.rollouts, saved.receivedAt);
    this.options.logger.info({ file: this.options.stateFile, receivedAt: saved.receivedAt, rollouts: saved.rollouts.length }, 'routing by the saved rollout state until ReleaseService answers');
  }

  private apply(rollouts: RoutingRollout[], receivedAt: string): void {
    this.rollouts = new Map(rollouts.map((r) => [r.style, r]));
    this.receivedAt = receivedAt;
    for (const listener of this.listeners) listener();
  }

  private subscribe(): void {
    if (this.closed) return;
    const call = this.client.watchRollouts({});
    this.call = call;
    call.on('data', (message: WatchRolloutsResponse) => {
      const rollouts = message.rollouts.map(toRoutingRollout).filter((r): r is RoutingRollout => r !== undefined);
      if (!this.connected) this.options.logger.info({ address: this.options.address, rollouts: rollouts.length }, 'following ReleaseService rollouts');
      this.connected = true;
      this.delayMs = this.options.backoffMs?.min ?? 500;
      const receivedAt = new Date().toISOString();
      this.apply(rollouts, receivedAt);
      this.save({ format: 1, receivedAt, rollouts });
    });
    const lost = (error?: ServiceError): void => {
      if (this.call !== call) return;
      this.call = undefined;
      if (this.closed) return;
      if (this.connected || error?.code !== status.UNAVAILABLE) {
        this.options.logger.warn(
          { address: this.options.address, code: error ? status[error.code] : 'OK', details: error?.details, stateReceivedAt: this.receivedAt ?? null },
          this.receivedAt ? 'ReleaseService stream lost; routing by the last rollout state it sent' : 'ReleaseService stream lost; every style serves its latest version until it answers',
        );
      }
      this.connected = false;
      this.retry = setTimeout(() => this.subscribe(), this.delayMs);
      this.delayMs = Math.min(this.delayMs * 2, this.options.backoffMs?.max ?? 8000);
    };
    call.on('error', (error: ServiceError) => lost(error));
    call.on('end', () => lost());
  }

  /** Writes states in order; a failed write is logged and the next state tries again. */
  private save(state: SavedState): void {
    const file = this.options.stateFile;
    this.saving = this.saving
      .then(async () => {
        await mkdir(dirname(file), { recursive: true });
        await replaceFileDurable(file, JSON.stringify(state, null, 2) + '\n');
      })
      .catch((error: unknown) => this.options.logger.warn({ err: error, file }, 'could not save the rollout state; routing is unaffected'));
  }
}
