/**
 * Batched, idempotent writes to one data stream: documents queue up (bounded: a writer that
 * outruns Elasticsearch waits for room, which is the back-pressure), go out in _bulk requests
 * of op_type create with the caller's id as _id, and each write resolves once Elasticsearch
 * has acknowledged that document. A 409 conflict means the id is already stored (an earlier
 * attempt got through), so it counts as success: retries never duplicate. 429 and 5xx answers,
 * per document or for the whole request, are retried with exponential back-off.
 */
import type { Client } from '@elastic/elasticsearch';

export interface BulkWriterOptions {
  /** Documents held (queued or in flight) before write() waits for room. Default 10000. */
  maxQueued?: number;
  /** Documents per _bulk request. Default 500. */
  maxBatch?: number;
  /** How long a lone document waits for company before it is sent, ms. Default 200. */
  lingerMs?: number;
  /** Attempts per document before its write fails. Default 6. */
  maxAttempts?: number;
  /** First back-off, ms; doubles per attempt. Default 200. */
  backoffMs?: number;
  /** Passed to _bulk: 'wait_for' makes writes visible to search before they resolve (tests). */
  refresh?: false | 'wait_for';
  /**
   * Nothing is sent before this resolves (the data stream's template and lifecycle policy are
   * in place); documents wait in the queue meanwhile. Default: send at once.
   */
  ready?: Promise<void>;
}

interface Pending {
  id: string;
  document: Record<string, unknown>;
  attempts: number;
  resolve(): void;
  reject(error: Error): void;
}

const RETRYABLE = (status: number): boolean => status === 429 || status >= 500;

export class BulkWriteError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'BulkWriteError';
  }
}

export class BulkWriter {
  private queue: Pending[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending = false;
  private closed = false;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private readonly options: Required<Omit<BulkWriterOptions, 'ready'>>;
  private isReady: boolean;

  constructor(
    private readonly client: Client,
    private readonly index: string,
    options: BulkWriterOptions = {},
  ) {
    this.options = {
      maxQueued: options.maxQueued ?? 10_000,
      maxBatch: options.maxBatch ?? 500,
      lingerMs: options.lingerMs ?? 200,
      maxAttempts: options.maxAttempts ?? 6,
      backoffMs: options.backoffMs ?? 200,
      refresh: options.refresh ?? false,
    };
    this.isReady = options.ready === undefined;
    void options.ready?.then(() => {
      this.isReady = true;
      if (this.queue.length > 0) this.schedule(0);
    });
  }

  /** Documents queued or in flight. */
  get held(): number {
    return this.queue.length + this.inFlight;
  }

  /** Writes one document under `id`; resolves once stored (or already stored). */
  async write(id: string, document: Record<string, unknown>): Promise<void> {
    if (this.closed) throw new BulkWriteError('the Elasticsearch writer is closed');
    while (this.held >= this.options.maxQueued) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ id, document, attempts: 0, resolve, reject });
      this.schedule(this.queue.length >= this.options.maxBatch ? 0 : this.options.lingerMs);
    });
  }

  /** Resolves once everything written so far has been settled. */
  async flush(): Promise<void> {
    if (this.held === 0) return;
    this.schedule(0);
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (!this.isReady) {
      // Elasticsearch never answered: what waits cannot be stored, and waiting would hang.
      for (const item of this.queue.splice(0)) {
        item.reject(new BulkWriteError(`Elasticsearch was not reachable before ${this.index} closed; ${item.id} was not stored`));
      }
      this.settled(0);
    }
    await this.flush();
    this.closed = true;
  }

  private schedule(delayMs: number): void {
    // Queued documents go out once the writer is ready (the constructor schedules them then).
    if (this.sending || !this.isReady) return;
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.send();
    }, delayMs);
  }

  private settled(count: number): void {
    this.inFlight -= count;
    while (this.roomWaiters.length > 0 && this.held < this.options.maxQueued) this.roomWaiters.shift()?.();
    if (this.held === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private retryLater(items: Pending[], reason: string, status?: number): void {
    for (const item of items) {
      item.attempts++;
      if (item.attempts >= this.options.maxAttempts) {
        item.reject(new BulkWriteError(`Elasticsearch did not store ${this.index}/${item.id} after ${item.attempts} attempts: ${reason}`, status));
        this.settled(1);
        continue;
      }
      const delay = this.options.backoffMs * 2 ** (item.attempts - 1);
      setTimeout(() => {
        this.inFlight--;
        this.queue.push(item);
        this.schedule(0);
      }, delay).unref();
    }
  }

  private async send(): Promise<void> {
    if (this.sending || this.queue.length === 0) return;
    this.sending = true;
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.inFlight += batch.length;
    try {
      const operations = batch.flatMap((item) => [{ create: { _index: this.index, _id: item.id } }, item.document]);
      let response;
      try {
        response = await this.client.bulk({ operations, refresh: this.options.refresh });
      } catch (error) {
        const status = (error as { meta?: { statusCode?: number } }).meta?.statusCode;
        if (status !== undefined && !RETRYABLE(status)) {
          for (const item of batch) item.reject(new BulkWriteError(`Elasticsearch refused the bulk request: ${String(error)}`, status));
          this.settled(batch.length);
        } else {
          this.retryLater(batch, error instanceof Error ? error.message : String(error), status);
        }
        return;
      }
      const retry: Pending[] = [];
      let lastReason = '';
      let done = 0;
      response.items.forEach((entry, i) => {
        const item = batch[i] as Pending;
        const result = entry.create ?? Object.values(entry)[0];
        const status = result?.status ?? 500;
        if (status < 300 || status === 409) {
          item.resolve();
          done++;
        } else if (RETRYABLE(status)) {
          lastReason = result?.error?.reason ?? `status ${status}`;
          retry.push(item);
        } else {
          item.reject(new BulkWriteError(`Elasticsearch refused ${this.index}/${item.id}: ${result?.error?.reason ?? `status ${status}`}`, status));
          done++;
        }
      });
      this.settled(done);
      if (retry.length > 0) this.retryLater(retry, lastReason);
    } finally {
      this.sending = false;
      if (this.queue.length > 0) this.schedule(this.queue.length >= this.options.maxBatch ? 0 : this.options.lingerMs);
    }
  }
}
