/**
 * SubmitFeedback: validates a rating, keeps the rated input photo when (and only when) the
 * person consented and the photo is still held, and acknowledges only after the feedback
 * store reports the record durable.
 */
import { randomUUID } from 'node:crypto';
import { Rating, type SubmitFeedbackRequest, type SubmitFeedbackResponse } from '@nst/proto';
import { FEEDBACK_ID_PATTERN, FeedbackValidationError, type FeedbackStore } from '@nst/runtime';
import { requireStyle, type StyleCatalog } from './catalog';
import { invalidArgument, unavailable } from './errors';
import type { PhotoKeeper } from './photo-keeper';
import type { ServedRequests } from './served-requests';

const STORAGE_ERRORS = new Map([
  ['ENOSPC', 'no space left on the device'],
  ['EDQUOT', 'disk quota exceeded'],
  ['EROFS', 'the file system is read-only'],
  ['EACCES', 'permission denied'],
  ['EPERM', 'operation not permitted'],
  ['EIO', 'input/output error'],
]);

/** Where feedback goes: the platform's FeedbackStore (append resolves once durable). */
export type FeedbackSink = Pick<FeedbackStore, 'append'>;

export interface FeedbackDeps {
  catalog: StyleCatalog;
  photos: PhotoKeeper;
  sink: FeedbackSink;
  /** Which version served each recent request (the release router may have picked a canary). */
  served?: ServedRequests;
}

const MAX_REASON = 2000;

export async function submitFeedback(deps: FeedbackDeps, request: SubmitFeedbackRequest): Promise<SubmitFeedbackResponse> {
  const rating =
    request.rating === Rating.RATING_GOOD ? 'good' : request.rating === Rating.RATING_BAD ? 'bad' : undefined;
  if (!rating) throw invalidArgument('rating is not set; use RATING_GOOD or RATING_BAD');
  // A rating counts against the version that served the request: when the request is known,
  // its style and version fill in missing fields, and contradicting ones are refused.
  const served = request.requestId ? deps.served?.get(request.requestId) : undefined;
  if (served) {
    if ((request.style && request.style !== served.style) || (request.version && request.version !== served.version)) {
      throw invalidArgument(
        `request ${request.requestId} was served by ${served.style} version ${served.version}, ` +
          `not ${request.style || served.style} version ${request.version || served.version}; rate the version named in its summary`,
      );
    }
    request = { ...request, style: served.style, version: served.version };
  }
  if (!request.style) throw invalidArgument('style is not set; send the style from the stylize summary');
  if (!request.version) throw invalidArgument('version is not set; send the version from the stylize summary');
  if (request.reason.length > MAX_REASON) {
    throw invalidArgument(`reason is ${request.reason.length} characters; the limit is ${MAX_REASON}`);
  }
  const id = request.feedbackId || randomUUID();
  if (!FEEDBACK_ID_PATTERN.test(id)) {
    throw invalidArgument(
      `feedback_id '${id.slice(0, 40)}' is not valid; use up to 128 letters, digits, '.', '_' or '-', or leave it empty`,
    );
  }
  await requireStyle(deps.catalog, request.style, request.version);

  const held = request.requestId ? deps.photos.get(request.requestId) : undefined;
  if (held && (held.style !== request.style || held.version !== request.version)) {
    throw invalidArgument(
      `request ${request.requestId} was served by ${held.style} version ${held.version}, ` +
        `not ${request.style} version ${request.version}; rate the version named in its summary`,
    );
  }
  // The store records the photo relative to the kept-photos folder (NST_KEPT_PHOTOS_DIR).
  const photoRef = request.consentToKeepPhoto && held ? await deps.photos.keep(request.requestId, id) : undefined;
  try {
    await deps.sink.append({
      id,
      requestId: request.requestId,
      style: request.style,
      version: request.version,
      rating,
      ...(request.reason ? { reason: request.reason } : {}),
      clientId: request.clientId,
      consent: request.consentToKeepPhoto,
      ...(photoRef ? { photoRef } : {}),
      createdAt: new Date().toISOString(),
    });
  } catch (error) {
    if (error instanceof FeedbackValidationError) throw invalidArgument(error.message);
    // A full, read-only or failing disk: nothing was acknowledged, so the client may retry
    // (feedback ids make the retry idempotent) once an operator has made room.
    const code = (error as NodeJS.ErrnoException).code;
    if (code && STORAGE_ERRORS.has(code)) {
      throw unavailable(`the feedback store cannot be written (${code}: ${STORAGE_ERRORS.get(code)}); the rating was not recorded, retry later`);
    }
    throw error;
  }
  return { feedbackId: id, photoKept: photoRef !== undefined };
}
