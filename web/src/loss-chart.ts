/**
 * A small SVG line chart of training losses. Terms have very different magnitudes, so each
 * line is scaled to its own range and the legend shows the current values.
 */
import { h } from './dom';
import { formatLoss } from './format';

const SVG = 'http://www.w3.org/2000/svg';
const COLOURS = ['#d1495b', '#2a9d8f', '#e9a23b', '#6d597a', '#3d7dd8', '#7a9e3a', '#8c564b', '#c05fa8'];

export interface LossPoint {
  step: number;
  losses: Record<string, number>;
}

export interface LossChart {
  element: HTMLElement;
  add(point: LossPoint): void;
  reset(): void;
}

export function createLossChart(): LossChart {
  const points: LossPoint[] = [];
  const width = 480;
  const height = 180;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('class', 'loss-chart');
  const legend = h('ul', { class: 'legend' });
  const element = h('figure', { class: 'chart' }, svg, h('figcaption', {}, legend));

  const render = (): void => {
    svg.replaceChildren();
    legend.replaceChildren();
    // Terms that stayed at zero (weighted out) would only draw a flat line at the bottom.
    const terms = [...new Set(points.flatMap((point) => Object.keys(point.losses)))]
      .filter((term) => points.some((point) => (point.losses[term] ?? 0) !== 0))
      .sort((a, b) =>
      a === 'total' ? -1 : b === 'total' ? 1 : a.localeCompare(b),
    );
    const first = points[0];
    const last = points.at(-1);
    if (!first || !last) {
      svg.setAttribute('aria-label', 'Loss chart: no training steps yet.');
      return;
    }
    const span = Math.max(1, last.step - first.step);
    for (const [index, term] of terms.entries()) {
      const series = points.filter((point) => term in point.losses);
      const values = series.map((point) => point.losses[term] as number);
      const min = Math.min(...values);
      const max = Math.max(...values);
      const range = max - min || 1;
      const colour = COLOURS[index % COLOURS.length] as string;
      const line = document.createElementNS(SVG, 'polyline');
      line.setAttribute(
        'points',
        series
          .map((point) => {
            const x = 8 + ((point.step - first.step) / span) * (width - 16);
            const y = 8 + (1 - ((point.losses[term] as number) - min) / range) * (height - 16);
            return `${x.toFixed(1)},${y.toFixed(1)}`;
          })
          .join(' '),
      );
      line.setAttribute('fill', 'none');
      line.setAttribute('stroke', colour);
      line.setAttribute('stroke-width', term === 'total' ? '3' : '1.5');
      line.setAttribute('stroke-linejoin', 'round');
      svg.append(line);
      legend.append(
        h('li', {}, h('span', { class: 'legend-dot', style: `background:${colour}`, 'aria-hidden': 'true' }), `${term} ${formatLoss(values.at(-1) as number)}`),
      );
    }
    const total = terms[0] as string;
    const firstValue = points.find((point) => total in point.losses)?.losses[total];
    const lastValue = last.losses[total];
    svg.setAttribute(
      'aria-label',
      firstValue !== undefined && lastValue !== undefined
        ? `Loss chart: ${total} loss went from ${formatLoss(firstValue)} to ${formatLoss(lastValue)} over steps ${first.step} to ${last.step}.`
        : 'Loss chart.',
    );
  };

  return {
    element,
    add(point) {
      if (Object.keys(point.losses).length === 0) return;
      const previous = points.at(-1);
      if (previous && previous.step === point.step) points[points.length - 1] = point;
      else points.push(point);
      render();
    },
    reset() {
      points.length = 0;
      render();
    },
  };
}
