import { ClientError, Status } from 'nice-grpc-web';
import { AbortError } from 'abort-controller-x';
import { describe, expect, it } from 'vitest';
import { describeError, isDamagedImage } from './errors';

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
    expect(describeError(client(Status.UNAVAILABLE, 'connect ECONNREFUSED'), 'load the styles')).toContain('cannot be reached');
  });

  it('says the server cannot be reached, not that it went wrong, when nothing answered', () => {
    const unreachable = "Couldn't paint your photo: the server cannot be reached. Check your connection and that the platform is running, then try again.";
    // What nice-grpc-web throws when fetch fails (the gateway is down or the network is gone).
    expect(describeError(client(Status.UNKNOWN, 'Transport error: Failed to fetch'), 'paint your photo')).toBe(unreachable);
    expect(describeError(new TypeError('Failed to fetch'), 'paint your photo')).toBe(unreachable);
    expect(describeError(client(Status.UNAVAILABLE, 'no healthy upstream'), 'paint your photo')).toBe(unreachable);
    expect(describeError(client(Status.UNKNOWN, 'boom'), 'paint your photo')).toMatch(/^Something went wrong on the server/);
  });

  it("points to the operator token when the cluster's Istio refuses an admin call, and to the admin token otherwise", () => {
    expect(describeError(client(Status.PERMISSION_DENIED, 'RBAC: access denied'), 'promote the canary')).toBe(
      `Couldn't promote the canary: in this cluster it also needs an operator token. Make one with "kubectl -n nst create token nst-operator --audience nst-admin" and paste it in the "Operator token" field.`,
    );
    expect(describeError(client(Status.UNAUTHENTICATED, 'Jwt is expired'), 'promote the canary')).toMatch(/operator token was not accepted/);
    expect(describeError(client(Status.PERMISSION_DENIED, 'admin token does not match'), 'promote the canary')).toMatch(/admin token was not accepted/);
  });

  it('tells network failures and cancellations apart', () => {
    expect(describeError(new AbortError(), 'stylize your photo')).toMatch(/^Stopped/);
  });
});

describe('damaged uploads', () => {
  // StyleService's words for a JPEG cut short, as it sends them (libvips repeats itself).
  const headerCut =
    'the upload is not an image this service can read (JPEG, PNG, WebP, AVIF, TIFF or GIF); it starts with bytes ffd8ffdb0043000604050605 ' +
    '(Input buffer has corrupt header: VipsJpeg: premature end of JPEG image\nVipsJpeg: Invalid JPEG file structure: missing SOS marker\n' +
    'VipsJpeg: premature end of JPEG image\nVipsJpeg: Invalid JPEG file structure: missing SOS marker\nVipsJpeg: premature end of JPEG image)';
  const bodyCut = 'the image could not be decoded; it may be truncated or corrupt (VipsJpeg: premature end of JPEG image)';

  it('says the file is damaged or cut short, without the decoder or the bytes', () => {
    for (const details of [headerCut, bodyCut]) {
      const text = describeError(client(Status.INVALID_ARGUMENT, details), 'paint your photo');
      expect(text).toBe(
        "Couldn't paint your photo: the file looks damaged or cut short, so it cannot be read as an image. Open it on your device to check, or pick another copy.",
      );
    }
  });

  it('knows an image that begins right but breaks off from a file of another kind', () => {
    expect(isDamagedImage('the upload is not an image this service can read (…); it starts with bytes 89504e470d0a1a0a0000000d (unsupported image format)')).toBe(true);
    const text = 'the upload is not an image this service can read (JPEG, PNG, WebP, AVIF, TIFF or GIF); it starts with text "these are my..." (unsupported image format)';
    expect(isDamagedImage(text)).toBe(false);
    expect(describeError(client(Status.INVALID_ARGUMENT, text), 'paint your photo')).toMatch(/^Couldn't paint your photo: The upload is not an image/);
    expect(isDamagedImage('the upload is not an image this service can read (…); it starts with bytes 255044462d312e370a25e2e3 (unsupported image format)')).toBe(false);
  });
});
