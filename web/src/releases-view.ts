/**
 * Releases: per style, every version with its lineage, losses and metrics, and which version
 * serves requests. StyleService serves a style's newest version; when the release service
 * (canary weights, approval rates) is part of the platform, its rollout state joins this view.
 */
import { callMetadata, styleService, trainerService } from './api';
import { clear, h, uid } from './dom';
import { describeError } from './errors';
import { formatDate, formatLoss } from './format';
import type { Style } from './gen/nst/v1/style_service';
import { VersionOrigin, type StyleVersion } from './gen/nst/v1/trainer_service';

export interface ReleasesView {
  element: HTMLElement;
  onShow(): void;
}

const ORIGIN_LABEL: Record<number, string> = {
  [VersionOrigin.VERSION_ORIGIN_TRAINED]: 'Trained',
  [VersionOrigin.VERSION_ORIGIN_FINE_TUNED]: 'Fine-tuned',
  [VersionOrigin.VERSION_ORIGIN_STARTER]: 'Starter',
};

function metricsText(values: Record<string, number>): string {
  return Object.entries(values)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name.replace(/_/g, ' ')} ${formatLoss(value)}`)
    .join(', ');
}

export function createReleasesView(): ReleasesView {
  const selectId = uid('release-style');
  const select = h('select', { id: selectId });
  const status = h('p', { class: 'muted', role: 'status' });
  const table = h('div', { class: 'table-wrap' });
  let styles: Style[] = [];

  const element = h(
    'div',
    { class: 'view releases-view' },
    h(
      'div',
      { class: 'intro' },
      h('h1', {}, 'Releases'),
      h('p', { class: 'lede' }, 'Every version of a style, where it came from, how it scored, and which one paints your photos.'),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'versions-heading' }, h('h2', { id: 'versions-heading' }, 'Versions'), h('div', { class: 'field' }, h('label', { for: selectId }, 'Style'), select), status, table),
  );

  async function loadVersions(): Promise<void> {
    const style = styles.find((s) => s.id === select.value);
    if (!style) return;
    status.textContent = 'Loading versions…';
    try {
      const { versions } = await trainerService.listVersions({ style: style.id }, { metadata: callMetadata({ deadlineSeconds: 10 }) });
      status.textContent = versions.length === 0 ? `${style.displayName} has no versions yet.` : '';
      renderTable(style, versions);
    } catch (error) {
      clear(table);
      status.textContent = describeError(error, `list the versions of ${style.displayName || style.id}`);
    }
  }

  function renderTable(style: Style, versions: StyleVersion[]): void {
    const newestFirst = [...versions].reverse();
    clear(
      table,
      h(
        'table',
        {},
        h('caption', { class: 'visually-hidden' }, `Versions of ${style.displayName || style.id}, newest first`),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Version', 'Serving', 'Origin', 'Parent', 'Created', 'Final losses', 'Metrics'].map((label) => h('th', { scope: 'col' }, label)),
          ),
        ),
        h(
          'tbody',
          {},
          ...newestFirst.map((version) =>
            h(
              'tr',
              { class: version.version === style.latestVersion ? 'serving' : '' },
              h('th', { scope: 'row' }, h('code', {}, version.version)),
              h('td', {}, version.version === style.latestVersion ? h('span', { class: 'badge', 'data-state': '3' }, 'Stable · 100%') : ''),
              h('td', {}, ORIGIN_LABEL[version.origin] ?? '—', version.reason ? h('div', { class: 'muted small' }, version.reason) : ''),
              h('td', {}, version.parentVersion ? h('code', {}, version.parentVersion) : '—'),
              h('td', {}, formatDate(version.createdAt)),
              h('td', { class: 'small' }, metricsText(version.losses) || '—'),
              h('td', { class: 'small' }, metricsText(version.metrics) || '—'),
            ),
          ),
        ),
      ),
    );
  }

  async function onShow(): Promise<void> {
    try {
      const previous = select.value;
      styles = (await styleService.listStyles({}, { metadata: callMetadata({ deadlineSeconds: 10 }) })).styles;
      clear(select, ...styles.map((style) => h('option', { value: style.id }, style.displayName || style.id)));
      if (styles.some((style) => style.id === previous)) select.value = previous;
      if (styles.length === 0) status.textContent = 'No styles are registered yet.';
      else await loadVersions();
    } catch (error) {
      status.textContent = describeError(error, 'load the styles');
    }
  }

  select.addEventListener('change', () => void loadVersions());
  return { element, onShow: () => void onShow() };
}
