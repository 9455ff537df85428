import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { requireAdmin } from './auth';
import type { TrainerServiceError } from './errors';

const bearer = (value: string): Metadata => {
  const metadata = new Metadata();
  metadata.set('authorization', value);
  return metadata;
};

function codeOf(fn: () => void): status | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as TrainerServiceError).code;
  }
}

describe('admin check', () => {
  it('answers UNAUTHENTICATED without a bearer token and PERMISSION_DENIED for a wrong one', () => {
    expect(codeOf(() => requireAdmin(new Metadata(), 'secret'))).toBe(status.UNAUTHENTICATED);
    expect(codeOf(() => requireAdmin(bearer('Basic c2VjcmV0'), 'secret'))).toBe(status.UNAUTHENTICATED);
    expect(codeOf(() => requireAdmin(bearer('Bearer secreT'), 'secret'))).toBe(status.PERMISSION_DENIED);
    expect(codeOf(() => requireAdmin(bearer('Bearer secret-and-more'), 'secret'))).toBe(status.PERMISSION_DENIED);
    expect(codeOf(() => requireAdmin(bearer('Bearer secret'), 'secret'))).toBeUndefined();
    expect(codeOf(() => requireAdmin(bearer('bearer   secret'), 'secret'))).toBeUndefined();
  });
});
