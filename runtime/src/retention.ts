/**
 * Retention for the embedded stores: the writing process (StyleService) deletes what is past
 * its age limit at start and then every hour. Elasticsearch needs none of this (its data
 * streams carry lifecycle policies, elasticsearch/setup.ts); the embedded JSON-lines files
 * would otherwise grow for good (one serving event per stylize call).
 */

export interface RetentionTarget {
  /** What is pruned, for the log ("feedback", "stylize events"). */
  name: string;
  retentionDays: number;
  /** Deletes what is older than `before`; returns the removed entries or their count. */
  prune(before: Date): Promise<number | readonly unknown[]>;
}

export interface RetentionSweepOptions {
  logger: { info(fields: object, message: string): void; warn(fields: object, message: string): void };
  /** Default one hour. */
  intervalMs?: number;
  now?: () => Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Prunes every target now and then on an interval; the returned function stops it. */
export function startRetentionSweep(targets: readonly RetentionTarget[], options: RetentionSweepOptions): { stop(): Promise<void>; done: Promise<void> } {
  const now = options.now ?? (() => new Date());
  let running: Promise<void> = Promise.resolve();
  const sweep = (): Promise<void> => {
    running = (async () => {
      for (const target of targets) {
        const before = new Date(now().getTime() - target.retentionDays * DAY_MS);
        try {
          const removed = await target.prune(before);
          const count = typeof removed === 'number' ? removed : removed.length;
          if (count > 0) options.logger.info({ store: target.name, removed: count, before: before.toISOString() }, `deleted ${target.name} past retention`);
        } catch (err) {
          // A failed sweep (full disk, a store closing) must not stop the service; the next one retries.
          options.logger.warn({ err, store: target.name }, `${target.name} retention sweep failed; retried at the next sweep`);
        }
      }
    })();
    return running;
  };
  const done = sweep();
  const timer = setInterval(() => void sweep(), options.intervalMs ?? 60 * 60 * 1000).unref();
  return {
    done,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
