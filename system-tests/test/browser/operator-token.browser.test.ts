/**
 * The operator token in a real browser (Debian's Chromium): in the cluster Istio lets admin
 * calls (Train, Promote, Rollback, SetWeight, StartCanary, CancelJob) through only with an
 * nst-operator token in `x-nst-operator-jwt` (k8s/base/istio/security.yaml). The releases view
 * takes one, keeps it for the tab's session, and sends it on the admin calls it makes and on
 * no other call. Checked on the requests Chromium actually sends, against a real gateway and
 * ReleaseService (the gateway passes the header on as metadata; Istio is not here).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { launchReleaseService, type RunningReleaseService } from '@nst/mesh';
import { ListRolloutsResponse } from '@nst/proto';
import { createLogger, ModelRegistry } from '@nst/runtime';
import { newStyle, newVersion } from '@nst/runtime/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildWebApp, startGateway, type RunningGateway } from '@nst/gateway';
import { callGrpcWeb } from '@nst/gateway/grpc-web';
import { startEchoStyleService, type EchoUpstream } from '@nst/test-kit';
import { HAVE_CHROMIUM, launchBrowser, watchConsole } from './browser';

const ADMIN_TOKEN = 'operator-test-admin-token';
// What `kubectl create token` prints: a JWT (this one is only shaped like one).
const OPERATOR_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bnN0Om5zdC1vcGVyYXRvciJ9.c2lnbmF0dXJl';

let dir: string;
let echo: EchoUpstream;
let release: RunningReleaseService;
let gateway: RunningGateway;
let browser: Browser;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-browser-operator-'));
  const registry = await ModelRegistry.open(join(dir, 'registry'));
  // The echo StyleService lists one style, mosaic; ReleaseService knows its version 1.
  await registry.createStyle(newStyle('mosaic'));
  await registry.registerVersion('mosaic', newVersion(new Uint8Array([1]), new Uint8Array([2])));
  const nothing = { stats: async () => ({ total: 0, good: 0, bad: 0, badRatio: 0, badWithPhoto: 0, requests: 0, errors: 0, byCode: {}, p95LatencyMs: 0 }) };
  echo = await startEchoStyleService();
  release = await launchReleaseService({
    address: '127.0.0.1:0',
    releasesDir: join(dir, 'releases'),
    registry,
    feedback: nothing,
    events: nothing,
    adminToken: ADMIN_TOKEN,
    settings: { ladder: [10, 100], minRatings: 10, minCalls: 10, alpha: 0.05, errorMargin: 0.02, latencyRatio: 1.5, minStepSeconds: 0 },
    analysisIntervalMs: 3_600_000,
    autoRelease: true,
    logger: createLogger('release-operator-test', { level: 'silent' }),
  });
  gateway = await startGateway({
    config: {
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      gatewayCorsOrigins: [],
      styleAddr: `127.0.0.1:${echo.port}`,
      trainerAddr: '127.0.0.1:1',
      releaseAddr: `127.0.0.1:${release.port}`,
      maxUploadBytes: 1024 * 1024,
      chunkBytes: 64 * 1024,
    },
    webDist: await buildWebApp(join(dir, 'web')),
  });
  // A canary, so the operator actions are enabled: ReleaseService starts one for version 2.
  await registry.registerVersion('mosaic', newVersion(new Uint8Array([3]), new Uint8Array([4])));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const reply = await callGrpcWeb(gateway.url, '/nst.v1.ReleaseService/ListRollouts', new Uint8Array());
    if (reply.grpcStatus === status.OK && ListRolloutsResponse.decode(reply.messages[0]!).rollouts[0]?.canaryVersion === '2') break;
    if (Date.now() > deadline) throw new Error(`no canary of mosaic version 2 after 30 s (${reply.grpcMessage})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await release?.close();
  echo?.server.forceShutdown();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it.skipIf(!HAVE_CHROMIUM)('sends the operator token as x-nst-operator-jwt on admin calls only, and keeps it for the tab', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = watchConsole(page);
  const sent: { method: string; operator: string | undefined; authorization: string | undefined }[] = [];
  page.on('request', (request) => {
    const method = /\/nst\.v1\.\w+\/(\w+)$/.exec(new URL(request.url()).pathname)?.[1];
    if (!method) return;
    void request.allHeaders().then((headers) => sent.push({ method, operator: headers['x-nst-operator-jwt'], authorization: headers['authorization'] }));
  });
  await page.goto(`${gateway.url}#releases`);
  const view = page.locator('.releases-view');
  await view.getByText('Operator actions').click();
  await view.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await view.getByLabel(/Operator token/).fill(OPERATOR_TOKEN);
  await view.getByLabel(/Canary weight/).fill('20');
  await view.getByRole('button', { name: 'Set weight' }).click();
  await expect.poll(() => sent.filter((s) => s.method === 'SetWeight').length, { timeout: 30_000 }).toBe(1);
  await view.getByRole('button', { name: 'Promote canary' }).click();
  await view.getByRole('button', { name: 'Yes, promote' }).click();
  await expect.poll(() => sent.filter((s) => s.method === 'Promote').length, { timeout: 30_000 }).toBe(1);

  for (const admin of sent.filter((s) => ['SetWeight', 'Promote'].includes(s.method))) {
    expect(admin, admin.method).toEqual({ method: admin.method, operator: OPERATOR_TOKEN, authorization: `Bearer ${ADMIN_TOKEN}` });
  }
  const others = sent.filter((s) => !['SetWeight', 'Promote'].includes(s.method));
  expect(others.map((s) => s.method)).toEqual(expect.arrayContaining(['ListStyles', 'ListRollouts']));
  for (const other of others) expect(other.operator, `${other.method} carries no operator token`).toBeUndefined();

  // Kept for the tab's session: a reload fills the field again; it never reaches localStorage.
  await page.reload();
  await view.getByText('Operator actions').click();
  expect(await view.getByLabel(/Operator token/).inputValue()).toBe(OPERATOR_TOKEN);
  // The training form reads the same session value.
  expect(await page.locator('form.train-form').getByLabel(/Operator token/).inputValue()).toBe(OPERATOR_TOKEN);
  expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(OPERATOR_TOKEN);
  expect(problems.filter((p) => !/Failed to load resource/.test(p))).toEqual([]);
}, 120_000);
