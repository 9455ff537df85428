/**
 * The web app in a real browser (Debian's Chromium via playwright-core), served by the gateway
 * in front of the real StyleService running a real (tiny, freshly exported) style network:
 * upload a photo, stylize it with live progress, check the result decodes and differs from the
 * input, download it, rate it with consent and see the rating acknowledged (and recorded). A
 * bad upload shows its error as a sentence. Screenshots go to test-artifacts/.
 */
import { LatestVersionResolver, launchStyleService, StyleModel, type RunningStyleService } from '@nst/inference';
import { exportOnnx, initBackend, renderMosaic, StyleNet } from '@nst/trainer';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebApp, startGateway, type RunningGateway } from '@nst/gateway';
import { HAVE_CHROMIUM, launchBrowser, screenshot, watchConsole } from './browser';
import type { TextModeStylize } from './grpc-web-text-client';

let dir: string;
let styleService: RunningStyleService;
let gateway: RunningGateway;
let browser: Browser;
const feedback: object[] = [];
const STYLE = { id: 'tiny-mosaic', displayName: 'Tiny mosaic', description: 'A small network, freshly exported for this test.' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-browser-'));
  await initBackend();
  // A real, tiny style network: random weights give a strong, visible change of the photo.
  const net = StyleNet.create({ channels: [8, 16, 16], residualBlocks: 1, outerKernel: 3 }, 7);
  const onnx = exportOnnx(net);
  net.dispose();
  const thumbnail = await sharp(Buffer.from(await renderMosaic())).resize(160, 160).jpeg().toBuffer();
  const catalog = {
    listStyles: async () => [{ ...STYLE, versions: ['1'] }],
    listVersions: async (style: string) => (style === STYLE.id ? ['1'] : undefined),
    readModel: async () => onnx,
  };
  const logger = { info: () => undefined, warn: () => undefined, error: (fields: object) => console.error(fields) };
  styleService = await launchStyleService({
    address: '127.0.0.1:0',
    limits: { maxUploadBytes: 8 * 1024 * 1024, maxPixels: 4_000_000, chunkBytes: 16 * 1024, tileSize: 256, tileOverlap: 16, maxConcurrent: 1, queueLength: 4 },
    catalog,
    resolver: new LatestVersionResolver(catalog),
    feedback: { append: async (entry) => void feedback.push(entry) },
    photos: { dir: join(dir, 'kept-photos'), holdBytes: 64 * 1024 * 1024, holdMs: 10 * 60_000, retentionMs: 24 * 3_600_000 },
    loadModel: (bytes) => StyleModel.load(bytes, { threads: 1 }),
    logger,
  });
  gateway = await startGateway({
    config: {
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      styleAddr: `127.0.0.1:${styleService.port}`,
      trainerAddr: '127.0.0.1:1',
      gatewayCorsOrigins: [],
      maxUploadBytes: 8 * 1024 * 1024,
      chunkBytes: 16 * 1024,
    },
    // Built from the current sources, so the test never sees a stale web/dist.
    webDist: await buildWebApp(join(dir, 'web')),
    readThumbnail: async (style) => (style === STYLE.id ? thumbnail : undefined),
  });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await styleService?.close(0);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A photo-like test image: gradients and a few shapes, 480x320. */
async function testPhoto(path: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="320">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#6aa9ff"/><stop offset="1" stop-color="#ffe3b3"/></linearGradient></defs>
    <rect width="480" height="320" fill="url(#sky)"/><circle cx="360" cy="90" r="45" fill="#ffd34d"/>
    <path d="M0 250 L120 150 L230 240 L330 170 L480 260 L480 320 L0 320 Z" fill="#2f6b3a"/></svg>`;
  const jpeg = await sharp(Buffer.from(svg)).jpeg({ quality: 92 }).toBuffer();
  await writeFile(path, jpeg);
  return jpeg;
}

/** Mean absolute difference of two images' RGB at the same size, 0..255. */
async function meanDifference(a: Buffer, b: Buffer, width: number, height: number): Promise<number> {
  const [ra, rb] = await Promise.all([a, b].map((image) => sharp(image).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer()));
  let sum = 0;
  for (let i = 0; i < (ra as Buffer).length; i += 1) sum += Math.abs((ra as Buffer)[i]! - (rb as Buffer)[i]!);
  return sum / (ra as Buffer).length;
}

describe.skipIf(!HAVE_CHROMIUM)('the web app in Chromium', () => {
  it('stylizes an uploaded photo with live progress, downloads it and records a consented rating', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const problems = watchConsole(page);
    await page.goto(gateway.url);
    await expect.poll(() => page.locator('.style-card').count()).toBe(1);
    // The gallery thumbnail comes from the gateway's /styles/<id>/thumbnail.jpg.
    await expect.poll(() => page.locator('.style-art img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(160);

    const photoPath = join(dir, 'lake.jpg');
    const photo = await testPhoto(photoPath);
    await page.getByLabel(/Choose a photo/).setInputFiles(photoPath);
    await expect.poll(() => page.locator('#panel-stylize .picker-preview').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(480);
    const panel = page.locator('#panel-stylize');
    await panel.getByLabel('Format', { exact: true }).selectOption({ label: 'PNG (lossless)' });
    // Full resolution is the default, as the page promises.
    expect(await panel.getByLabel('Size', { exact: true }).inputValue()).toBe('0');
    await screenshot(page, 'web-stylize-ready');

    // Every status line the stream produced, as the person saw it.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { progressSeen: string[] }).progressSeen = seen;
      const target = document.querySelector('.progress-text') as HTMLElement;
      new MutationObserver(() => seen.push(target.textContent ?? '')).observe(target, { childList: true, characterData: true, subtree: true });
    });
    await page.getByRole('button', { name: 'Paint it' }).click();
    await page.locator('.compare-after').waitFor({ timeout: 90_000 });
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
    expect(seen.some((text) => /^Painting… \d+ of \d+ tiles$/.test(text))).toBe(true);
    expect(seen.at(-1)).toMatch(/^Done in/);

    // The result decodes in the browser at the photo's size.
    const size = await page
      .locator('.compare-after')
      .evaluate(async (img: HTMLImageElement) => (await img.decode(), { width: img.naturalWidth, height: img.naturalHeight }));
    expect(size).toEqual({ width: 480, height: 320 });
    // Focus moved to the result, not lost to the page body, and the default size was full.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('result-heading');
    await page.locator('.compare-range').fill('30');
    await screenshot(page, 'web-stylize-result');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Download PNG/ }).click()]);
    expect(download.suggestedFilename()).toBe(`lake-${STYLE.id}.png`);
    const downloadedPath = join(dir, 'downloaded.png');
    await download.saveAs(downloadedPath);
    const downloaded = await sharp(downloadedPath).metadata();
    expect({ format: downloaded.format, width: downloaded.width, height: downloaded.height }).toEqual({ format: 'png', width: 480, height: 320 });
    expect(await meanDifference(photo, await sharp(downloadedPath).toBuffer(), 480, 320)).toBeGreaterThan(10);

    await page.locator('label.chip', { hasText: 'Bad' }).click();
    await page.getByLabel(/What could be better/).fill('the sky lost its colour');
    await page.getByLabel(/Let the project keep this photo/).check();
    await page.getByRole('button', { name: 'Send rating' }).click();
    await expect.poll(() => page.locator('.rating-status').textContent()).toMatch(/^Thank you! Your rating was saved and your photo was kept for training\.$/);
    expect(feedback).toHaveLength(1);
    expect(feedback[0]).toMatchObject({ style: STYLE.id, version: '1', rating: 'bad', reason: 'the sky lost its colour' });
    // Consent was honoured: the rated photo was kept.
    expect(await readdir(join(dir, 'kept-photos'), { recursive: true })).not.toHaveLength(0);
    await screenshot(page, 'web-stylize-rated');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows a refused upload as a sentence, and fits a phone screen', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await page.goto(gateway.url);
    await page.locator('.style-card').first().waitFor();
    const notAnImage = join(dir, 'notes.png');
    await writeFile(notAnImage, 'these are my notes, not a picture');
    await page.getByLabel(/Choose a photo/).setInputFiles(notAnImage);
    await page.getByRole('button', { name: 'Paint it' }).click();
    const error = page.getByRole('alert').filter({ hasText: /./ });
    await expect.poll(() => error.textContent(), { timeout: 30_000 }).toMatch(/^Couldn't paint your photo: [A-Z].+\.$/);
    // Nothing is wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'web-phone-error');

    // A JPEG cut short is called damaged, not "not an image", and the decoder's words stay out.
    const cut = join(dir, 'cut.jpg');
    const whole = await testPhoto(join(dir, 'whole.jpg'));
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    await page.getByLabel(/Choose a photo/).setInputFiles(cut);
    expect(await error.count()).toBe(0);
    await page.getByRole('button', { name: 'Paint it' }).click();
    await expect.poll(() => error.textContent(), { timeout: 30_000 }).toMatch(/^Couldn't paint your photo: the file looks damaged or cut short/);
    expect(await error.textContent()).not.toMatch(/VipsJpeg|starts with bytes/);
    await screenshot(page, 'web-phone-damaged');

    // A file the browser knows is not an image is refused in the picker: the previous pick is
    // forgotten (Paint cannot re-send it) and the previous error is gone.
    const text = join(dir, 'notes.txt');
    await writeFile(text, 'not a picture either');
    await page.getByLabel(/Choose a photo/).setInputFiles(text);
    expect(await page.locator('#panel-stylize .picker-details').textContent()).toBe('“notes.txt” is not an image. Pick a JPEG, PNG, WebP, AVIF, TIFF or GIF file.');
    expect(await page.getByRole('button', { name: 'Paint it' }).isDisabled()).toBe(true);
    expect(await error.count()).toBe(0);

    // Every form control in every panel has a label, every image an alt attribute.
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, textarea')]
        .filter((control) => (control as HTMLInputElement).labels?.length === 0 && !control.getAttribute('aria-label'))
        .map((control) => control.outerHTML),
    );
    expect(unlabelled).toEqual([]);
    expect(await page.evaluate(() => [...document.querySelectorAll('img:not([alt])')].map((img) => img.outerHTML))).toEqual([]);
    // The tabs work from the keyboard: arrow keys move the selection and the focus.
    await page.getByRole('tab', { name: 'Stylize' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Train your own');
    expect(await page.locator('#panel-train').isVisible()).toBe(true);
    expect(await page.locator('#panel-stylize').isVisible()).toBe(false);
    await page.close();
  });

  it('answers an independent gRPC-Web client in text mode (grpc-web), unary and server-streaming', async () => {
    // buf curl speaks binary gRPC-Web only; Google's grpc-web runtime defaults to text mode.
    const outDir = join(dir, 'grpc-web-text');
    await build({
      configFile: false,
      logLevel: 'warn',
      build: {
        outDir,
        emptyOutDir: true,
        lib: { entry: fileURLToPath(new URL('./grpc-web-text-client.ts', import.meta.url)), formats: ['iife'], name: 'grpcWebTextClient', fileName: () => 'client.js' },
      },
    });
    const page = await browser.newPage();
    const wire: string[] = [];
    page.on('response', (response) => {
      const sent = response.request().headers()['content-type'] ?? '';
      if (sent.startsWith('application/grpc-web-text')) wire.push(`${sent} -> ${response.headers()['content-type']}`);
    });
    await page.goto(gateway.url);
    await page.addScriptTag({ path: join(outDir, 'client.js') });
    type Api = { grpcWebText: { listStyles(): Promise<string[]>; stylize(style: string, image: string): Promise<TextModeStylize> } };
    expect(await page.evaluate(() => (window as unknown as Api).grpcWebText.listStyles())).toEqual([STYLE.id]);
    const photo = await testPhoto(join(dir, 'text-mode.jpg'));
    const result = await page.evaluate(
      ([style, image]) => (window as unknown as Api).grpcWebText.stylize(style as string, image as string),
      [STYLE.id, photo.toString('base64')],
    );
    expect(result.status).toBe(0);
    expect(result.kinds[0]).toBe('accepted');
    expect(result.kinds).toContain('progress');
    expect(result.kinds.at(-1)).toBe('summary');
    expect(result.outputBytes).toBe(result.summaryBytes);
    expect(result.outputBytes).toBeGreaterThan(1000);
    expect(result.headers['x-nst-version']).toBe('1');
    expect(wire).toEqual([
      'application/grpc-web-text -> application/grpc-web-text+proto',
      'application/grpc-web-text -> application/grpc-web-text+proto',
    ]);
    await page.close();
  });
});
