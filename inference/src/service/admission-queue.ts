/**
 * Bounded admission for inference work: at most `maxConcurrent` requests hold a slot and at
 * most `queueLength` wait for one. A request that finds both full is refused at once
 * (RESOURCE_EXHAUSTED) instead of piling up; a waiting request whose call is cancelled or
 * runs past its deadline leaves the queue without ever taking a slot.
 *
 * Fair between clients: one client (its address when a front door vouches for it, else its id)
 * may hold at most `perClient` places, and a freed slot
 * goes to the waiting request whose client has the fewest running, earliest first among
 * equals, so a batch from one client cannot starve a person waiting on one photo. Requests
 * without a client id count as one client for the order, with no limit of their own.
 *
 * It also learns how fast the server gets through pixels (from the slots it hands out), so a
 * request whose deadline would pass before the work ahead of it and its own work are done can
 * be refused at once (RESOURCE_EXHAUSTED, with the estimate) instead of waiting in the queue
 * and ending in DEADLINE_EXCEEDED after using a place and, often, a slot.
 *
 * Hand-written (rather than p-limit or p-queue) because it needs these things together:
 * refusal when the wait list is full, removal of an aborted waiter, a ticket that holds a
 * queue place from admission (before the upload has arrived) until the slot is taken, and a
 * wait estimate from the work queued ahead.
 */
import { status } from '@grpc/grpc-js';
import { StyleServiceError } from './errors';

/** Why admission refused a request: slots and wait list full, the client's own limit, or its deadline. */
export type RefusalReason = 'busy' | 'client_limit' | 'deadline';

/** RESOURCE_EXHAUSTED from admission, with the reason (the refusal counter's label). */
export class AdmissionRefused extends StyleServiceError {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(status.RESOURCE_EXHAUSTED, message);
  }
}

export interface AdmissionLimits {
  maxConcurrent: number;
  queueLength: number;
  /** Most places (running or waiting) one client id may hold; 0 or absent: no limit. */
  perClient?: number;
}

/** Weight of the newest observation in the pixel-rate average. */
const RATE_SMOOTHING = 0.3;

/** A request's place: admitted now, turned into a slot by `acquire`, given back by `release`. */
export interface Ticket {
  /** Requests ahead of this one when it was admitted (running requests not counted). */
  readonly position: number;
  /**
   * Declares this request's work (pixels to stylize), for the wait estimates, and refuses it
   * (AdmissionRefused 'deadline') when the estimate passes `deadline` (epoch ms): better an
   * immediate RESOURCE_EXHAUSTED with the estimate than a queue place held until
   * DEADLINE_EXCEEDED. Nothing is refused without a deadline or before a request has finished.
   */
  declare(pixels: number, deadline?: number): void;
  /**
   * Estimated milliseconds from now until this request would be done: the work queued and
   * running ahead of it plus its own, at the server's observed rate. Undefined until the
   * queue has seen a request finish (or before `declare`).
   */
  estimateMs(): number | undefined;
  /** Waits for a slot. Rejects with the signal's reason if it aborts first. */
  acquire(signal?: AbortSignal): Promise<void>;
  /**
   * Frees the slot or the queue place; safe to call more than once. `finished` says the
   * declared work was done, so its time teaches the rate (failed or cancelled work does not).
   */
  release(finished?: boolean): void;
}

export class AdmissionQueue {
  /** Tickets holding a slot. */
  private running = 0;
  /** Tickets admitted but not holding a slot (uploading, or waiting in `ready`). */
  private pending = 0;
  /** Tickets that asked for a slot, in arrival order, with their client. */
  private readonly ready: Array<{ wake: () => void; client: string }> = [];
  /** Places (admitted, not released) and slots per client id. */
  private readonly clients = new Map<string, { places: number; running: number }>();
  /** Declared pixels of each waiting ticket (keyed by its wake function) and running ticket. */
  private readonly waitingPixels = new Map<() => void, number>();
  private readonly runningPixels = new Set<{ pixels: number }>();
  /** Server-wide milliseconds per pixel, smoothed; undefined until a request finishes. */
  private msPerPixel: number | undefined;

  constructor(
    private readonly limits: AdmissionLimits,
    /** Told of every refusal, with its reason (the refusal counter). */
    private readonly onRefused: (reason: RefusalReason) => void = () => undefined,
  ) {
    if (limits.maxConcurrent < 1) throw new RangeError('maxConcurrent must be at least 1');
    if (limits.queueLength < 0) throw new RangeError('queueLength must not be negative');
  }

  /** Requests holding a slot. */
  get active(): number {
    return this.running;
  }

  /** Requests admitted and not yet holding a slot. */
  get queued(): number {
    return this.pending;
  }

  /**
   * Admits a request or throws RESOURCE_EXHAUSTED when the slots and the wait list are all
   * taken. Admission reserves a place only; the slot is taken by `acquire`, once the upload
   * is complete, so a slow upload never holds inference capacity.
   */
  admit(clientId = '', clientName = `client '${clientId}'`): Ticket {
    const { maxConcurrent, queueLength } = this.limits;
    if (this.running + this.pending >= maxConcurrent + queueLength) {
      throw this.refuse(
        'busy',
        `the server is busy: ${this.running} requests running and ${this.pending} waiting ` +
          `(NST_MAX_CONCURRENT=${maxConcurrent}, NST_QUEUE_LENGTH=${queueLength}); retry shortly`,
      );
    }
    const perClient = this.limits.perClient ?? 0;
    const client = this.clients.get(clientId) ?? { places: 0, running: 0 };
    if (clientId !== '' && perClient > 0 && client.places >= perClient) {
      throw this.refuse(
        'client_limit',
        `${clientName} already has ${client.places} requests running or waiting, the most one client may ` +
          `(NST_QUEUE_PER_CLIENT=${perClient}); send the next when one finishes`,
      );
    }
    client.places++;
    this.clients.set(clientId, client);
    const position = Math.max(0, this.running + this.pending - maxConcurrent + 1);
    this.pending++;
    let state: 'pending' | 'waiting' | 'running' | 'released' = 'pending';
    let wake: (() => void) | undefined;
    const work = { pixels: 0 };
    let startedAt = 0;
    const leaveQueue = (): void => {
      if (wake) {
        const index = this.ready.findIndex((waiter) => waiter.wake === wake);
        if (index >= 0) this.ready.splice(index, 1);
        this.waitingPixels.delete(wake);
      }
    };
    const startRunning = (): void => {
      state = 'running';
      this.pending--;
      this.running++;
      client.running++;
      startedAt = performance.now();
      this.runningPixels.add(work);
    };
    const estimateMs = (): number | undefined => {
      if (this.msPerPixel === undefined || work.pixels === 0) return undefined;
      // Running requests are taken as half done; waiting ones ahead (all of them, since this
      // ticket has not asked for a slot yet) in full.
      let ahead = 0;
      for (const running of this.runningPixels) ahead += running.pixels / 2;
      for (const pixels of this.waitingPixels.values()) ahead += pixels;
      return (ahead + work.pixels) * this.msPerPixel;
    };
    return {
      position,
      declare: (pixels: number, deadline?: number) => {
        work.pixels = Math.max(0, pixels);
        if (deadline === undefined) return;
        const estimate = estimateMs();
        const left = deadline - Date.now();
        if (estimate === undefined || estimate <= left) return;
        throw this.refuse(
          'deadline',
          `the server is busy: this ${(pixels / 1e6).toFixed(1)} MP image would take about ${(estimate / 1000).toFixed(1)} s ` +
            `with the work queued ahead of it, and the call's deadline is in ${(Math.max(0, left) / 1000).toFixed(1)} s; ` +
            'retry later, with a longer deadline, or with a smaller max_dimension',
        );
      },
      estimateMs,
      acquire: (signal?: AbortSignal) => {
        if (state !== 'pending') return Promise.reject(new Error(`ticket is ${state}; acquire it once`));
        signal?.throwIfAborted();
        if (this.running < maxConcurrent && this.ready.length === 0) {
          startRunning();
          return Promise.resolve();
        }
        state = 'waiting';
        return new Promise<void>((resolve, reject) => {
          const onAbort = (): void => {
            leaveQueue();
            reject(signal?.reason);
          };
          const self = (): void => {
            signal?.removeEventListener('abort', onAbort);
            this.waitingPixels.delete(self);
            startRunning();
            resolve();
          };
          wake = self;
          signal?.addEventListener('abort', onAbort, { once: true });
          this.ready.push({ wake: self, client: clientId });
          this.waitingPixels.set(self, work.pixels);
        });
      },
      release: (finished = false) => {
        if (state === 'released') return;
        if (state === 'running') {
          if (finished) this.observe(work.pixels, performance.now() - startedAt, this.running);
          this.runningPixels.delete(work);
          this.running--;
          client.running--;
        } else {
          leaveQueue();
          this.pending--;
        }
        client.places--;
        if (client.places === 0) this.clients.delete(clientId);
        state = 'released';
        this.grantNext();
      },
    };
  }

  private refuse(reason: RefusalReason, message: string): AdmissionRefused {
    this.onRefused(reason);
    return new AdmissionRefused(reason, message);
  }

  /**
   * One finished request: `heldMs` for `pixels` while `sharing` requests held slots. Requests
   * running side by side share the cores, so the server-wide rate is the per-request time
   * divided by how many shared them (an estimate; it errs towards admitting).
   */
  private observe(pixels: number, heldMs: number, sharing: number): void {
    if (pixels <= 0 || heldMs <= 0) return;
    const sample = heldMs / pixels / Math.max(1, sharing);
    this.msPerPixel = this.msPerPixel === undefined ? sample : this.msPerPixel + RATE_SMOOTHING * (sample - this.msPerPixel);
  }

  /** Gives free slots to waiters: fewest running for their client first, then arrival order. */
  private grantNext(): void {
    while (this.running < this.limits.maxConcurrent && this.ready.length > 0) {
      let pick = 0;
      let fewest = Number.POSITIVE_INFINITY;
      for (let i = 0; i < this.ready.length; i++) {
        const running = this.clients.get((this.ready[i] as { client: string }).client)?.running ?? 0;
        if (running < fewest) {
          fewest = running;
          pick = i;
        }
      }
      const [next] = this.ready.splice(pick, 1);
      next?.wake();
    }
  }
}
