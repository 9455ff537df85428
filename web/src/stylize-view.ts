/**
 * Stylize: pick a photo and a style, watch the painting come in over the server stream, compare
 * before and after, download it, and rate it.
 */
import { callMetadata, clientId, styleService, thumbnailUrl } from './api';
import { announce, clear, h, uid } from './dom';
import { describeError } from './errors';
import { formatBytes, formatMs } from './format';
import { ModelPrecision } from './gen/nst/v1/model_precision';
import { OutputFormat, Rating, type Style, type StylizeSummary } from './gen/nst/v1/style_service';
import { createImagePicker } from './image-picker';
import { ACCEPTED_FORMATS_TEXT } from './image-types';

export interface StylizeView {
  element: HTMLElement;
  /** Reloads the gallery; selects `select` when given (a newly trained style). */
  refreshStyles(select?: string): Promise<void>;
}

const FORMATS = [
  { value: OutputFormat.OUTPUT_FORMAT_JPEG, label: 'JPEG', extension: 'jpg' },
  { value: OutputFormat.OUTPUT_FORMAT_PNG, label: 'PNG (lossless)', extension: 'png' },
  { value: OutputFormat.OUTPUT_FORMAT_WEBP, label: 'WebP', extension: 'webp' },
];

const SIZES = [
  { value: 0, label: 'Full resolution' },
  { value: 2048, label: 'Up to 2048 px' },
  { value: 1024, label: 'Up to 1024 px' },
  { value: 512, label: 'Up to 512 px (fastest)' },
];

/** A stylized result held in the page. */
interface Result {
  url: string;
  blob: Blob;
  summary: StylizeSummary;
  fileName: string;
  styleName: string;
}

/** Lower-case hex SHA-256, when the page may use WebCrypto (secure contexts, localhost). */
async function sha256Hex(blob: Blob): Promise<string | undefined> {
  if (!globalThis.crypto?.subtle) return undefined;
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** A stand-in swatch for a style without a thumbnail: its initial on a colour from its id. */
function swatch(style: Style): HTMLElement {
  let hash = 0;
  for (const char of style.id) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  const hue = hash % 360;
  return h(
    'span',
    { class: 'style-swatch', style: `--hue: ${hue}`, 'aria-hidden': 'true' },
    (style.displayName || style.id).slice(0, 1).toUpperCase(),
  );
}

export function createStylizeView(): StylizeView {
  let styles: Style[] = [];
  let selectedStyle = '';
  let running: AbortController | undefined;
  let result: Result | undefined;

  const photo = createImagePicker({
    label: 'Choose a photo',
    hint: `or drop it here. ${ACCEPTED_FORMATS_TEXT}.`,
    onChange: () => {
      // A new pick starts over: the last attempt's error was about the previous file.
      errorBox.hidden = true;
      errorBox.textContent = '';
      updateAction();
      showReady();
    },
  });

  // Style gallery: a radio group, so arrow keys move between styles.
  const galleryStatus = h('p', { class: 'muted', role: 'status' }, 'Loading styles…');
  const gallery = h('div', { class: 'gallery', role: 'radiogroup', 'aria-labelledby': 'gallery-heading' });
  const galleryFieldset = h(
    'section',
    { class: 'card' },
    h('h2', { id: 'gallery-heading' }, h('span', { class: 'step' }, '2'), 'Pick a style'),
    galleryStatus,
    gallery,
  );

  const formatId = uid('format');
  const sizeId = uid('size');
  const formatSelect = h(
    'select',
    { id: formatId },
    ...FORMATS.map((format) => h('option', { value: String(format.value) }, format.label)),
  );
  const sizeSelect = h('select', { id: sizeId }, ...SIZES.map((size) => h('option', { value: String(size.value) }, size.label)));
  // Full resolution by default, as the page promises; smaller sizes are there for speed.
  sizeSelect.value = '0';

  const runButton = h('button', { type: 'button', class: 'primary', disabled: true }, 'Paint it');
  const cancelButton = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Cancel');
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Stylize progress' });
  const progressText = h('p', { class: 'progress-text', role: 'status', 'aria-live': 'polite' });
  const errorBox = h('p', { class: 'error', role: 'alert', hidden: true });

  const resultSection = h('section', { class: 'card result', 'aria-labelledby': 'result-heading', hidden: true });

  const element = h(
    'div',
    { class: 'view stylize-view' },
    h(
      'div',
      { class: 'intro' },
      h('h1', {}, 'Paint your photo'),
      h('p', { class: 'lede' }, 'Pick a photo and a style. Progress counts the tiles as they are painted; the finished painting comes back at full resolution, or smaller if you choose.'),
    ),
    h(
      'div',
      { class: 'stylize-grid' },
      h('section', { class: 'card', 'aria-labelledby': 'photo-heading' }, h('h2', { id: 'photo-heading' }, h('span', { class: 'step' }, '1'), 'Your photo'), photo.element),
      galleryFieldset,
    ),
    h(
      'section',
      { class: 'card actions', 'aria-labelledby': 'paint-heading' },
      h('h2', { id: 'paint-heading' }, h('span', { class: 'step' }, '3'), 'Paint'),
      h(
        'div',
        { class: 'options' },
        h('div', { class: 'field' }, h('label', { for: formatId }, 'Format'), formatSelect),
        h('div', { class: 'field' }, h('label', { for: sizeId }, 'Size'), sizeSelect),
        h('div', { class: 'buttons' }, runButton, cancelButton),
      ),
      progress,
      progressText,
      errorBox,
    ),
    resultSection,
  );

  function updateAction(): void {
    runButton.disabled = running !== undefined || !photo.file() || !selectedStyle;
  }

  /** Says what is missing, or that it is ready (not while a painting is running). */
  function showReady(): void {
    if (running) return;
    progress.hidden = true;
    progressText.textContent = !photo.file()
      ? 'Choose a photo to start.'
      : !selectedStyle
        ? 'Pick a style to start.'
        : `Ready to paint in ${styleName(selectedStyle)}.`;
  }

  const styleName = (id: string): string => styles.find((style) => style.id === id)?.displayName || id;

  function renderGallery(): void {
    const name = uid('style');
    clear(
      gallery,
      ...styles.map((style) => {
        const input = h('input', { type: 'radio', name, value: style.id, class: 'visually-hidden' });
        input.checked = style.id === selectedStyle;
        input.addEventListener('change', () => {
          selectedStyle = style.id;
          updateAction();
          showReady();
        });
        const image = h('img', { src: thumbnailUrl(style.id), alt: '', loading: 'lazy', width: 160, height: 160 });
        const art = h('span', { class: 'style-art' }, image);
        image.addEventListener('error', () => art.replaceChildren(swatch(style)));
        return h(
          'label',
          { class: 'style-card' },
          input,
          art,
          h('span', { class: 'style-name' }, style.displayName || style.id),
          h('span', { class: 'style-description' }, style.description),
        );
      }),
    );
  }

  async function refreshStyles(select?: string): Promise<void> {
    try {
      const response = await styleService.listStyles({}, { metadata: callMetadata({ deadlineSeconds: 10 }) });
      styles = response.styles;
      if (select && styles.some((style) => style.id === select)) selectedStyle = select;
      else if (!styles.some((style) => style.id === selectedStyle)) selectedStyle = styles[0]?.id ?? '';
      galleryStatus.textContent = styles.length === 0 ? 'No styles are registered yet. Train one in “Train your own”.' : '';
      galleryStatus.hidden = styles.length > 0;
      renderGallery();
    } catch (error) {
      galleryStatus.hidden = false;
      galleryStatus.textContent = describeError(error, 'load the styles');
    }
    updateAction();
    showReady();
  }

  async function stylize(): Promise<void> {
    const file = photo.file();
    if (!file || !selectedStyle) return;
    const style = selectedStyle;
    const format = FORMATS.find((f) => String(f.value) === formatSelect.value) ?? (FORMATS[0] as (typeof FORMATS)[number]);
    running = new AbortController();
    errorBox.hidden = true;
    cancelButton.hidden = false;
    progress.hidden = false;
    progress.value = 0;
    progressText.textContent = 'Uploading your photo…';
    updateAction();
    const started = performance.now();
    const chunks: Uint8Array[] = [];
    let received = 0;
    let summary: StylizeSummary | undefined;
    try {
      const image = new Uint8Array(await file.arrayBuffer());
      const replies = styleService.stylizeImage(
        {
          header: {
            style,
            format: format.value,
            quality: 0,
            maxDimension: Number(sizeSelect.value),
            clientId: clientId(),
          },
          image,
        },
        // In the cluster Istio routes on headers only, so the style travels as metadata too.
        { signal: running.signal, metadata: callMetadata({ deadlineSeconds: 600, style }) },
      );
      for await (const reply of replies) {
        const kind = reply.kind;
        if (!kind) continue;
        switch (kind.$case) {
          case 'accepted':
            progress.value = 0.05;
            progressText.textContent =
              kind.accepted.queuePosition > 0
                ? `Waiting for a free painter (${kind.accepted.queuePosition} ahead of you)…`
                : `Painting with ${styleName(style)} (version ${kind.accepted.version})…`;
            break;
          case 'progress':
            progress.value = 0.05 + 0.85 * kind.progress.fraction;
            progressText.textContent = `Painting… ${kind.progress.tilesDone} of ${kind.progress.tilesTotal} tiles`;
            break;
          case 'chunk':
            chunks.push(kind.chunk);
            received += kind.chunk.length;
            progress.value = Math.max(progress.value, 0.92);
            progressText.textContent = `Receiving the painting… ${formatBytes(received)}`;
            break;
          case 'summary':
            summary = kind.summary;
            break;
        }
      }
      if (!summary) throw new Error('the server ended the reply without the finished image');
      const blob = new Blob(chunks as BlobPart[], { type: summary.contentType });
      const digest = await sha256Hex(blob);
      if (digest !== undefined && digest !== summary.sha256) {
        throw new Error('the image arrived damaged (its checksum does not match); please try again');
      }
      progress.value = 1;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      progressText.textContent = `Done in ${seconds} s.`;
      showResult({
        url: URL.createObjectURL(blob),
        blob,
        summary,
        fileName: `${file.name.replace(/\.[^.]+$/, '') || 'photo'}-${style}.${format.extension}`,
        styleName: styleName(style),
      });
      announce(`Your painting is ready, ${summary.width} by ${summary.height} pixels.`);
    } catch (error) {
      progress.hidden = true;
      progressText.textContent = '';
      errorBox.textContent = describeError(error, 'paint your photo');
      errorBox.hidden = false;
    } finally {
      running = undefined;
      cancelButton.hidden = true;
      updateAction();
    }
  }

  function showResult(next: Result): void {
    if (result) URL.revokeObjectURL(result.url);
    result = next;
    const { summary } = next;
    const original = photo.url() ?? '';
    const compareId = uid('compare');
    const after = h('img', { class: 'compare-after', src: next.url, alt: `Your photo painted in ${next.styleName}` });
    const handle = h('div', { class: 'compare-handle', 'aria-hidden': 'true' });
    const slider = h('input', {
      type: 'range',
      id: compareId,
      min: 0,
      max: 100,
      value: 50,
      class: 'compare-range',
      'aria-label': 'Before and after: slide left to see more of the painting, right to see more of the original',
    });
    const setSplit = (): void => {
      after.style.clipPath = `inset(0 0 0 ${slider.value}%)`;
      handle.style.left = `${slider.value}%`;
      slider.setAttribute('aria-valuetext', `${slider.value}% original, ${100 - Number(slider.value)}% painting`);
    };
    slider.addEventListener('input', setSplit);
    setSplit();
    const compare = h(
      'div',
      // Sized to the image (never letterboxed), so the split line sits where the slider says.
      { class: 'compare', style: `aspect-ratio: ${summary.width} / ${summary.height}; max-width: min(100%, calc(75vh * ${summary.width / summary.height}))` },
      h('img', { class: 'compare-before', src: original, alt: 'Your original photo' }),
      after,
      handle,
      h('span', { class: 'compare-label before', 'aria-hidden': 'true' }, 'Before'),
      h('span', { class: 'compare-label after', 'aria-hidden': 'true' }, 'After'),
      slider,
    );
    const download = h(
      'a',
      { class: 'button primary', href: next.url, download: next.fileName },
      `Download ${summary.contentType.replace('image/', '').toUpperCase()} (${formatBytes(next.blob.size)})`,
    );
    const timings = `${summary.width}×${summary.height} · ${next.styleName} version ${summary.version} · decode ${formatMs(summary.decodeMs)}, queue ${formatMs(summary.queueMs)}, painting ${formatMs(summary.inferenceMs)} (${summary.precision === ModelPrecision.MODEL_PRECISION_INT8 ? 'int8' : 'fp32'}), encode ${formatMs(summary.encodeMs)}`;
    // Focusable so focus can move here: the Paint button it was on is disabled while painting.
    const heading = h('h2', { id: 'result-heading', tabindex: -1 }, 'Your painting');
    clear(
      resultSection,
      heading,
      compare,
      h('div', { class: 'result-bar' }, download, h('p', { class: 'muted small' }, timings)),
      ratingForm(summary),
    );
    resultSection.hidden = false;
    heading.focus({ preventScroll: true });
    resultSection.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  function ratingForm(summary: StylizeSummary): HTMLElement {
    const name = uid('rating');
    const reasonId = uid('reason');
    const consentId = uid('consent');
    const feedbackId = crypto.randomUUID();
    const good = h('input', { type: 'radio', name, value: 'good', class: 'visually-hidden' });
    const bad = h('input', { type: 'radio', name, value: 'bad', class: 'visually-hidden' });
    const reason = h('textarea', { id: reasonId, rows: 2, maxlength: 500, placeholder: 'For example: faces look smeared' });
    const consent = h('input', { type: 'checkbox', id: consentId });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Send rating');
    const status = h('p', { role: 'status', class: 'rating-status' });
    const form = h(
      'form',
      { class: 'rating', 'aria-labelledby': `${name}-legend` },
      h(
        'fieldset',
        { class: 'verdict' },
        h('legend', { id: `${name}-legend` }, 'How does it look?'),
        h('label', { class: 'chip' }, good, h('span', { 'aria-hidden': 'true', class: 'chip-icon good' }, '✓'), 'Good'),
        h('label', { class: 'chip' }, bad, h('span', { 'aria-hidden': 'true', class: 'chip-icon bad' }, '✗'), 'Bad'),
      ),
      h('label', { for: reasonId }, 'What could be better? ', h('span', { class: 'muted' }, '(optional)')),
      reason,
      h(
        'div',
        { class: 'consent' },
        consent,
        h(
          'label',
          { for: consentId },
          'Let the project keep this photo to train the style. ',
          h('span', { class: 'muted' }, 'Optional. Without this your photo is never stored.'),
        ),
      ),
      submit,
      status,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const rating = good.checked ? Rating.RATING_GOOD : bad.checked ? Rating.RATING_BAD : undefined;
      if (rating === undefined) {
        status.textContent = 'Choose Good or Bad first.';
        good.focus();
        return;
      }
      submit.disabled = true;
      status.textContent = 'Sending…';
      styleService
        .submitFeedback(
          {
            feedbackId,
            requestId: summary.requestId,
            style: summary.style,
            version: summary.version,
            rating,
            reason: reason.value.trim(),
            clientId: clientId(),
            consentToKeepPhoto: consent.checked,
          },
          { metadata: callMetadata({ deadlineSeconds: 15 }) },
        )
        .then(
          (response) => {
            form.classList.add('sent');
            status.textContent = `Thank you! Your rating was saved${
              response.photoKept ? ' and your photo was kept for training' : consent.checked ? '; the photo had already expired, so it was not kept' : ''
            }.`;
            for (const control of form.querySelectorAll('input, textarea, button')) (control as HTMLInputElement).disabled = true;
          },
          (error: unknown) => {
            submit.disabled = false;
            status.textContent = describeError(error, 'save your rating');
          },
        );
    });
    return form;
  }

  runButton.addEventListener('click', () => void stylize());
  cancelButton.addEventListener('click', () => running?.abort());
  updateAction();
  showReady();

  return { element, refreshStyles };
}
