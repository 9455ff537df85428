/**
 * Releases: per style, which versions serve people and how they are doing. The rollout table
 * (ReleaseService) shows the stable and canary versions, the canary's weight, approval and
 * error rates and p95 latency side by side, and the analysis's latest decision; below it, the
 * selected style's decision history with the numbers each was taken on, and every version with
 * its lineage (TrainerService). Operators with the admin token can promote, roll back or set
 * the weight by hand. The view refreshes itself while it is on screen.
 */
import { adminToken, callMetadata, operatorToken, releaseService, setAdminToken, setOperatorToken, styleService, trainerService } from './api';
import { clear, confirmFirst, h, uid } from './dom';
import { describeError } from './errors';
import { formatDate, formatLoss } from './format';
import { ACTION_LABEL, approvalText, checkText, healthText, weightChangeText } from './release-format';
import { RolloutPhase, type Decision, type Rollout } from './gen/nst/v1/release_service';
import type { Style } from './gen/nst/v1/style_service';
import { VersionOrigin, type StyleVersion } from './gen/nst/v1/trainer_service';

export interface ReleasesView {
  element: HTMLElement;
  onShow(): void;
  onHide(): void;
}

const ORIGIN_LABEL: Record<number, string> = {
  [VersionOrigin.VERSION_ORIGIN_TRAINED]: 'Trained',
  [VersionOrigin.VERSION_ORIGIN_FINE_TUNED]: 'Fine-tuned',
  [VersionOrigin.VERSION_ORIGIN_STARTER]: 'Starter',
};

/** Badge text and colour state (styles.css `.badge[data-state]`) per phase. */
const PHASE: Record<number, { label: string; state: string }> = {
  [RolloutPhase.ROLLOUT_PHASE_STABLE]: { label: 'Stable', state: '3' },
  [RolloutPhase.ROLLOUT_PHASE_CANARY]: { label: 'Canary in progress', state: '2' },
  [RolloutPhase.ROLLOUT_PHASE_PROMOTED]: { label: 'Promoted', state: '3' },
  [RolloutPhase.ROLLOUT_PHASE_ROLLED_BACK]: { label: 'Rolled back', state: '4' },
};

/** How often the view refreshes while visible: rollouts move on the analysis interval. */
const REFRESH_MS = 5000;

function metricsText(values: Record<string, number>): string {
  return Object.entries(values)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name.replace(/_/g, ' ')} ${formatLoss(value)}`)
    .join(', ');
}

/** A two-part bar: stable's share and canary's share of unpinned calls. */
function weightBar(rollout: Rollout): HTMLElement {
  const canary = rollout.canaryVersion !== undefined ? rollout.canaryWeight : 0;
  const bar = h(
    'div',
    { class: 'weight-bar', role: 'img', 'aria-label': `${100 - canary}% of calls to version ${rollout.stableVersion}${canary ? `, ${canary}% to canary version ${rollout.canaryVersion}` : ''}` },
    h('span', { class: 'weight-stable' }),
    h('span', { class: 'weight-canary' }),
  );
  bar.style.setProperty('--canary', `${canary}%`);
  return bar;
}

type Child = Node | string;

/**
 * A table cell that carries its column's name and keeps its content in one block, so on a
 * phone (styles.css `table.stack`) it can show as "label: value" lines.
 */
function cell(label: string, props: { class?: string }, ...children: Child[]): HTMLTableCellElement {
  const filled = children.filter((child) => child !== '');
  return h('td', { ...props, 'data-label': label, class: [props.class, filled.length === 0 ? 'empty' : ''].filter(Boolean).join(' ') || undefined }, h('div', {}, ...filled));
}

export function createReleasesView(): ReleasesView {
  const selectId = uid('release-style');
  const tokenId = uid('release-token');
  const operatorId = uid('release-operator-token');
  const weightId = uid('release-weight');
  const select = h('select', { id: selectId });
  const rolloutStatus = h('p', { class: 'muted', role: 'status' });
  const rolloutTable = h('div', { class: 'table-wrap' });
  const actionStatus = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const decisionsList = h('ol', { class: 'decisions' });
  const versionsStatus = h('p', { class: 'muted', role: 'status' });
  const versionsTable = h('div', { class: 'table-wrap' });
  const token = h('input', { id: tokenId, type: 'password', autocomplete: 'off' });
  const operator = h('input', { id: operatorId, type: 'password', autocomplete: 'off' });
  const weight = h('input', { id: weightId, type: 'number', min: 0, max: 100, step: 1, inputmode: 'numeric' });
  const promote = h('button', { type: 'button' }, 'Promote canary');
  const rollback = h('button', { type: 'button', class: 'danger' }, 'Roll back canary');
  const setWeight = h('button', { type: 'button' }, 'Set weight');
  let styles: Style[] = [];
  let rollouts: Rollout[] = [];
  let timer: ReturnType<typeof setInterval> | undefined;

  token.value = adminToken();
  token.addEventListener('change', () => setAdminToken(token.value.trim()));
  operator.value = operatorToken();
  operator.addEventListener('change', () => setOperatorToken(operator.value.trim()));

  const element = h(
    'div',
    { class: 'view releases-view' },
    h(
      'div',
      { class: 'intro' },
      h('h1', {}, 'Releases'),
      h(
        'p',
        { class: 'lede' },
        'New versions reach people as canaries: a small share of calls at first, more while ratings, errors and speed hold up, rolled back at once when they do not.',
      ),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'rollouts-heading' }, h('h2', { id: 'rollouts-heading' }, 'Rollouts'), rolloutStatus, rolloutTable),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'style-release-heading' },
      h('h2', { id: 'style-release-heading' }, 'Decisions and versions'),
      h('div', { class: 'field' }, h('label', { for: selectId }, 'Style'), select),
      h(
        'details',
        { class: 'operator' },
        h('summary', {}, 'Operator actions'),
        h('p', { class: 'muted small' }, 'These need the admin token (npm start prints where to find it).'),
        h('label', { for: tokenId }, 'Admin token'),
        token,
        h('label', { for: operatorId }, 'Operator token ', h('span', { class: 'muted' }, '(in a Kubernetes cluster: kubectl -n nst create token nst-operator --audience nst-admin)')),
        operator,
        h('label', { for: weightId }, 'Canary weight (percent of calls)'),
        weight,
        h('div', { class: 'buttons' }, setWeight, promote, rollback),
        actionStatus,
      ),
      h('h3', {}, 'Decisions'),
      decisionsList,
      h('h3', {}, 'Versions'),
      versionsStatus,
      versionsTable,
    ),
  );

  function selectedStyle(): Style | undefined {
    return styles.find((style) => style.id === select.value);
  }

  function renderRollouts(): void {
    if (rollouts.length === 0) {
      clear(rolloutTable);
      return;
    }
    clear(
      rolloutTable,
      h(
        'table',
        { class: 'rollouts stack' },
        h('caption', { class: 'visually-hidden' }, 'Rollout of every style'),
        h('thead', {}, h('tr', {}, ...['Style', 'State', 'Stable', 'Canary', 'Split', 'Approval', 'Health', 'Latest decision'].map((label) => h('th', { scope: 'col' }, label)))),
        h(
          'tbody',
          {},
          ...rollouts.map((rollout) => {
            const phase = PHASE[rollout.phase] ?? { label: 'Unknown', state: '1' };
            const style = styles.find((s) => s.id === rollout.style);
            const hasCanary = rollout.canaryVersion !== undefined;
            const decision = rollout.lastDecision;
            return h(
              'tr',
              { 'data-style': rollout.style },
              h('th', { scope: 'row' }, style?.displayName || rollout.style),
              cell('State', {}, h('span', { class: 'badge', 'data-state': phase.state }, phase.label)),
              cell('Stable', {}, h('code', {}, rollout.stableVersion)),
              cell('Canary', {}, hasCanary ? h('code', {}, rollout.canaryVersion ?? '') : '—'),
              cell('Split', {}, weightBar(rollout), h('div', { class: 'small muted' }, hasCanary ? `${100 - rollout.canaryWeight}% / ${rollout.canaryWeight}%` : '100% stable')),
              cell(
                'Approval',
                { class: 'small' },
                h('div', {}, `stable: ${approvalText(rollout.stableStats)}`),
                hasCanary ? h('div', {}, `canary: ${approvalText(rollout.canaryStats)}`) : '',
              ),
              cell(
                'Health',
                { class: 'small' },
                h('div', {}, `stable: ${healthText(rollout.stableStats)}`),
                hasCanary ? h('div', {}, `canary: ${healthText(rollout.canaryStats)}`) : '',
              ),
              cell(
                'Latest decision',
                { class: 'small' },
                decision ? h('div', {}, `${ACTION_LABEL[decision.action] ?? 'Decision'} · ${formatDate(decision.decidedAt)}`) : '—',
                decision?.reason ? h('div', { class: 'muted' }, decision.reason) : '',
                hasCanary && rollout.nextAnalysisAt ? h('div', { class: 'muted' }, `next analysis ${formatDate(rollout.nextAnalysisAt)}`) : '',
              ),
            );
          }),
        ),
      ),
    );
  }

  function renderDecisions(decisions: Decision[]): void {
    if (decisions.length === 0) {
      clear(decisionsList, h('li', { class: 'muted' }, 'No decisions yet: this style has not had a canary.'));
      return;
    }
    clear(
      decisionsList,
      ...decisions.map((decision) =>
        h(
          'li',
          { 'data-action': ACTION_LABEL[decision.action] ?? '' },
          h('strong', {}, ACTION_LABEL[decision.action] ?? 'Decision'),
          ` · version ${decision.canaryVersion} against ${decision.stableVersion} · ${weightChangeText(decision)} · ${decision.actor} · ${formatDate(decision.decidedAt)}`,
          decision.reason ? h('div', {}, decision.reason) : '',
          decision.checks.length > 0 ? h('ul', { class: 'small muted' }, ...decision.checks.map((check) => h('li', {}, checkText(check)))) : '',
        ),
      ),
    );
  }

  function renderVersions(style: Style, versions: StyleVersion[], rollout: Rollout | undefined): void {
    const serving = (version: string): string => {
      if (!rollout) return version === style.latestVersion ? 'Stable · 100%' : '';
      if (version === rollout.stableVersion) return `Stable · ${rollout.canaryVersion !== undefined ? 100 - rollout.canaryWeight : 100}%`;
      if (version === rollout.canaryVersion) return `Canary · ${rollout.canaryWeight}%`;
      return '';
    };
    clear(
      versionsTable,
      h(
        'table',
        { class: 'stack' },
        h('caption', { class: 'visually-hidden' }, `Versions of ${style.displayName || style.id}, newest first`),
        h('thead', {}, h('tr', {}, ...['Version', 'Serving', 'Origin', 'Parent', 'Created', 'Final losses', 'Metrics'].map((label) => h('th', { scope: 'col' }, label)))),
        h(
          'tbody',
          {},
          ...[...versions].reverse().map((version) => {
            const share = serving(version.version);
            return h(
              'tr',
              { class: share ? 'serving' : '' },
              h('th', { scope: 'row' }, h('code', {}, version.version)),
              cell('Serving', {}, share ? h('span', { class: 'badge', 'data-state': share.startsWith('Canary') ? '2' : '3' }, share) : ''),
              cell('Origin', {}, ORIGIN_LABEL[version.origin] ?? '—', version.reason ? h('div', { class: 'muted small' }, version.reason) : ''),
              cell('Parent', {}, version.parentVersion ? h('code', {}, version.parentVersion) : '—'),
              cell('Created', {}, formatDate(version.createdAt)),
              cell('Final losses', { class: 'small' }, metricsText(version.losses) || '—'),
              cell('Metrics', { class: 'small' }, metricsText(version.metrics) || '—'),
            );
          }),
        ),
      ),
    );
  }

  async function loadRollouts(): Promise<void> {
    try {
      rollouts = (await releaseService.listRollouts({}, { metadata: callMetadata({ deadlineSeconds: 10 }) })).rollouts;
      rolloutStatus.textContent = rollouts.length === 0 ? 'No rollouts yet: the release service has not seen any style.' : '';
    } catch (error) {
      rollouts = [];
      rolloutStatus.textContent = describeError(error, 'load the rollouts');
    }
    renderRollouts();
  }

  async function loadStyle(): Promise<void> {
    const style = selectedStyle();
    if (!style) return;
    const rollout = rollouts.find((r) => r.style === style.id);
    const canary = rollout?.canaryVersion !== undefined;
    promote.disabled = !canary;
    rollback.disabled = !canary;
    setWeight.disabled = !canary;
    if (canary && document.activeElement !== weight) weight.value = String(rollout.canaryWeight);
    const [decisions, versions] = await Promise.allSettled([
      releaseService.listDecisions({ style: style.id, limit: 50 }, { metadata: callMetadata({ deadlineSeconds: 10 }) }),
      trainerService.listVersions({ style: style.id }, { metadata: callMetadata({ deadlineSeconds: 10 }) }),
    ]);
    if (decisions.status === 'fulfilled') renderDecisions(decisions.value.decisions);
    else clear(decisionsList, h('li', { class: 'error' }, describeError(decisions.reason, `load the decisions for ${style.displayName || style.id}`)));
    if (versions.status === 'fulfilled') {
      versionsStatus.textContent = versions.value.versions.length === 0 ? `${style.displayName} has no versions yet.` : '';
      renderVersions(style, versions.value.versions, rollout);
    } else {
      clear(versionsTable);
      versionsStatus.textContent = describeError(versions.reason, `list the versions of ${style.displayName || style.id}`);
    }
  }

  async function refresh(): Promise<void> {
    await loadRollouts();
    await loadStyle();
  }

  async function act(label: string, call: () => Promise<{ rollout?: Rollout | undefined }>): Promise<void> {
    actionStatus.textContent = `Asking the release service to ${label}…`;
    setAdminToken(token.value.trim());
    setOperatorToken(operator.value.trim());
    try {
      const { rollout } = await call();
      actionStatus.textContent = rollout
        ? `Done: version ${rollout.stableVersion} is stable${rollout.canaryVersion !== undefined ? `, canary ${rollout.canaryVersion} takes ${rollout.canaryWeight}%` : ' and takes every call'}.`
        : 'Done.';
      await refresh();
    } catch (error) {
      actionStatus.textContent = describeError(error, label);
    }
  }

  const admin = () => ({ metadata: callMetadata({ admin: true, deadlineSeconds: 10 }) });
  // Both change what every caller gets at once, so each asks first, naming the versions.
  // The reason says who acted; ReleaseService already writes what was done before it.
  const versionsOf = (): { style: string; canary: string; stable: string } => {
    const rollout = rollouts.find((r) => r.style === select.value);
    return { style: selectedStyle()?.displayName || select.value, canary: rollout?.canaryVersion ?? '?', stable: rollout?.stableVersion ?? '?' };
  };
  promote.addEventListener('click', () => {
    const { style, canary } = versionsOf();
    confirmFirst(promote, {
      question: `Make version ${canary} of ${style} stable for everyone?`,
      confirm: 'Yes, promote',
      keep: 'Not now',
      onConfirm: () => void act('promote the canary', () => releaseService.promote({ style: select.value, reason: 'by an operator in the web app' }, admin())),
    });
  });
  rollback.addEventListener('click', () => {
    const { style, canary, stable } = versionsOf();
    confirmFirst(rollback, {
      question: `Roll back version ${canary} of ${style}? Every call goes to version ${stable} again.`,
      confirm: 'Yes, roll back',
      keep: 'Not now',
      onConfirm: () => void act('roll back the canary', () => releaseService.rollback({ style: select.value, reason: 'by an operator in the web app' }, admin())),
    });
  });
  setWeight.addEventListener('click', () => {
    const value = Number(weight.value);
    if (!Number.isInteger(value) || value < 0 || value > 100) {
      actionStatus.textContent = 'The weight is a whole number of percent from 0 to 100.';
      weight.focus();
      return;
    }
    void act(`set the canary weight to ${value}%`, () => releaseService.setWeight({ style: select.value, weight: value }, admin()));
  });

  async function onShow(): Promise<void> {
    try {
      const previous = select.value;
      styles = (await styleService.listStyles({}, { metadata: callMetadata({ deadlineSeconds: 10 }) })).styles;
      clear(select, ...styles.map((style) => h('option', { value: style.id }, style.displayName || style.id)));
      if (styles.some((style) => style.id === previous)) select.value = previous;
      if (styles.length === 0) versionsStatus.textContent = 'No styles are registered yet.';
    } catch (error) {
      versionsStatus.textContent = describeError(error, 'load the styles');
    }
    await refresh();
    timer ??= setInterval(() => void refresh(), REFRESH_MS);
  }

  select.addEventListener('change', () => void loadStyle());
  return {
    element,
    onShow: () => void onShow(),
    onHide: () => {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
