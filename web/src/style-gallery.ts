/**
 * The style gallery: a radio group of the styles StyleService lists (arrow keys move between
 * them), each with its thumbnail, or a coloured initial when it has none.
 */
import { callMetadata, styleService, thumbnailUrl } from './api';
import { clear, h, uid } from './dom';
import { describeError } from './errors';
import type { Style } from './gen/nst/v1/style_service';

export interface StyleGallery {
  element: HTMLElement;
  /** The chosen style's id, or '' when there is none. */
  selected(): string;
  /** A style's display name. */
  nameOf(id: string): string;
  /** Reloads the styles; selects `select` when given (a newly trained style). */
  refresh(select?: string): Promise<void>;
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

/** `onChange` runs whenever the selection changes (by the person or by a refresh). */
export function createStyleGallery(onChange: () => void): StyleGallery {
  let styles: Style[] = [];
  let selected = '';
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading styles…');
  const gallery = h('div', { class: 'gallery', role: 'radiogroup', 'aria-labelledby': 'gallery-heading' });
  const element = h('section', { class: 'card' }, h('h2', { id: 'gallery-heading' }, h('span', { class: 'step' }, '2'), 'Pick a style'), status, gallery);

  const card = (style: Style, name: string): HTMLElement => {
    const input = h('input', { type: 'radio', name, value: style.id, class: 'visually-hidden' });
    input.checked = style.id === selected;
    input.addEventListener('change', () => {
      selected = style.id;
      onChange();
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
  };

  async function refresh(select?: string): Promise<void> {
    try {
      const response = await styleService.listStyles({}, { metadata: callMetadata({ deadlineSeconds: 10 }) });
      styles = response.styles;
      if (select && styles.some((style) => style.id === select)) selected = select;
      else if (!styles.some((style) => style.id === selected)) selected = styles[0]?.id ?? '';
      status.textContent = styles.length === 0 ? 'No styles are registered yet. Train one in “Train your own”.' : '';
      status.hidden = styles.length > 0;
      const name = uid('style');
      clear(gallery, ...styles.map((style) => card(style, name)));
    } catch (error) {
      status.hidden = false;
      status.textContent = describeError(error, 'load the styles');
    }
    onChange();
  }

  return {
    element,
    selected: () => selected,
    nameOf: (id) => styles.find((style) => style.id === id)?.displayName || id,
    refresh,
  };
}
