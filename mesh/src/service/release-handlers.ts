/**
 * gRPC handlers of nst.v1.ReleaseService. Mutating calls check the admin token first; every
 * refusal leaves as a status a client can act on (ReleaseError -> NOT_FOUND,
 * FAILED_PRECONDITION or INVALID_ARGUMENT), anything unexpected as INTERNAL, logged here.
 */
import { status, type Metadata, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import type { ReleaseServiceServer, WatchRolloutsRequest, WatchRolloutsResponse } from '@nst/proto';
import { ServiceError, failedPrecondition, invalidArgument, notFound, requireAdminToken, type Logger } from '@nst/runtime';
import type { ReleaseAnalysis } from '../analysis/analysis-loop';
import { ReleaseError, type ReleaseController } from '../rollout/release-controller';
import type { DecisionLog } from '../rollout/decision-log';
import type { RolloutStore } from '../rollout/rollout-store';
import type { RolloutRecord, RolloutState } from '../rollout/schema';
import { toDecision, toRollout } from './convert';

export interface ReleaseHandlerDeps {
  controller: ReleaseController;
  decisions: DecisionLog;
  analysis: ReleaseAnalysis;
  /** The rollout state WatchRollouts streams. */
  rollouts: Pick<RolloutStore, 'read' | 'latest' | 'onChange'>;
  adminToken: string;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** The handlers, and a way to end the streams they hold open (which would delay shutdown). */
export interface ReleaseHandlers {
  implementation: ReleaseServiceServer;
  /** Ends every open WatchRollouts stream with UNAVAILABLE, so clients reconnect elsewhere. */
  endWatches(details: string): void;
}

/** The routing part of the state, in style order, as WatchRollouts sends it. */
export function toRoutingState(state: RolloutState): WatchRolloutsResponse {
  const records = Object.values(state.rollouts).sort((a, b) => (a.style < b.style ? -1 : a.style > b.style ? 1 : 0));
  const updatedAt = records.reduce((latest, r) => (r.updatedAt > latest ? r.updatedAt : latest), new Date(0).toISOString());
  return { rollouts: records.map((record) => toRollout(record)), updatedAt: new Date(updatedAt) };
}

/** The admin check of ReleaseService's mutating calls (the platform's, from @nst/runtime). */
export function requireAdmin(metadata: Metadata, token: string): void {
  requireAdminToken(metadata, token, 'a release');
}

function toServiceError(error: unknown): ServiceError | undefined {
  if (error instanceof ServiceError) return error;
  if (error instanceof ReleaseError) {
    if (error.kind === 'not_found') return notFound(error.message);
    if (error.kind === 'failed_precondition') return failedPrecondition(error.message);
    return invalidArgument(error.message);
  }
  return undefined;
}

const MAX_DECISIONS = 1000;

export function createReleaseHandlers(deps: ReleaseHandlerDeps): ReleaseHandlers {
  const { controller, logger } = deps;
  const watches = new Set<ServerWritableStream<WatchRolloutsRequest, WatchRolloutsResponse>>();

  const watchRollouts = (call: ServerWritableStream<WatchRolloutsRequest, WatchRolloutsResponse>): void => {
    const send = (state: RolloutState): void => {
      if (!call.cancelled && !call.destroyed && !call.writableEnded) call.write(toRoutingState(state));
    };
    let unsubscribe = (): void => undefined;
    const stop = (): void => {
      unsubscribe();
      watches.delete(call);
    };
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);
    // Loaded once, then the store's cache is the current state (its one writer is this process):
    // subscribing and sending it in the same turn leaves no gap for a change to fall into.
    deps.rollouts.read().then(
      () => {
        if (call.cancelled || call.destroyed) return;
        watches.add(call);
        unsubscribe = deps.rollouts.onChange(send);
        send(deps.rollouts.latest());
      },
      (error: unknown) => {
        logger.error({ err: error, method: 'WatchRollouts' }, 'rollout state unreadable');
        call.emit('error', { code: status.INTERNAL, details: 'the rollout state could not be read; the failure was logged on the server' });
      },
    );
  };

  /** Runs a handler body and answers with its result or a status. */
  const unary =
    <Req, Res>(method: string, admin: boolean, body: (request: Req) => Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      const run = async (): Promise<Res> => {
        if (admin) requireAdmin(call.metadata, deps.adminToken);
        return body(call.request);
      };
      run().then(
        (response) => callback(null, response),
        (error: unknown) => {
          const known = toServiceError(error);
          if (known) {
            logger.warn({ method, code: status[known.code], details: known.message }, 'release call refused');
            callback({ code: known.code, details: known.message });
          } else {
            logger.error({ err: error, method }, 'unexpected failure');
            callback({ code: status.INTERNAL, details: 'internal error; the failure was logged on the server' });
          }
        },
      );
    };

  const present = async (record: RolloutRecord) => {
    const figures = await deps.analysis.figures(record);
    return toRollout(record, {
      stable: figures.stable,
      canary: figures.canary,
      lastDecision: record.lastDecisionId ? deps.decisions.find(record.lastDecisionId) : undefined,
      nextAnalysisAt: deps.analysis.nextAnalysisAt,
    });
  };
  const requireStyle = (style: string): void => {
    if (!style) throw invalidArgument('style is not set; name one of the styles in the list of releases');
  };
  const admin = (reason: string) => ({ actor: 'admin', ...(reason ? { reason } : {}) });

  const implementation: ReleaseServiceServer = {
    watchRollouts,
    listRollouts: unary('ListRollouts', false, async () => ({
      rollouts: await Promise.all((await controller.list()).map(present)),
    })),
    getRollout: unary('GetRollout', false, async (request: { style: string }) => {
      requireStyle(request.style);
      return { rollout: await present(await controller.get(request.style)) };
    }),
    startCanary: unary('StartCanary', true, async (request: { style: string; version: string; initialWeight: number }) => {
      requireStyle(request.style);
      if (!request.version) throw invalidArgument('version is not set; name a registered version of the style');
      return { rollout: await present(await controller.startCanary(request.style, request.version, request.initialWeight, admin(''))) };
    }),
    setWeight: unary('SetWeight', true, async (request: { style: string; weight: number }) => {
      requireStyle(request.style);
      return { rollout: await present(await controller.setWeight(request.style, request.weight, admin(''))) };
    }),
    promote: unary('Promote', true, async (request: { style: string; reason: string }) => {
      requireStyle(request.style);
      return { rollout: await present(await controller.promote(request.style, admin(request.reason))) };
    }),
    rollback: unary('Rollback', true, async (request: { style: string; reason: string }) => {
      requireStyle(request.style);
      return { rollout: await present(await controller.rollback(request.style, admin(request.reason))) };
    }),
    listDecisions: unary('ListDecisions', false, async (request: { style: string; limit: number }) => {
      if (request.limit > MAX_DECISIONS) throw invalidArgument(`limit ${request.limit} is over ${MAX_DECISIONS}; ask for at most ${MAX_DECISIONS}`);
      if (request.style) await controller.get(request.style);
      const decisions = await deps.decisions.list({
        ...(request.style ? { style: request.style } : {}),
        limit: request.limit || 100,
      });
      return { decisions: decisions.map(toDecision) };
    }),
  };
  return {
    implementation,
    endWatches: (details) => {
      for (const call of watches) call.emit('error', { code: status.UNAVAILABLE, details });
      watches.clear();
    },
  };
}
