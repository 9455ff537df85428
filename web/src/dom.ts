/**
 * A tiny element builder: the app is small enough that a framework would be more code to
 * learn than to write, and plain DOM keeps labels, roles and focus explicit.
 */
type Child = Node | string | false | null | undefined;
type Props = Record<string, string | number | boolean | EventListener | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, '').toLowerCase(), value);
    else if (name === 'class') element.className = String(value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  element.append(...children.filter((child): child is Node | string => child !== false && child !== null && child !== undefined));
  return element;
}

export function clear(element: Element, ...children: Child[]): void {
  element.replaceChildren(...children.filter((child): child is Node | string => child !== false && child !== null && child !== undefined));
}

let idCounter = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** Announces a message to screen readers through the page's polite live region. */
export function announce(message: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  // A fresh text node makes screen readers repeat an identical message.
  requestAnimationFrame(() => (region.textContent = message));
}

/**
 * Asks before a change that cannot be taken back: the button is swapped for the question, a
 * confirming button and a safe "keep" button, which gets the focus so a second Enter does
 * nothing harmful. Answering puts the button back (and focuses it when kept).
 */
export function confirmFirst(
  button: HTMLButtonElement,
  options: { question: string; confirm: string; keep: string; onConfirm: () => void },
): void {
  const restore = (): void => {
    group.remove();
    button.hidden = false;
  };
  const yes = h('button', { type: 'button', class: 'danger' }, options.confirm);
  const no = h('button', { type: 'button', class: 'secondary' }, options.keep);
  const questionId = uid('confirm');
  const group = h(
    'span',
    { class: 'confirm', role: 'group', 'aria-labelledby': questionId },
    h('span', { id: questionId, class: 'confirm-question' }, options.question),
    yes,
    no,
  );
  yes.addEventListener('click', () => {
    restore();
    // Back on the button, so focus is not lost to the body if the action removes it.
    button.focus();
    options.onConfirm();
  });
  no.addEventListener('click', () => {
    restore();
    button.focus();
  });
  group.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    restore();
    button.focus();
  });
  button.hidden = true;
  button.after(group);
  no.focus();
}
