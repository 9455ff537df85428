/**
 * Bounded admission for inference work: at most `maxConcurrent` requests hold a slot and at
 * most `queueLength` wait for one. A request that finds both full is refused at once
 * (RESOURCE_EXHAUSTED) instead of piling up; a waiting request whose call is cancelled or
 * runs past its deadline leaves the queue without ever taking a slot.
 *
 * Hand-written (rather than p-limit or p-queue) because it needs three things together:
 * refusal when the wait list is full, removal of an aborted waiter, and a ticket that holds a
 * queue place from admission (before the upload has arrived) until the slot is taken.
 */
import { resourceExhausted } from './errors';

export interface AdmissionLimits {
  maxConcurrent: number;
  queueLength: number;
}

/** A request's place: admitted now, turned into a slot by `acquire`, given back by `release`. */
export interface Ticket {
  /** Requests ahead of this one when it was admitted (running requests not counted). */
  readonly position: number;
  /** Waits for a slot. Rejects with the signal's reason if it aborts first. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Frees the slot or the queue place; safe to call more than once. */
  release(): void;
}

export class AdmissionQueue {
  /** Tickets holding a slot. */
  private running = 0;
  /** Tickets admitted but not holding a slot (uploading, or waiting in `ready`). */
  private pending = 0;
  /** Tickets that asked for a slot, in arrival order. */
  private readonly ready: Array<() => void> = [];

  constructor(private readonly limits: AdmissionLimits) {
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
  admit(): Ticket {
    const { maxConcurrent, queueLength } = this.limits;
    if (this.running + this.pending >= maxConcurrent + queueLength) {
      throw resourceExhausted(
        `the server is busy: ${this.running} requests running and ${this.pending} waiting ` +
          `(NST_MAX_CONCURRENT=${maxConcurrent}, NST_QUEUE_LENGTH=${queueLength}); retry shortly`,
      );
    }
    const position = Math.max(0, this.running + this.pending - maxConcurrent + 1);
    this.pending++;
    let state: 'pending' | 'waiting' | 'running' | 'released' = 'pending';
    let wake: (() => void) | undefined;
    const leaveQueue = (): void => {
      if (wake) {
        const index = this.ready.indexOf(wake);
        if (index >= 0) this.ready.splice(index, 1);
      }
    };
    return {
      position,
      acquire: (signal?: AbortSignal) => {
        if (state !== 'pending') return Promise.reject(new Error(`ticket is ${state}; acquire it once`));
        signal?.throwIfAborted();
        if (this.running < maxConcurrent && this.ready.length === 0) {
          state = 'running';
          this.pending--;
          this.running++;
          return Promise.resolve();
        }
        state = 'waiting';
        return new Promise<void>((resolve, reject) => {
          const onAbort = (): void => {
            leaveQueue();
            reject(signal?.reason);
          };
          wake = () => {
            signal?.removeEventListener('abort', onAbort);
            state = 'running';
            this.pending--;
            this.running++;
            resolve();
          };
          signal?.addEventListener('abort', onAbort, { once: true });
          this.ready.push(wake);
        });
      },
      release: () => {
        if (state === 'released') return;
        if (state === 'running') {
          this.running--;
        } else {
          leaveQueue();
          this.pending--;
        }
        state = 'released';
        this.grantNext();
      },
    };
  }

  private grantNext(): void {
    while (this.running < this.limits.maxConcurrent) {
      const next = this.ready.shift();
      if (!next) return;
      next();
    }
  }
}
