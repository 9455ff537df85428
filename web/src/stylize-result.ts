/**
 * A finished painting on the page: before and after under a slider, the download, the sizes
 * and timings, and the rating form.
 */
import { clear, h, uid } from './dom';
import { formatBytes, formatMs } from './format';
import { ModelPrecision } from './gen/nst/v1/model_precision';
import type { StylizeSummary } from './gen/nst/v1/style_service';
import { createRatingForm } from './rating-form';

/** A stylized result held in the page. */
export interface PaintedResult {
  url: string;
  blob: Blob;
  summary: StylizeSummary;
  fileName: string;
  styleName: string;
}

/** The original under the painting, split where the slider says. */
function compareSlider(result: PaintedResult, originalUrl: string): HTMLElement {
  const { summary } = result;
  const after = h('img', { class: 'compare-after', src: result.url, alt: `Your photo painted in ${result.styleName}` });
  const handle = h('div', { class: 'compare-handle', 'aria-hidden': 'true' });
  const slider = h('input', {
    type: 'range',
    id: uid('compare'),
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
  return h(
    'div',
    // Sized to the image (never letterboxed), so the split line sits where the slider says.
    { class: 'compare', style: `aspect-ratio: ${summary.width} / ${summary.height}; max-width: min(100%, calc(75vh * ${summary.width / summary.height}))` },
    h('img', { class: 'compare-before', src: originalUrl, alt: 'Your original photo' }),
    after,
    handle,
    h('span', { class: 'compare-label before', 'aria-hidden': 'true' }, 'Before'),
    h('span', { class: 'compare-label after', 'aria-hidden': 'true' }, 'After'),
    slider,
  );
}

/** Fills `section` with `result` and moves focus to it. */
export function showResult(section: HTMLElement, result: PaintedResult, originalUrl: string): void {
  const { summary } = result;
  const download = h(
    'a',
    { class: 'button primary', href: result.url, download: result.fileName },
    `Download ${summary.contentType.replace('image/', '').toUpperCase()} (${formatBytes(result.blob.size)})`,
  );
  const timings = `${summary.width}×${summary.height} · ${result.styleName} version ${summary.version} · decode ${formatMs(summary.decodeMs)}, queue ${formatMs(summary.queueMs)}, painting ${formatMs(summary.inferenceMs)} (${summary.precision === ModelPrecision.MODEL_PRECISION_INT8 ? 'int8' : 'fp32'}), encode ${formatMs(summary.encodeMs)}`;
  // Focusable so focus can move here: the Paint button it was on is disabled while painting.
  const heading = h('h2', { id: 'result-heading', tabindex: -1 }, 'Your painting');
  clear(
    section,
    heading,
    compareSlider(result, originalUrl),
    h('div', { class: 'result-bar' }, download, h('p', { class: 'muted small' }, timings)),
    createRatingForm(summary),
  );
  section.hidden = false;
  heading.focus({ preventScroll: true });
  section.scrollIntoView({ behavior: 'smooth', block: 'start' });
}
