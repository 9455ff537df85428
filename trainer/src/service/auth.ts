/** The admin check of TrainerService's mutating calls (the platform's, from @nst/runtime). */
import type { Metadata } from '@grpc/grpc-js';
import { requireAdminToken } from '@nst/runtime';

export function requireAdmin(metadata: Metadata, token: string): void {
  requireAdminToken(metadata, token, 'the trainer');
}
