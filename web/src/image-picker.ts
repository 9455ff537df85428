/**
 * Pick or drop an image and see it at once. The file input stays in the tab order (visually
 * hidden, its label styled as the drop zone), so the keyboard and screen readers get a real
 * control.
 */
import { announce, h, uid } from './dom';
import { formatBytes } from './format';
import { refusalOf } from './image-types';

export interface ImagePicker {
  element: HTMLElement;
  file(): File | undefined;
  /** Object URL of the picked image, for previews elsewhere. */
  url(): string | undefined;
  /** Image size in pixels once decoded. */
  dimensions(): { width: number; height: number } | undefined;
}

export function createImagePicker(options: { label: string; hint: string; onChange?: (file: File | undefined) => void }): ImagePicker {
  const inputId = uid('image');
  const hintId = uid('hint');
  let picked: File | undefined;
  let objectUrl: string | undefined;
  let size: { width: number; height: number } | undefined;

  const input = h('input', { type: 'file', id: inputId, accept: 'image/*', class: 'visually-hidden', 'aria-describedby': hintId });
  const preview = h('img', { class: 'picker-preview', alt: '', hidden: true });
  const details = h('span', { class: 'picker-details' });
  const prompt = h(
    'span',
    { class: 'picker-prompt' },
    h('span', { class: 'picker-icon', 'aria-hidden': 'true' }, '⤒'),
    h('strong', {}, options.label),
    h('span', { id: hintId, class: 'muted' }, options.hint),
  );
  const zone = h('label', { class: 'picker', for: inputId }, input, preview, prompt, details);

  /** Forgets the previous file, so a refused pick can never send the one before it. */
  const forget = (): void => {
    picked = undefined;
    size = undefined;
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = undefined;
    preview.onload = null;
    preview.onerror = null;
    preview.removeAttribute('src');
    preview.alt = '';
    preview.hidden = true;
    zone.classList.remove('has-image');
    details.classList.remove('picker-refused');
  };

  const accept = (file: File | undefined): void => {
    if (!file) return;
    forget();
    const refusal = refusalOf(file);
    if (refusal) {
      details.textContent = refusal;
      details.classList.add('picker-refused');
      announce(refusal);
      options.onChange?.(undefined);
      return;
    }
    picked = file;
    objectUrl = URL.createObjectURL(file);
    preview.src = objectUrl;
    preview.alt = `Preview of ${file.name}`;
    preview.hidden = false;
    zone.classList.add('has-image');
    details.textContent = `${file.name} · ${formatBytes(file.size)}`;
    preview.onload = () => {
      size = { width: preview.naturalWidth, height: preview.naturalHeight };
      details.textContent = `${file.name} · ${size.width}×${size.height} · ${formatBytes(file.size)}`;
    };
    preview.onerror = () => {
      preview.hidden = true;
      size = undefined;
      details.textContent = `${file.name} · ${formatBytes(file.size)} · this browser cannot show it; it may not be an image`;
    };
    announce(`${file.name} selected.`);
    options.onChange?.(file);
  };

  input.addEventListener('change', () => accept(input.files?.[0]));
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    accept(event.dataTransfer?.files[0]);
  });

  return { element: zone, file: () => picked, url: () => objectUrl, dimensions: () => size };
}
