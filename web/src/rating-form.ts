/**
 * Rating a painting: good or bad, an optional reason, and consent to keep the photo for
 * training, sent with SubmitFeedback (the server keeps one rating per request).
 */
import { callMetadata, clientId, styleService } from './api';
import { h, uid } from './dom';
import { describeError } from './errors';
import { Rating, type StylizeSummary } from './gen/nst/v1/style_service';

export function createRatingForm(summary: StylizeSummary): HTMLElement {
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
