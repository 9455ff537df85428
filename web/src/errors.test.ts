import { ClientError, Status } from 'nice-grpc-web';
import { AbortError } from 'abort-controller-x';
import { describe, expect, it } from 'vitest';
import { describeError } from './errors';

const client = (code: Status, details: string) => new ClientError('/nst.v1.StyleService/StylizeImage', code, details);

describe('describeError', () => {
  it('frames the service sentence with what the person was doing', () => {
    expect(describeError(client(Status.RESOURCE_EXHAUSTED, 'image is 40.0 MB; the limit is 32.0 MB'), 'stylize your photo')).toBe(
      "Couldn't stylize your photo: Image is 40.0 MB; the limit is 32.0 MB.",
    );
  });

  it('explains codes without details, and never shows a bare code', () => {
    for (const code of Object.values(Status).filter((value): value is Status => typeof value === 'number' && value !== Status.OK)) {
      const text = describeError(client(code, ''), 'load the styles');
      expect(text).toMatch(/^[A-Z].*[.)]$/);
      expect(text).not.toMatch(/\b(UNAVAILABLE|INTERNAL|Status)\b/);
    }
    expect(describeError(client(Status.UNAUTHENTICATED, 'missing token'), 'train a style')).toContain('admin token');
    expect(describeError(client(Status.UNAVAILABLE, 'connect ECONNREFUSED'), 'load the styles')).toContain('not reachable');
  });

  it('tells network failures and cancellations apart', () => {
    expect(describeError(new TypeError('Failed to fetch'), 'load the styles')).toContain('did not answer');
    expect(describeError(new AbortError(), 'stylize your photo')).toMatch(/^Stopped/);
  });
});
