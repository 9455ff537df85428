/**
 * Train your own style: upload a painting, watch the job live (loss chart, previews, ETA),
 * then use the new style. Also lists recent jobs so a reload can pick a job up again.
 */
import { adminToken, callMetadata, operatorToken, setAdminToken, setOperatorToken, trainerService } from './api';
import { announce, clear, confirmFirst, h, uid } from './dom';
import { describeError } from './errors';
import { formatDuration, slugify } from './format';
import { JobKind, JobState, LossNetwork, StylePooling, StyleStatistic, type Job } from './gen/nst/v1/trainer_service';
import { createImagePicker } from './image-picker';
import { jobRowDetails, stepsText, withLiveJobs } from './job-format';
import { createLossChart } from './loss-chart';

export interface TrainView {
  element: HTMLElement;
  onShow(): void;
}

const STATE_LABEL: Record<number, string> = {
  [JobState.JOB_STATE_QUEUED]: 'Queued',
  [JobState.JOB_STATE_RUNNING]: 'Training',
  [JobState.JOB_STATE_SUCCEEDED]: 'Finished',
  [JobState.JOB_STATE_FAILED]: 'Failed',
  [JobState.JOB_STATE_CANCELLED]: 'Cancelled',
};

const FINAL_STATES = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

export function createTrainView(options: { useStyle: (style: string) => void }): TrainView {
  const painting = createImagePicker({ label: 'Choose a painting', hint: 'or drop it here. Its colours and brushwork become the style.' });
  const nameId = uid('name');
  const idId = uid('style-id');
  const descriptionId = uid('description');
  const stepsId = uid('steps');
  const sizeId = uid('crop');
  const kindId = uid('painting-kind');
  const tokenId = uid('token');
  const operatorId = uid('operator-token');
  const name = h('input', { id: nameId, type: 'text', required: true, maxlength: 60, autocomplete: 'off', placeholder: 'Blue period' });
  const styleId = h('input', {
    id: idId,
    type: 'text',
    required: true,
    pattern: '[a-z0-9]([a-z0-9\\-]*[a-z0-9])?',
    maxlength: 48,
    autocomplete: 'off',
    'aria-describedby': `${idId}-hint`,
  });
  const description = h('input', { id: descriptionId, type: 'text', maxlength: 200, placeholder: 'Deep blues with soft, visible strokes.' });
  const steps = h('input', { id: stepsId, type: 'number', min: 1, max: 100000, step: 1, inputmode: 'numeric', placeholder: 'trainer default' });
  const cropSize = h(
    'select',
    { id: sizeId },
    h('option', { value: '' }, 'Trainer default'),
    // The ImageNet loss needs crops of 96 px or more: a trial run trains on the random one.
    h('option', { value: '32', 'data-loss-network': 'random' }, '32 px: a quick trial run (colour and texture only)'),
    h('option', { value: '96' }, '96 px: fast, coarse'),
    h('option', { value: '192' }, '192 px: balanced'),
    h('option', { value: '256' }, '256 px: finer detail, slower'),
  );
  // How the painting's statistics are matched (MEASUREMENTS 18 and 24 in trainer/src/loss/style-loss.ts).
  const KIND_HINTS: Record<string, string> = {
    '': 'Matches the painting’s feature covariances: loose strokes spread over the whole canvas.',
    strokes: 'Matches sliced feature distributions: sharper strokes and motifs; the photo reads less clearly.',
    regions: 'Pools the statistics across each batch of photos, so a photo takes some of the painting’s regions instead of a blend of them all.',
  };
  const sliced = h('option', { value: 'strokes', 'data-statistic': 'sliced' }, 'Distinct strokes or motifs');
  const paintingKind = h(
    'select',
    { id: kindId, 'aria-describedby': `${kindId}-hint` },
    h('option', { value: '' }, 'Brushwork all over (default)'),
    sliced,
    h('option', { value: 'regions', 'data-statistic': 'sliced', 'data-pooling': 'batch' }, 'Flat regions: posters, prints, glass'),
  );
  const kindHint = h('p', { id: `${kindId}-hint`, class: 'muted small' });
  /** The 32 px trial run trains on the random loss network. */
  const trialRun = () => cropSize.selectedOptions[0]?.dataset['lossNetwork'] === 'random';
  // Sliced statistics match the ImageNet network's layers: a trial run on the random one pools at most.
  const syncPaintingKind = () => {
    const trial = trialRun();
    sliced.disabled = trial;
    if (trial && paintingKind.value === 'strokes') paintingKind.value = '';
    kindHint.textContent = `${KIND_HINTS[paintingKind.value] ?? ''}${trial ? ' A trial run matches covariances only.' : ''}`;
  };
  cropSize.addEventListener('change', syncPaintingKind);
  paintingKind.addEventListener('change', syncPaintingKind);
  syncPaintingKind();
  const token = h('input', { id: tokenId, type: 'password', autocomplete: 'off', 'aria-describedby': `${tokenId}-hint` });
  token.value = adminToken();
  const operator = h('input', { id: operatorId, type: 'password', autocomplete: 'off', 'aria-describedby': `${operatorId}-hint` });
  operator.value = operatorToken();
  operator.addEventListener('change', () => setOperatorToken(operator.value.trim()));
  let idEdited = false;
  name.addEventListener('input', () => {
    if (!idEdited) styleId.value = slugify(name.value);
  });
  styleId.addEventListener('input', () => (idEdited = true));
  token.addEventListener('change', () => setAdminToken(token.value.trim()));

  const submit = h('button', { type: 'submit', class: 'primary' }, 'Start training');
  const formError = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h(
    'form',
    { class: 'card train-form', 'aria-labelledby': 'train-form-heading' },
    h('h2', { id: 'train-form-heading' }, 'New style'),
    painting.element,
    h('label', { for: nameId }, 'Name'),
    name,
    h('label', { for: idId }, 'Style id'),
    styleId,
    h('p', { id: `${idId}-hint`, class: 'muted small' }, 'Lower-case letters, digits and dashes. Used in links and the command line.'),
    h('label', { for: descriptionId }, 'Description ', h('span', { class: 'muted' }, '(optional)')),
    description,
    h('label', { for: stepsId }, 'Training steps ', h('span', { class: 'muted' }, '(optional; more steps, better style, longer wait)')),
    steps,
    h('label', { for: sizeId }, 'Training image size ', h('span', { class: 'muted' }, '(larger learns finer brushwork)')),
    cropSize,
    h('label', { for: kindId }, 'Kind of painting'),
    paintingKind,
    kindHint,
    h('label', { for: tokenId }, 'Admin token'),
    token,
    h('p', { id: `${tokenId}-hint`, class: 'muted small' }, 'Training changes the catalogue, so it needs the admin token. npm start prints where it is stored.'),
    h('label', { for: operatorId }, 'Operator token ', h('span', { class: 'muted' }, '(in a Kubernetes cluster)')),
    operator,
    h(
      'p',
      { id: `${operatorId}-hint`, class: 'muted small' },
      'Where the platform runs in Kubernetes, admin calls also need an operator’s token: kubectl -n nst create token nst-operator --audience nst-admin. Both tokens are kept for this tab only.',
    ),
    submit,
    formError,
  );

  // The watched job.
  const chart = createLossChart();
  const jobTitle = h('h2', { id: 'job-heading' }, 'Training');
  const jobState = h('span', { class: 'badge' });
  const jobProgress = h('progress', { max: 1, value: 0, 'aria-labelledby': 'job-heading' });
  const jobStats = h('p', { class: 'job-stats', role: 'status', 'aria-live': 'polite' });
  const previewImage = h('img', { class: 'job-preview', alt: '', hidden: true });
  const previewCaption = h('figcaption', { class: 'muted small' }, 'The network’s current output on a test photo.');
  const jobActions = h('div', { class: 'buttons' });
  const jobError = h('p', { class: 'error', role: 'alert', hidden: true });
  const jobSection = h(
    'section',
    { class: 'card job', 'aria-labelledby': 'job-heading', hidden: true, tabindex: -1 },
    h('div', { class: 'job-head' }, jobTitle, jobState),
    jobProgress,
    jobStats,
    h('div', { class: 'job-visuals' }, chart.element, h('figure', { class: 'preview-figure' }, previewImage, previewCaption)),
    jobActions,
    jobError,
  );

  const jobsList = h('ul', { class: 'jobs-list' });
  const jobsStatus = h('p', { class: 'muted', role: 'status' });
  const jobsSection = h(
    'section',
    { class: 'card', 'aria-labelledby': 'jobs-heading' },
    h('h2', { id: 'jobs-heading' }, 'Recent jobs'),
    jobsStatus,
    jobsList,
  );

  const element = h(
    'div',
    { class: 'view train-view' },
    h(
      'div',
      { class: 'intro' },
      h('h1', {}, 'Train your own style'),
      h('p', { class: 'lede' }, 'Upload a painting and the trainer learns to paint photos like it. Watch it learn, then use it.'),
    ),
    h('div', { class: 'train-grid' }, form, h('div', { class: 'train-side' }, jobSection, jobsSection)),
  );

  let watching: AbortController | undefined;
  /** The newest copy of each job this page has seen stream by, newer than the list's snapshot. */
  const live = new Map<string, Job>();
  /** The list's row parts per job id, so a streamed update reaches the row too. */
  const rows = new Map<string, { badge: HTMLElement; steps: HTMLElement }>();
  /** Which buttons jobActions shows; rebuilt only when that changes, not on every step. */
  let actionsKey = '';

  function renderRow(job: Job): void {
    const row = rows.get(job.id);
    if (!row) return;
    row.badge.textContent = STATE_LABEL[job.state] ?? 'Unknown';
    row.badge.dataset['state'] = String(job.state);
    row.steps.textContent = stepsText(job);
  }

  function renderJob(job: Job): void {
    live.set(job.id, job);
    renderRow(job);
    jobTitle.textContent = `${job.kind === JobKind.JOB_KIND_FINE_TUNE ? 'Fine-tuning' : 'Training'} “${job.style}”`;
    jobState.textContent = STATE_LABEL[job.state] ?? 'Unknown';
    jobState.dataset['state'] = String(job.state);
    jobProgress.value = job.totalSteps > 0 ? job.step / job.totalSteps : 0;
    const parts = [job.totalSteps > 0 ? `Step ${job.step} of ${job.totalSteps}` : 'Waiting to start'];
    if (job.imagesPerSecond > 0) parts.push(`${job.imagesPerSecond.toFixed(1)} images/s`);
    const eta = formatDuration(job.etaSeconds);
    if (eta && !FINAL_STATES.has(job.state)) parts.push(`about ${eta} left`);
    jobStats.textContent = parts.join(' · ');
    chart.add({ step: job.step, losses: job.losses });
    jobError.hidden = job.state !== JobState.JOB_STATE_FAILED;
    jobError.textContent = job.error ? `The job failed: ${job.error}` : 'The job failed.';
    const key = `${job.id}:${job.state === JobState.JOB_STATE_SUCCEEDED ? 'use' : FINAL_STATES.has(job.state) ? 'none' : 'cancel'}`;
    if (key === actionsKey) return;
    // A cancel confirmation that is open loses its focus when the buttons change under it.
    const hadFocus = jobActions.contains(document.activeElement);
    actionsKey = key;
    clear(jobActions);
    if (job.state === JobState.JOB_STATE_SUCCEEDED) {
      const use = h('button', { type: 'button', class: 'primary', onclick: () => options.useStyle(job.style) }, `Use “${job.style}” now`);
      jobActions.append(use);
      if (hadFocus) use.focus();
    } else if (!FINAL_STATES.has(job.state)) {
      const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel job');
      // Cancelling throws the training away, so it is asked first.
      cancel.addEventListener('click', () =>
        confirmFirst(cancel, {
          question: `Stop training “${job.style}”? The steps so far are lost.`,
          confirm: 'Yes, cancel the job',
          keep: 'Keep training',
          onConfirm: () => void cancelJob(job.id),
        }),
      );
      jobActions.append(cancel);
    } else if (hadFocus) {
      jobSection.focus();
    }
  }

  async function watch(job: Job): Promise<void> {
    watching?.abort();
    const controller = new AbortController();
    watching = controller;
    chart.reset();
    previewImage.hidden = true;
    jobSection.hidden = false;
    // The list's copy may be older than one this page already streamed.
    const start = withLiveJobs([job], live)[0] ?? job;
    renderJob(start);
    let last: Job = start;
    try {
      for await (const update of trainerService.watchJob({ jobId: job.id }, { signal: controller.signal, metadata: callMetadata() })) {
        if (!update.job) continue;
        last = update.job;
        renderJob(update.job);
        if (update.previewJpeg.length > 0) {
          const previous = previewImage.src;
          previewImage.src = URL.createObjectURL(new Blob([update.previewJpeg as BlobPart], { type: 'image/jpeg' }));
          previewImage.alt = `Preview of the style being learned, at step ${update.job.step}`;
          previewImage.hidden = false;
          if (previous.startsWith('blob:')) URL.revokeObjectURL(previous);
        }
      }
      announce(`${STATE_LABEL[last.state] ?? 'Done'}: ${last.style}.`);
      void loadJobs();
    } catch (error) {
      if (controller.signal.aborted) return;
      jobError.hidden = false;
      jobError.textContent = describeError(error, 'follow the training job');
    }
  }

  async function cancelJob(jobId: string): Promise<void> {
    try {
      const response = await trainerService.cancelJob({ jobId }, { metadata: callMetadata({ admin: true, deadlineSeconds: 15 }) });
      if (response.job) renderJob(response.job);
    } catch (error) {
      jobError.hidden = false;
      jobError.textContent = describeError(error, 'cancel the job');
    }
  }

  async function loadJobs(): Promise<void> {
    try {
      const listed = await trainerService.listJobs({ style: '', state: 0, limit: 8 }, { metadata: callMetadata({ deadlineSeconds: 10 }) });
      const jobs = withLiveJobs(listed.jobs, live);
      jobsStatus.textContent = jobs.length === 0 ? 'No jobs yet.' : '';
      jobsStatus.hidden = jobs.length > 0;
      rows.clear();
      clear(
        jobsList,
        ...jobs.map((job) => {
          const badge = h('span', { class: 'badge', 'data-state': String(job.state) }, STATE_LABEL[job.state] ?? 'Unknown');
          const steps = h('span', { class: 'muted small job-steps' }, stepsText(job));
          rows.set(job.id, { badge, steps });
          const details = jobRowDetails(job);
          return h(
            'li',
            { 'data-job': job.id },
            h('span', { class: 'job-name' }, job.style, h('span', { class: 'muted small job-when' }, details)),
            badge,
            steps,
            h('button', { type: 'button', class: 'link', onclick: () => void watch(job), 'aria-label': `Watch job for ${job.style}, ${details}` }, 'Watch'),
          );
        }),
      );
    } catch (error) {
      jobsStatus.hidden = false;
      jobsStatus.textContent = describeError(error, 'list the training jobs');
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const file = painting.file();
    formError.hidden = true;
    if (!file) {
      formError.textContent = 'Choose a painting first.';
      formError.hidden = false;
      return;
    }
    setAdminToken(token.value.trim());
    setOperatorToken(operator.value.trim());
    submit.disabled = true;
    submit.textContent = 'Uploading…';
    void (async () => {
      try {
        const stepCount = Number(steps.value);
        const imageSize = Number(cropSize.value);
        const randomLoss = trialRun();
        const kind = paintingKind.selectedOptions[0]?.dataset ?? {};
        const { job } = await trainerService.createStyleFromImage(
          {
            header: {
              styleId: styleId.value.trim(),
              displayName: name.value.trim(),
              description: description.value.trim(),
              hyperparameters: {
                ...(stepCount > 0 ? { steps: stepCount } : {}),
                ...(imageSize > 0 ? { imageSize } : {}),
                ...(randomLoss ? { lossNetwork: LossNetwork.LOSS_NETWORK_RANDOM } : {}),
                ...(kind['statistic'] === 'sliced' && !randomLoss ? { styleStatistic: StyleStatistic.STYLE_STATISTIC_SLICED } : {}),
                ...(kind['pooling'] === 'batch' ? { stylePooling: StylePooling.STYLE_POOLING_BATCH } : {}),
              },
            },
            painting: new Uint8Array(await file.arrayBuffer()),
          },
          { metadata: callMetadata({ admin: true, deadlineSeconds: 60 }) },
        );
        if (!job) throw new Error('the trainer did not return the job');
        announce(`Training of ${job.style} has started.`);
        void loadJobs();
        void watch(job);
        jobSection.scrollIntoView({ behavior: 'smooth', block: 'start' });
      } catch (error) {
        formError.textContent = describeError(error, 'start training');
        formError.hidden = false;
      } finally {
        submit.disabled = false;
        submit.textContent = 'Start training';
      }
    })();
  });

  return { element, onShow: () => void loadJobs() };
}
