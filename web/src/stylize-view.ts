/**
 * Stylize: pick a photo and a style, watch the painting come in over the server stream, compare
 * before and after, download it, and rate it. The parts: style-gallery.ts (the styles),
 * paint.ts (the call), stylize-result.ts and rating-form.ts (the result).
 */
import { announce, h, uid } from './dom';
import { describeError } from './errors';
import { OutputFormat } from './gen/nst/v1/style_service';
import { createImagePicker } from './image-picker';
import { ACCEPTED_FORMATS_TEXT } from './image-types';
import { paintPhoto } from './paint';
import { createStyleGallery } from './style-gallery';
import { showResult, type PaintedResult } from './stylize-result';

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

/** Step 3: format, size, the Paint and Cancel buttons, progress and the error line. */
function paintControls() {
  const formatId = uid('format');
  const sizeId = uid('size');
  const format = h('select', { id: formatId }, ...FORMATS.map((f) => h('option', { value: String(f.value) }, f.label)));
  const size = h('select', { id: sizeId }, ...SIZES.map((s) => h('option', { value: String(s.value) }, s.label)));
  // Full resolution by default, as the page promises; smaller sizes are there for speed.
  size.value = '0';
  const run = h('button', { type: 'button', class: 'primary', disabled: true }, 'Paint it');
  const cancel = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Cancel');
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Stylize progress' });
  const progressText = h('p', { class: 'progress-text', role: 'status', 'aria-live': 'polite' });
  const errorBox = h('p', { class: 'error', role: 'alert', hidden: true });
  const element = h(
    'section',
    { class: 'card actions', 'aria-labelledby': 'paint-heading' },
    h('h2', { id: 'paint-heading' }, h('span', { class: 'step' }, '3'), 'Paint'),
    h(
      'div',
      { class: 'options' },
      h('div', { class: 'field' }, h('label', { for: formatId }, 'Format'), format),
      h('div', { class: 'field' }, h('label', { for: sizeId }, 'Size'), size),
      h('div', { class: 'buttons' }, run, cancel),
    ),
    progress,
    progressText,
    errorBox,
  );
  const chosenFormat = () => FORMATS.find((f) => String(f.value) === format.value) ?? (FORMATS[0] as (typeof FORMATS)[number]);
  return { element, run, cancel, progress, progressText, errorBox, chosenFormat, maxDimension: () => Number(size.value) };
}

export function createStylizeView(): StylizeView {
  let running: AbortController | undefined;
  let result: PaintedResult | undefined;

  const controls = paintControls();
  const { progress, progressText, errorBox } = controls;
  const photo = createImagePicker({
    label: 'Choose a photo',
    hint: `or drop it here. ${ACCEPTED_FORMATS_TEXT}.`,
    onChange: () => {
      // A new pick starts over: the last attempt's error was about the previous file.
      errorBox.hidden = true;
      errorBox.textContent = '';
      update();
    },
  });
  const gallery = createStyleGallery(() => update());
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
      gallery.element,
    ),
    controls.element,
    resultSection,
  );

  /** Enables Paint when it can run, and says what is missing or that it is ready (not while a painting is running). */
  function update(): void {
    const style = gallery.selected();
    controls.run.disabled = running !== undefined || !photo.file() || !style;
    if (running) return;
    progress.hidden = true;
    progressText.textContent = !photo.file() ? 'Choose a photo to start.' : !style ? 'Pick a style to start.' : `Ready to paint in ${gallery.nameOf(style)}.`;
  }

  async function stylize(): Promise<void> {
    const file = photo.file();
    const style = gallery.selected();
    if (!file || !style) return;
    const format = controls.chosenFormat();
    const styleName = gallery.nameOf(style);
    running = new AbortController();
    errorBox.hidden = true;
    controls.cancel.hidden = false;
    progress.hidden = false;
    progress.value = 0;
    progressText.textContent = 'Uploading your photo…';
    controls.run.disabled = true;
    const started = performance.now();
    try {
      const { blob, summary } = await paintPhoto({ photo: file, style, styleName, format: format.value, maxDimension: controls.maxDimension() }, running.signal, (fraction, text) => {
        progress.value = fraction;
        progressText.textContent = text;
      });
      progress.value = 1;
      progressText.textContent = `Done in ${((performance.now() - started) / 1000).toFixed(1)} s.`;
      if (result) URL.revokeObjectURL(result.url);
      result = { url: URL.createObjectURL(blob), blob, summary, fileName: `${file.name.replace(/\.[^.]+$/, '') || 'photo'}-${style}.${format.extension}`, styleName };
      showResult(resultSection, result, photo.url() ?? '');
      announce(`Your painting is ready, ${summary.width} by ${summary.height} pixels.`);
    } catch (error) {
      progress.hidden = true;
      progressText.textContent = '';
      errorBox.textContent = describeError(error, 'paint your photo');
      errorBox.hidden = false;
    } finally {
      running = undefined;
      controls.cancel.hidden = true;
      controls.run.disabled = !photo.file() || !gallery.selected();
    }
  }

  controls.run.addEventListener('click', () => void stylize());
  controls.cancel.addEventListener('click', () => running?.abort());
  update();

  return { element, refreshStyles: (select) => gallery.refresh(select) };
}
