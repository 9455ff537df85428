/**
 * Every failure as a sentence a person can act on. The services already write their status
 * details as sentences ("image is 40 MB; the limit is 32 MB"), so those are kept and framed by
 * what the status code means for the person.
 */
import { ClientError, Status } from 'nice-grpc-web';
import { isAbortError } from 'abort-controller-x';

/** What the person was doing, for the sentence ("stylize your photo"). */
export type Action = string;

function sentence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return '';
  const capital = trimmed[0]!.toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** Said whenever the page cannot reach the platform, whichever layer noticed. */
const UNREACHABLE = 'the server cannot be reached. Check your connection and that the platform is running, then try again.';

/** How an operator gets the token Istio asks for on admin calls in the cluster. */
const MAKE_OPERATOR_TOKEN =
  'Make one with "kubectl -n nst create token nst-operator --audience nst-admin" and paste it in the "Operator token" field.';

/** First bytes of image formats StyleService reads, as its "starts with bytes …" writes them. */
const IMAGE_SIGNATURES = ['ffd8ff', '89504e47', '47494638', '49492a00', '4d4d002a', '52494646', '0000001c66747970', '0000002066747970', '0000001866747970'];

/**
 * An upload the decoder gave up on partway: the file begins like an image (or the decoder says
 * it ended early), so the person's file is damaged or cut short, not of the wrong kind. The
 * decoder's own words (libvips, often repeated) mean nothing to a person and are left out.
 */
export function isDamagedImage(details: string): boolean {
  if (/premature end|truncated|corrupt|unexpected end|damaged/i.test(details)) return true;
  const start = /starts with bytes ([0-9a-f]+)/i.exec(details)?.[1]?.toLowerCase();
  return start !== undefined && IMAGE_SIGNATURES.some((signature) => start.startsWith(signature));
}

export function describeError(error: unknown, action: Action): string {
  if (isAbortError(error)) return `Stopped: you cancelled the request to ${action}.`;
  if (error instanceof ClientError) {
    const details = sentence(error.details);
    // nice-grpc-web reports a fetch that never got an answer as UNKNOWN "Transport error: …".
    if (/^Transport error\b/i.test(error.details)) return `Couldn't ${action}: ${UNREACHABLE}`;
    switch (error.code) {
      case Status.INVALID_ARGUMENT:
        if (isDamagedImage(error.details)) {
          return `Couldn't ${action}: the file looks damaged or cut short, so it cannot be read as an image. Open it on your device to check, or pick another copy.`;
        }
        return `Couldn't ${action}: ${details || 'the server could not use what was sent.'}`;
      case Status.NOT_FOUND:
        return `Couldn't ${action}: ${details || 'it no longer exists.'} Reload the page to see what is available.`;
      case Status.RESOURCE_EXHAUSTED:
        return `Couldn't ${action}: ${details || 'the server is too busy.'}`;
      case Status.DEADLINE_EXCEEDED:
        return `It took too long to ${action}, so it was stopped. Try a smaller image or try again in a moment.`;
      case Status.CANCELLED:
        return `The request to ${action} was cancelled before it finished.`;
      case Status.UNAUTHENTICATED:
        // Istio's JWT check in the cluster ("Jwt verification fails", "Jwt is expired").
        if (/\bjwt\b/i.test(error.details)) return `Couldn't ${action}: the operator token was not accepted (expired, or made for another cluster). ${MAKE_OPERATOR_TOKEN}`;
        return `Couldn't ${action}: this needs the admin token. Paste it in the "Admin token" field (npm start prints where to find it).`;
      case Status.PERMISSION_DENIED:
        // Istio's admin-call policy in the cluster ("RBAC: access denied").
        if (/\bRBAC\b/.test(error.details)) return `Couldn't ${action}: in this cluster it also needs an operator token. ${MAKE_OPERATOR_TOKEN}`;
        return `Couldn't ${action}: the admin token was not accepted. Check it and try again.`;
      case Status.UNAVAILABLE:
        return `Couldn't ${action}: ${UNREACHABLE}`;
      case Status.UNIMPLEMENTED:
        return `Couldn't ${action}: this server does not offer that yet. ${details}`.trim();
      case Status.FAILED_PRECONDITION:
      case Status.ALREADY_EXISTS:
      case Status.OUT_OF_RANGE:
      case Status.ABORTED:
        return `Couldn't ${action}: ${details || 'the server refused it in its current state.'}`;
      default:
        return `Something went wrong on the server while trying to ${action}. Please try again; if it keeps happening, report it.${
          details ? ` (${details})` : ''
        }`;
    }
  }
  if (error instanceof TypeError) {
    return `Couldn't ${action}: ${UNREACHABLE}`;
  }
  return `Couldn't ${action}: ${sentence(error instanceof Error ? error.message : String(error)) || 'an unexpected error happened.'}`;
}
