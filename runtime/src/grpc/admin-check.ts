/**
 * The admin check of every service's mutating calls; the token itself comes from
 * ../admin-token.ts (NST_ADMIN_TOKEN, or the generated `<data>/admin-token`).
 */
import type { Metadata } from '@grpc/grpc-js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { permissionDenied, unauthenticated } from './service-error';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Checks `authorization: Bearer <token>`; throws UNAUTHENTICATED when it is missing or
 * malformed, PERMISSION_DENIED when the token is wrong. Both sides are hashed first so the
 * constant-time comparison also hides the token's length. `changes` names what the call
 * changes, for the message ("the trainer", "a release").
 */
export function requireAdminToken(metadata: Metadata, token: string, changes: string): void {
  const values = metadata.get('authorization');
  const header = values.length > 0 ? String(values[0]) : '';
  if (!header) {
    throw unauthenticated(
      `this call changes ${changes} and needs the admin token: send "authorization: Bearer <token>" metadata ` +
        '(the token is NST_ADMIN_TOKEN, or the admin-token file in the data folder)',
    );
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw unauthenticated('the authorization metadata must read "Bearer <token>"');
  if (!timingSafeEqual(digest(match[1]!), digest(token))) {
    throw permissionDenied('the admin token is wrong; use NST_ADMIN_TOKEN or the admin-token file in the data folder');
  }
}
