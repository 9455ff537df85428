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

export function describeError(error: unknown, action: Action): string {
  if (isAbortError(error)) return `Stopped: you cancelled the request to ${action}.`;
  if (error instanceof ClientError) {
    const details = sentence(error.details);
    switch (error.code) {
      case Status.INVALID_ARGUMENT:
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
        return `Couldn't ${action}: this needs the admin token. Paste it in the "Admin token" field (npm start prints where to find it).`;
      case Status.PERMISSION_DENIED:
        return `Couldn't ${action}: the admin token was not accepted. Check it and try again.`;
      case Status.UNAVAILABLE:
        return `Couldn't ${action}: the service is not reachable right now. Check that it is running and try again.`;
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
    return `Couldn't ${action}: the gateway did not answer. Check your connection and that the platform is running.`;
  }
  return `Couldn't ${action}: ${sentence(error instanceof Error ? error.message : String(error)) || 'an unexpected error happened.'}`;
}
