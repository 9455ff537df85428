import { describe, expect, it } from 'vitest';
import { Job, JobKind, JobState } from './gen/nst/v1/trainer_service';
import { jobRowDetails, stepsText, withLiveJobs } from './job-format';

const job = (over: Partial<Job>): Job => ({ ...Job.fromPartial({ id: '20261204T040300Z-a1b2c3', style: 'blue', kind: JobKind.JOB_KIND_TRAIN }), ...over });

describe('recent jobs', () => {
  it('writes steps as the job card does, and nothing before the total is known', () => {
    expect(stepsText(job({ step: 88, totalSteps: 600 }))).toBe('88 of 600 steps');
    expect(stepsText(job({ totalSteps: 0 }))).toBe('');
  });

  it('tells two jobs of one style apart by kind, time and id', () => {
    const created = new Date('2026-12-04T04:03:00Z');
    const a = jobRowDetails(job({ createdAt: created }));
    const b = jobRowDetails(job({ id: '20261204T040300Z-ffee01', kind: JobKind.JOB_KIND_FINE_TUNE, baseVersion: '2', createdAt: created }));
    expect(a).toMatch(/^new style · .+ · job …a1b2c3$/);
    expect(b).toMatch(/^fine-tune of version 2 · .+ · job …ffee01$/);
    expect(a).not.toBe(b);
  });

  it('shows the streamed copy of a job over the older list snapshot, and each job once', () => {
    const listed = [job({ step: 0, totalSteps: 600, state: JobState.JOB_STATE_RUNNING }), job({ id: 'other', step: 4, totalSteps: 4, state: JobState.JOB_STATE_SUCCEEDED })];
    const live = new Map([['20261204T040300Z-a1b2c3', job({ step: 88, totalSteps: 600, state: JobState.JOB_STATE_RUNNING })]]);
    const rows = withLiveJobs([...listed, listed[0]!], live);
    expect(rows.map((row) => [row.id, row.step])).toEqual([['20261204T040300Z-a1b2c3', 88], ['other', 4]]);
    // A list loaded after the job finished is newer than the last streamed step.
    const finished = job({ step: 88, totalSteps: 600, state: JobState.JOB_STATE_CANCELLED });
    expect(withLiveJobs([finished], live)[0]?.state).toBe(JobState.JOB_STATE_CANCELLED);
  });
});
