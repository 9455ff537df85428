/**
 * nst.v1.ReleaseService through the gateway's gRPC-Web bridge (the browser's path to the
 * releases view): a real ReleaseService (@nst/mesh) behind a real gateway, called with a
 * gRPC-Web client over fetch.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { launchReleaseService, type RunningReleaseService } from '@nst/mesh';
import { ListRolloutsResponse, RolloutPhase, SetWeightRequest } from '@nst/proto';
import { createLogger, ModelRegistry } from '@nst/runtime';
import { newStyle, newVersion } from '@nst/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '@nst/gateway';
import { callGrpcWeb } from '@nst/gateway/grpc-web';

let dir: string;
let release: RunningReleaseService;
let gateway: RunningGateway;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-release-web-'));
  const registry = await ModelRegistry.open(join(dir, 'registry'));
  await registry.createStyle(newStyle('mosaic'));
  await registry.registerVersion('mosaic', newVersion(new Uint8Array([1]), new Uint8Array([2])));
  const nothing = { stats: async () => ({ total: 0, good: 0, bad: 0, badRatio: 0, badWithPhoto: 0, requests: 0, errors: 0, byCode: {}, p95LatencyMs: 0 }) };
  release = await launchReleaseService({
    address: '127.0.0.1:0',
    releasesDir: join(dir, 'releases'),
    registry,
    feedback: nothing,
    events: nothing,
    adminToken: 'web-admin',
    settings: { ladder: [10, 100], minRatings: 10, minCalls: 10, alpha: 0.05, errorMargin: 0.02, latencyRatio: 1.5, minStepSeconds: 0 },
    analysisIntervalMs: 3_600_000,
    autoRelease: true,
    logger: createLogger('release-web-test', { level: 'silent' }),
  });
  gateway = await startGateway({
    config: {
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      styleAddr: '127.0.0.1:1',
      trainerAddr: '127.0.0.1:1',
      releaseAddr: `127.0.0.1:${release.port}`,
      gatewayCorsOrigins: ['http://app.example.com'],
      maxUploadBytes: 1024,
      chunkBytes: 16 * 1024,
    },
    webDist: false,
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await release?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ReleaseService over gRPC-Web', () => {
  it('lists rollouts through the gateway', async () => {
    const reply = await callGrpcWeb(gateway.url, '/nst.v1.ReleaseService/ListRollouts', new Uint8Array());
    expect(reply.grpcStatus).toBe(status.OK);
    const { rollouts } = ListRolloutsResponse.decode(reply.messages[0]!);
    expect(rollouts.map((r) => [r.style, r.phase, r.stableVersion])).toEqual([['mosaic', RolloutPhase.ROLLOUT_PHASE_STABLE, '1']]);
  });

  it('passes the admin token through, and the service status back', async () => {
    const request = SetWeightRequest.encode({ style: 'mosaic', weight: 20 }).finish();
    const anonymous = await callGrpcWeb(gateway.url, '/nst.v1.ReleaseService/SetWeight', request);
    expect(anonymous.grpcStatus).toBe(status.UNAUTHENTICATED);
    const admin = await callGrpcWeb(gateway.url, '/nst.v1.ReleaseService/SetWeight', request, { headers: { authorization: 'Bearer web-admin' } });
    expect(admin.grpcStatus).toBe(status.FAILED_PRECONDITION);
    expect(admin.grpcMessage).toMatch(/no canary in progress/);
  });
});
