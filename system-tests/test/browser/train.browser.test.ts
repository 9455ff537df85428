/**
 * "Train your own style" in a real browser, against the real platform on free ports: the model
 * registry and feedback store in a temporary data folder, StyleService reading that registry,
 * TrainerService training in its worker thread, and the gateway serving the app. The person
 * uploads a painting, first with a wrong admin token (a sentence says so), then with the right
 * one; the job streams progress (steps, losses, previews) until it finishes; the new style is
 * then used to paint a photo and appears in the releases view. Screenshots go to
 * test-artifacts/.
 */
import { startStyleServer, type RunningStyleService } from '@nst/inference';
import { startReleaseServer, type RunningReleaseService } from '@nst/mesh';
import { createLogger, JsonlFeedbackStore, ModelRegistry } from '@nst/runtime';
import { loadPlatformConfig } from '../settings/platform-settings';
import { renderSwirl } from '@nst/trainer';
import { FeedbackStoreReader, launchTrainerService, RegistryAdapter, type RunningTrainerService } from '@nst/trainer/service';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildWebApp, startGateway, type RunningGateway } from '@nst/gateway';
import { HAVE_CHROMIUM, launchBrowser, screenshot, watchConsole } from './browser';

const ADMIN_TOKEN = 'browser-test-admin-token';
const quiet = { info: () => undefined, warn: () => undefined, error: (fields: object) => console.error(fields) };

let root: string;
let config: ReturnType<typeof loadPlatformConfig>;
let feedbackStore: JsonlFeedbackStore;
let styleService: RunningStyleService;
let trainerService: RunningTrainerService;
let releaseService: RunningReleaseService;
let registry: ModelRegistry;
let gateway: RunningGateway;
let browser: Browser;

/** Small photos of varied colour and structure for the trainer's photo set. */
async function writePhotos(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const palettes = [
    ['#2b5876', '#4e4376', '#f9d423'],
    ['#134e5e', '#71b280', '#e65c00'],
    ['#ff512f', '#dd2476', '#1fa2ff'],
  ];
  for (const [i, [a, b, c]] of palettes.entries()) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="72">
      <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${a}"/><stop offset="1" stop-color="${b}"/></linearGradient></defs>
      <rect width="96" height="72" fill="url(#g)"/><circle cx="${30 + i * 12}" cy="36" r="${14 + i * 3}" fill="${c}"/></svg>`;
    await writeFile(join(dir, `photo-${i}.png`), await sharp(Buffer.from(svg)).png().toBuffer());
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nst-browser-train-'));
  config = loadPlatformConfig({ NST_DATA_DIR: join(root, 'data'), NST_PHOTOS_DIR: join(root, 'photos'), NST_ADMIN_TOKEN: ADMIN_TOKEN, NST_INFERENCE_THREADS: '1' });
  await writePhotos(join(root, 'photos'));
  registry = await ModelRegistry.open(config.registryDir);
  feedbackStore = await JsonlFeedbackStore.open(config.feedbackDir);
  styleService = await startStyleServer({ config, registry, feedbackStore, logger: quiet, address: '127.0.0.1:0' });
  trainerService = await launchTrainerService({
    address: '127.0.0.1:0',
    jobsDir: config.jobsDir,
    adminToken: ADMIN_TOKEN,
    registry: new RegistryAdapter(registry),
    feedback: FeedbackStoreReader.embedded(config.feedbackDir, config.keptPhotosDir),
    photosDir: join(root, 'photos'),
    paintingLimits: { maxBytes: config.maxUploadBytes, maxPixels: config.maxPixels },
    // Every step reports a preview, so a four-step job shows several.
    previewEvery: 1,
    checkpointEvery: 2,
    logger: quiet,
  });
  // ReleaseService sees the new style's first version register and makes it the stable one.
  releaseService = await startReleaseServer(config, {
    address: '127.0.0.1:0',
    // It learns of the new style from this TrainerService's WatchVersions stream.
    trainerAddr: `127.0.0.1:${trainerService.port}`,
    logger: createLogger('release', { level: 'silent' }),
  });
  gateway = await startGateway({
    config: {
      ...config,
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      styleAddr: `127.0.0.1:${styleService.port}`,
      trainerAddr: `127.0.0.1:${trainerService.port}`,
      releaseAddr: `127.0.0.1:${releaseService.port}`,
    },
    webDist: await buildWebApp(join(root, 'web')),
  });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await releaseService?.close(0);
  await trainerService?.close(0);
  await styleService?.close(0);
  await feedbackStore?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

it.skipIf(!HAVE_CHROMIUM)('trains a style from an uploaded painting, shows its progress live, then paints with it', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = watchConsole(page);
  await page.goto(`${gateway.url}#train`);
  const form = page.locator('form.train-form');
  const paintingPath = join(root, 'painting.jpg');
  await writeFile(paintingPath, await sharp(await renderSwirl()).resize(160).jpeg().toBuffer());
  await page.getByLabel(/Choose a painting/).setInputFiles(paintingPath);
  await page.getByLabel('Name').fill('Tiny swirl');
  expect(await page.getByLabel('Style id').inputValue()).toBe('tiny-swirl');
  await page.getByLabel(/Training steps/).fill('4');
  await page.getByLabel(/Training image size/).selectOption('32');
  // A trial run on the random network cannot match sliced statistics, so that choice is off;
  // flat regions still pool the painting's statistics across the batch.
  const kind = page.getByLabel('Kind of painting');
  expect(await kind.locator('option[value="strokes"]').isDisabled()).toBe(true);
  await kind.selectOption('regions');

  // A wrong token is refused, in words.
  await form.getByLabel('Admin token').fill('not-the-token');
  await form.getByRole('button', { name: 'Start training' }).click();
  await expect
    .poll(() => form.getByRole('alert').textContent(), { timeout: 30_000 })
    .toBe("Couldn't start training: the admin token was not accepted. Check it and try again.");

  await form.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { jobStats: string[] }).jobStats = seen;
    const target = document.querySelector('.job-stats') as HTMLElement;
    new MutationObserver(() => seen.push(target.textContent ?? '')).observe(target, { childList: true, characterData: true, subtree: true });
  });
  await form.getByRole('button', { name: 'Start training' }).click();
  await page.locator('.job').waitFor({ state: 'visible', timeout: 30_000 });
  await page.locator('.job-preview').waitFor({ state: 'visible', timeout: 300_000 });
  await screenshot(page, 'web-train-running');
  await expect.poll(() => page.locator('.job .badge').textContent(), { timeout: 300_000 }).toBe('Finished');
  await screenshot(page, 'web-train-finished');
  // The recent-jobs row agrees with the card, once, with when it started.
  const rows = page.locator('.jobs-list li');
  await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(1);
  await expect.poll(() => rows.first().textContent(), { timeout: 30_000 }).toMatch(/^tiny-swirlnew style · .+ · job …[0-9a-z]{6}Finished4 of 4 steps/);

  const stats = await page.evaluate(() => (window as unknown as { jobStats: string[] }).jobStats);
  const steps = stats.map((text) => /Step (\d+) of 4/.exec(text)?.[1]).filter(Boolean).map(Number);
  expect(steps.length).toBeGreaterThanOrEqual(2);
  expect(steps.at(-1)).toBe(4);
  expect(steps).toEqual([...steps].sort((a, b) => a - b));
  // The loss chart drew the total loss and its terms.
  expect(await page.locator('.loss-chart polyline').count()).toBeGreaterThan(1);
  expect(await page.locator('.loss-chart').getAttribute('aria-label')).toMatch(/^Loss chart: total loss went from/);
  expect(await page.locator('.job-preview').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);

  // The job trained as asked: pooled statistics, covariances (a trial run), the random network.
  const trained = (await registry.getVersion('tiny-swirl', 1)).metadata.hyperparameters;
  expect(trained).toMatchObject({ stylePooling: 'batch', lossNetwork: 'random', imageSize: 32 });
  expect(trained).not.toHaveProperty('statistic');

  // Use it: the Stylize tab opens with the new style chosen.
  await page.getByRole('button', { name: /Use “tiny-swirl” now/ }).click();
  await expect.poll(() => page.getByRole('radio', { name: /Tiny swirl/ }).isChecked(), { timeout: 30_000 }).toBe(true);
  const photoPath = join(root, 'photo.jpg');
  await writeFile(photoPath, await sharp(join(root, 'photos', 'photo-1.png')).resize(160).jpeg().toBuffer());
  await page.getByLabel(/Choose a photo/).setInputFiles(photoPath);
  await page.getByRole('button', { name: 'Paint it' }).click();
  await page.locator('.compare-after').waitFor({ timeout: 120_000 });
  expect(await page.locator('.result-bar').textContent()).toContain('Tiny swirl version 1');

  // The releases view: the rollout table has the new style stable at version 1 with the call
  // just made counted, and its versions table marks version 1 as serving everyone.
  await page.getByRole('tab', { name: 'Releases' }).click();
  const panel = page.locator('#panel-releases');
  const rollout = panel.locator('table.rollouts tr[data-style="tiny-swirl"]');
  await rollout.waitFor({ timeout: 30_000 });
  await expect.poll(() => rollout.textContent(), { timeout: 30_000 }).toMatch(/Tiny swirl.*Stable.*1.*100% stable.*no ratings yet/);
  await panel.getByLabel('Style', { exact: true }).selectOption('tiny-swirl');
  const versions = panel.locator('table:not(.rollouts) tbody tr');
  await expect.poll(() => versions.count(), { timeout: 30_000 }).toBe(1);
  expect(await versions.first().textContent()).toMatch(/Stable · 100%.*Trained/);
  expect(await panel.locator('.decisions').textContent()).toContain('No decisions yet');

  // A second version registers (as a fine-tune would): it enters as a canary by itself, the
  // view shows the split and the decision, and an operator rolls it back from the page.
  // Its INT8 model and the precision it serves are the registry's to record, not copied.
  const { style: _style, version: _version, createdAt: _createdAt, sha256: _sha256, derivedModels: _derived, servePrecision: _serve, ...first } = (
    await registry.getVersion('tiny-swirl', 1)
  ).metadata;
  await registry.registerVersion('tiny-swirl', {
    model: await registry.readModel('tiny-swirl', 1),
    weights: await registry.readWeights('tiny-swirl', 1),
    metadata: { ...first, parentVersion: 1, origin: 'finetune' },
  });
  await expect.poll(() => rollout.textContent(), { timeout: 30_000 }).toMatch(/Canary in progress.*90% \/ 10%/);
  await expect.poll(() => panel.locator('.decisions').textContent(), { timeout: 30_000 }).toContain('Canary started');
  await screenshot(page, 'web-releases-canary');
  await panel.getByText('Operator actions').click();
  await panel.getByLabel('Admin token').fill(ADMIN_TOKEN);
  // Rolling back asks first; "Not now" changes nothing and gives the focus back.
  await panel.getByRole('button', { name: 'Roll back canary' }).click();
  expect(await panel.locator('.confirm-question').textContent()).toBe('Roll back version 2 of Tiny swirl? Every call goes to version 1 again.');
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Not now');
  await screenshot(page, 'web-releases-confirm');
  await panel.getByRole('button', { name: 'Not now' }).click();
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Roll back canary');
  expect(await rollout.textContent()).toMatch(/Canary in progress/);
  await panel.getByRole('button', { name: 'Roll back canary' }).click();
  await panel.getByRole('button', { name: 'Yes, roll back' }).click();
  await expect.poll(() => panel.locator('.operator [role=status]').textContent(), { timeout: 30_000 }).toBe('Done: version 1 is stable and takes every call.');
  await expect.poll(() => rollout.textContent(), { timeout: 30_000 }).toMatch(/Rolled back.*100% stable/);
  await expect.poll(() => panel.locator('.decisions > li').first().textContent(), { timeout: 30_000 }).toMatch(/Rolled back.*weight 10% → 0%, no longer served.*admin.*canary version 2 rolled back: by an operator in the web app/);
  await screenshot(page, 'web-releases-rolled-back');
  await screenshot(page, 'web-releases');
  // On a phone the rollout and version tables become labelled blocks, none cut at the right.
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  expect(await panel.locator('table.rollouts td[data-label="Stable"]').first().evaluate((td) => getComputedStyle(td, '::before').content)).toBe('"Stable"');
  await screenshot(page, 'web-phone-releases');
  expect(problems).toEqual([]);
  await page.close();
}, 600_000);
