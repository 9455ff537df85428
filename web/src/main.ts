/**
 * Style Studio: paint a photo in a style, rate it, train a style of your own, and see each
 * style's releases. Three tab panels; every panel keeps its state while hidden.
 */
import './styles.css';
import { h } from './dom';
import { createReleasesView } from './releases-view';
import { createStylizeView } from './stylize-view';
import { createTrainView } from './train-view';

interface Panel {
  id: string;
  label: string;
  element: HTMLElement;
  onShow?: () => void;
  onHide?: () => void;
}

const main = document.getElementById('main') as HTMLElement;
const tablist = document.getElementById('tabs') as HTMLElement;

const stylize = createStylizeView();
const releases = createReleasesView();
const train = createTrainView({
  useStyle: (style) => {
    select('stylize');
    void stylize.refreshStyles(style);
  },
});

const panels: Panel[] = [
  { id: 'stylize', label: 'Stylize', element: stylize.element },
  { id: 'train', label: 'Train your own', element: train.element, onShow: () => train.onShow() },
  { id: 'releases', label: 'Releases', element: releases.element, onShow: () => releases.onShow(), onHide: () => releases.onHide() },
];

const tabs = panels.map((panel) =>
  h(
    'button',
    {
      role: 'tab',
      id: `tab-${panel.id}`,
      type: 'button',
      'aria-controls': `panel-${panel.id}`,
      onclick: () => select(panel.id, true),
      onkeydown: (event: Event) => {
        // Arrow keys move between tabs (WAI-ARIA tabs pattern).
        const key = (event as KeyboardEvent).key;
        const index = panels.indexOf(panel);
        const next = key === 'ArrowRight' ? index + 1 : key === 'ArrowLeft' ? index - 1 : undefined;
        if (next === undefined) return;
        const target = panels[(next + panels.length) % panels.length] as Panel;
        select(target.id, true);
        event.preventDefault();
      },
    },
    panel.label,
  ),
);
tablist.append(...tabs);

for (const panel of panels) {
  panel.element.id = `panel-${panel.id}`;
  panel.element.setAttribute('role', 'tabpanel');
  panel.element.setAttribute('aria-labelledby', `tab-${panel.id}`);
  main.append(panel.element);
}

function select(id: string, focusTab = false): void {
  panels.forEach((panel, index) => {
    const active = panel.id === id;
    const tab = tabs[index] as HTMLButtonElement;
    tab.setAttribute('aria-selected', String(active));
    tab.tabIndex = active ? 0 : -1;
    const wasShown = !panel.element.hidden;
    panel.element.hidden = !active;
    if (!active && wasShown) panel.onHide?.();
    if (active) {
      panel.onShow?.();
      if (focusTab) tab.focus();
    }
  });
  if (window.location.hash.slice(1) !== id) history.replaceState(null, '', `#${id}`);
}

select(panels.some((panel) => panel.id === window.location.hash.slice(1)) ? window.location.hash.slice(1) : 'stylize');
void stylize.refreshStyles();
