/**
 * The loop: watches ratings and, when a style version's bad ratings cross the threshold
 * (at least `minBad` bad ratings AND a bad share of at least `badRatio`, within the last
 * `windowMinutes`), starts a fine-tune of that version on its own.
 *
 * It polls the shared feedback store rather than being told by StyleService: feedback is
 * durable in the store before it is acknowledged, so the store is the one place that sees
 * every rating, including those given while the trainer was down or busy, and StyleService
 * keeps no dependency on the trainer being up. Polling costs one read of the recent window.
 *
 * Each request counts once, by its latest rating: one person rating the same result bad again
 * and again must not be able to start a fine-tune (and then a canary) alone. The stores already
 * keep one rating per request; counting distinct requests here holds whatever reader is used.
 *
 * Only ratings newer than the version's previous fine-tune count (old evidence was already
 * acted on), and a style is not fine-tuned again within `cooldownMinutes` of its last
 * fine-tune. Both are derived from the persisted jobs, so they survive restarts.
 */
import type { Hyperparameters } from '@nst/proto';
import type { JobManager, JobManagerLogger } from './job-manager';
import type { JobRecord } from './job-store';
import type { FeedbackReader, RatingRecord } from './ports';
import type { Trainer } from './trainer';

export interface FineTuneThresholds {
  minBad: number;
  badRatio: number;
  windowMinutes: number;
  cooldownMinutes: number;
}

export interface FineTuneTriggerOptions extends FineTuneThresholds {
  feedback: FeedbackReader;
  trainer: Trainer;
  jobs: JobManager;
  logger: JobManagerLogger;
  /** Seconds between looks at the feedback store. */
  pollSeconds: number;
  /** Settings of the automatic fine-tunes; the fine-tune defaults when absent. */
  hyperparameters?: Hyperparameters;
  now?: () => Date;
}

export interface TriggerDecision {
  style: string;
  version: string;
  bad: number;
  total: number;
}

const MINUTE = 60_000;

/** Versions whose recent ratings cross the thresholds, ignoring cooldowns. `ratings` are oldest first. */
export function versionsOverThreshold(ratings: RatingRecord[], thresholds: FineTuneThresholds, notBefore: (style: string, version: string) => string): TriggerDecision[] {
  // The latest rating of each request, keyed by version and request (or the rating's own id).
  const latest = new Map<string, RatingRecord>();
  for (const rating of ratings) {
    if (rating.receivedAt < notBefore(rating.style, rating.version)) continue;
    const key = `${rating.style}\u0000${rating.version}\u0000${rating.requestId ? `r:${rating.requestId}` : `f:${rating.id}`}`;
    latest.set(key, rating);
  }
  const counts = new Map<string, TriggerDecision>();
  for (const rating of latest.values()) {
    const key = `${rating.style}\u0000${rating.version}`;
    const entry = counts.get(key) ?? { style: rating.style, version: rating.version, bad: 0, total: 0 };
    entry.total += 1;
    if (rating.rating === 'bad') entry.bad += 1;
    counts.set(key, entry);
  }
  return [...counts.values()].filter((c) => c.bad >= thresholds.minBad && c.bad / c.total >= thresholds.badRatio);
}

export class FineTuneTrigger {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: FineTuneTriggerOptions) {
    this.now = options.now ?? (() => new Date());
  }

  start(): void {
    const tick = (): void => {
      this.timer = setTimeout(() => {
        void this.check().finally(() => {
          if (this.timer) tick();
        });
      }, this.options.pollSeconds * 1000);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.checking;
  }

  /** One look at the feedback store; starts the fine-tunes that are due. Never throws. */
  check(): Promise<void> {
    const running =
      this.checking ??
      this.checkOnce()
        .then(
          () => undefined,
          (error: unknown) => this.options.logger.warn({ err: error }, 'fine-tune trigger could not read feedback'),
        )
        .finally(() => {
          this.checking = undefined;
        });
    this.checking = running;
    return running;
  }

  private async checkOnce(): Promise<JobRecord[]> {
    const { windowMinutes, cooldownMinutes } = this.options;
    const now = this.now();
    const since = new Date(now.getTime() - windowMinutes * MINUTE);
    const ratings = await this.options.feedback.ratingsSince(since);
    const fineTunes = this.options.jobs.list().filter((job) => job.kind === 'fine-tune');
    const lastFineTuneOf = (style: string, version: string): string =>
      fineTunes.filter((job) => job.style === style && job.baseVersion === version).reduce((latest, job) => (job.createdAt > latest ? job.createdAt : latest), '');
    const started: JobRecord[] = [];
    for (const due of versionsOverThreshold(ratings, this.options, lastFineTuneOf)) {
      const recent = fineTunes.find(
        (job) => job.style === due.style && (job.state === 'queued' || job.state === 'running' || now.getTime() - Date.parse(job.createdAt) < cooldownMinutes * MINUTE),
      );
      if (recent) continue;
      const reason = `${due.bad} bad ratings of ${due.total} for version ${due.version} in the last ${windowMinutes} minutes (thresholds: ${this.options.minBad} bad, ${Math.round(this.options.badRatio * 100)}% bad)`;
      try {
        const job = await this.options.trainer.fineTune({
          style: due.style,
          version: due.version,
          reason,
          hyperparameters: this.options.hyperparameters,
          trigger: { bad: due.bad, total: due.total, windowMinutes },
        });
        started.push(job);
        this.options.logger.info({ jobId: job.id, style: due.style, version: due.version, bad: due.bad, total: due.total }, 'automatic fine-tune started');
      } catch (error) {
        this.options.logger.warn({ err: error, style: due.style, version: due.version }, 'automatic fine-tune could not start');
      }
    }
    return started;
  }
}
