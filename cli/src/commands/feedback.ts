import { Rating } from '@nst/proto';
import type { CliContext } from '../context';
import { CliError, unary } from '../grpc';

export interface FeedbackOptions {
  reason?: string;
  consent?: boolean;
  /** Override the style and version remembered from `nst stylize`. */
  style?: string;
  version?: string;
}

/** `nst feedback <request-id> good|bad`: rates a stylized result. */
export async function submitFeedback(ctx: CliContext, requestId: string, rating: string, options: FeedbackOptions): Promise<void> {
  const value = rating.toLowerCase() === 'good' ? Rating.RATING_GOOD : rating.toLowerCase() === 'bad' ? Rating.RATING_BAD : undefined;
  if (value === undefined) throw new CliError(`the rating must be "good" or "bad", not "${rating}"`);
  const served = await ctx.history.find(requestId);
  const style = options.style ?? served?.style;
  const version = options.version ?? served?.version;
  if (!style || !version) {
    throw new CliError(
      `request ${requestId} was not stylized from this machine's \`nst stylize\`; pass --style and --version (from its summary)`,
    );
  }
  const response = await unary(ctx.style, ctx.style.client.submitFeedback, {
    feedbackId: '',
    requestId,
    style,
    version,
    rating: value,
    reason: options.reason ?? '',
    clientId: await ctx.history.clientId(),
    consentToKeepPhoto: options.consent ?? false,
  });
  ctx.print(
    `Recorded ${value === Rating.RATING_GOOD ? 'good' : 'bad'} feedback ${response.feedbackId} for ${style} version ${version}` +
      (options.consent ? (response.photoKept ? '; the photo is kept for training.' : '; the photo was no longer held, so it was not kept.') : '.'),
  );
}
