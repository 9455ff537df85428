/**
 * Training jobs in the platform's Prometheus metrics: the progress of each running job
 * (nst_training_job_progress_ratio, removed when it ends) and jobs finished by final state
 * (nst_training_jobs_total), fed from the job manager's updates.
 */
import { platformMetrics } from '@nst/runtime';
import type { JobUpdate } from './job-manager';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

export function jobMetricsListener(): (update: JobUpdate) => void {
  const metrics = platformMetrics();
  const finished = new Set<string>();
  return ({ job }) => {
    const labels = { job: job.id, style: job.style, kind: job.kind };
    if (job.state === 'running') {
      metrics.trainingProgress.set(labels, job.totalSteps > 0 ? Math.min(1, job.step / job.totalSteps) : 0);
    } else if (FINAL.has(job.state)) {
      metrics.trainingProgress.remove(labels);
      // A job's final update may be emitted more than once (watchers re-read it): count it once.
      if (!finished.has(job.id)) {
        finished.add(job.id);
        metrics.trainingJobs.inc({ kind: job.kind, state: job.state });
      }
    } else {
      metrics.trainingProgress.remove(labels);
    }
  };
}
