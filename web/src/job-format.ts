/** Training jobs as the recent-jobs list shows them (pure, unit-tested). */
import { formatDate } from './format';
import { JobKind, JobState, type Job } from './gen/nst/v1/trainer_service';

/** "88 of 600 steps"; empty before the trainer knows the total. */
export function stepsText(job: Pick<Job, 'step' | 'totalSteps'>): string {
  return job.totalSteps > 0 ? `${job.step} of ${job.totalSteps} steps` : '';
}

/**
 * What tells two rows for the same style apart: the kind, when it was created and the end of its id
 * (its random part: two jobs can start in the same minute).
 */
export function jobRowDetails(job: Pick<Job, 'id' | 'kind' | 'createdAt' | 'baseVersion'>): string {
  const kind = job.kind === JobKind.JOB_KIND_FINE_TUNE ? `fine-tune of version ${job.baseVersion || '?'}` : 'new style';
  return [kind, formatDate(job.createdAt), `job …${job.id.slice(-6)}`].filter(Boolean).join(' · ');
}

const FINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

/** How far a copy of a job has got: its step, with a final state ahead of the same step. */
const progressOf = (job: Job): number => job.step + (FINAL.has(job.state) ? 0.5 : 0);

/**
 * The listed jobs with any newer copy the page holds (the watched job streams its progress,
 * while the list is a snapshot from when it was loaded), each job once, in list order.
 */
export function withLiveJobs(listed: readonly Job[], live: ReadonlyMap<string, Job>): Job[] {
  const seen = new Set<string>();
  const out: Job[] = [];
  for (const job of listed) {
    if (seen.has(job.id)) continue;
    seen.add(job.id);
    const fresh = live.get(job.id);
    out.push(fresh && progressOf(fresh) > progressOf(job) ? fresh : job);
  }
  return out;
}
