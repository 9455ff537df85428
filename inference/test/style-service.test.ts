/**
 * StyleService end to end: a real server on a free port, real exported style networks in a
 * temporary registry, driven by the generated ts-proto client (and by `buf curl` in
 * buf-curl.test.ts). Each bad input gets its specific status and the next request succeeds.
 */
import { status, Metadata } from '@grpc/grpc-js';
import { OutputFormat, Rating, type StyleServiceClient } from '@nst/proto';
import { HealthClient, platformMetrics } from '@nst/runtime';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bombPng,
  connect,
  header,
  listStyles,
  photoJpeg,
  sha256,
  stylize,
  stylizeImage,
  type StylizeOutcome,
  stylizeStream,
  submitFeedback,
  TEXT_NAMED_PNG,
  truncate,
  uploadMessages,
} from '@nst/test-kit';
import { startHarness, type Harness } from './harness';

let harness: Harness;
let client: StyleServiceClient;
let photo: Buffer;

beforeAll(async () => {
  harness = await startHarness();
  client = connect(harness.port);
  photo = await photoJpeg(200, 150);
});

afterAll(async () => {
  client?.close();
  await harness?.close();
});

function expectSuccess(outcome: StylizeOutcome): void {
  expect(outcome.error?.details).toBeUndefined();
  expect(outcome.summary).toBeDefined();
}

async function expectServesNormally(): Promise<void> {
  const outcome = await stylize(client, header(harness.styles.primary), photo);
  expectSuccess(outcome);
}

describe('ListStyles', () => {
  it('lists the registered styles with their versions, latest last', async () => {
    const { styles } = await listStyles(client);
    const primary = styles.find((s) => s.id === harness.styles.primary);
    expect(primary).toMatchObject({ latestVersion: harness.styles.primaryVersions.at(-1), versions: harness.styles.primaryVersions });
    expect(primary?.displayName).not.toBe('');
    expect(styles.map((s) => s.id)).toContain(harness.styles.secondary);
  });
});

describe('Stylize (chunked stream)', () => {
  it('streams accepted, per-tile progress, output chunks and a summary whose SHA-256 matches', async () => {
    const outcome = await stylize(client, header(harness.styles.primary), photo);
    expectSuccess(outcome);
    const kinds = outcome.messages.map((m) => m.kind?.$case);
    expect(kinds[0]).toBe('accepted');
    expect(kinds.at(-1)).toBe('summary');
    const accepted = outcome.messages[0]?.kind;
    const latest = harness.styles.primaryVersions.at(-1);
    expect(accepted?.$case === 'accepted' && accepted.accepted.version).toBe(latest);
    const progress = outcome.messages.flatMap((m) => (m.kind?.$case === 'progress' ? [m.kind.progress] : []));
    expect(progress.at(-1)).toMatchObject({ tilesDone: progress.length, tilesTotal: progress.length, fraction: 1 });
    const summary = outcome.summary!;
    expect(summary).toMatchObject({ width: 200, height: 150, version: latest, contentType: 'image/png' });
    expect(summary.sha256).toBe(sha256(outcome.output));
    expect(summary.outputBytes).toBe(outcome.output.length);
    for (const ms of [summary.decodeMs, summary.queueMs, summary.inferenceMs, summary.encodeMs]) {
      expect(ms).toBeGreaterThanOrEqual(0);
    }
    expect(outcome.metadata?.get('x-nst-version')).toEqual([latest]);
  });

  it('returns exactly what the style network paints (a one-tile image, lossless PNG)', async () => {
    const outcome = await stylize(client, header(harness.styles.primary), photo);
    const served = await sharp(outcome.output).raw().toBuffer();
    const direct = await harness.paintDirectly(harness.styles.primary, outcome.summary!.version, photo);
    expect(served.length).toBe(direct.length);
    let largest = 0;
    for (let i = 0; i < served.length; i++) largest = Math.max(largest, Math.abs(served[i]! - direct[i]!));
    expect(largest).toBeLessThanOrEqual(1);
    // And the network really changed the photo.
    const input = await sharp(photo).raw().toBuffer();
    let changed = 0;
    for (let i = 0; i < input.length; i++) changed += Math.abs(input[i]! - served[i]!) > 8 ? 1 : 0;
    expect(changed / input.length).toBeGreaterThan(0.2);
  });

  it('serves the pinned version, from the header or from x-nst-version metadata', async () => {
    const [first] = harness.styles.primaryVersions;
    const byHeader = await stylize(client, header(harness.styles.primary, { version: first }), photo);
    expect(byHeader.summary?.version).toBe(first);
    const metadata = new Metadata();
    metadata.set('x-nst-version', first!);
    const byMetadata = await stylize(client, header(harness.styles.primary), photo, { metadata });
    expect(byMetadata.summary?.version).toBe(first);
    expect(byMetadata.metadata?.get('x-nst-version')).toEqual([first]);
  });

  it('encodes JPEG and WebP at the requested quality and caps the size before inference', async () => {
    const jpeg = await stylize(client, header(harness.styles.primary, { format: OutputFormat.OUTPUT_FORMAT_JPEG, quality: 50 }), photo);
    expect(jpeg.summary?.contentType).toBe('image/jpeg');
    expect((await sharp(jpeg.output).metadata()).format).toBe('jpeg');
    const capped = await stylize(
      client,
      header(harness.styles.primary, { format: OutputFormat.OUTPUT_FORMAT_WEBP, maxDimension: 100 }),
      photo,
    );
    expect(capped.summary).toMatchObject({ width: 100, height: 75, contentType: 'image/webp' });
    expect((await sharp(capped.output).metadata()).format).toBe('webp');
  });

  it('takes a large image through overlapping tiles, reporting progress per tile', async () => {
    const large = await photoJpeg(1600, 1200);
    const outcome = await stylize(client, header(harness.styles.primary, { format: OutputFormat.OUTPUT_FORMAT_JPEG }), large);
    expectSuccess(outcome);
    expect(outcome.summary).toMatchObject({ width: 1600, height: 1200 });
    const progress = outcome.messages.filter((m) => m.kind?.$case === 'progress');
    expect(progress.length).toBe(harness.tilesFor(1600, 1200));
    expect(progress.length).toBeGreaterThan(4);
    expect((await sharp(outcome.output).metadata()).width).toBe(1600);
  });
});

describe('StylizeImage (one request, the gRPC-Web path)', () => {
  it('streams the same reply as Stylize', async () => {
    const outcome = await stylizeImage(client, header(harness.styles.secondary), photo);
    expectSuccess(outcome);
    expect(outcome.messages[0]?.kind?.$case).toBe('accepted');
    expect(outcome.summary?.sha256).toBe(sha256(outcome.output));
    expect(outcome.summary?.style).toBe(harness.styles.secondary);
  });
});

describe('bad input gets a specific status, and the next request succeeds', () => {
  const cases: Array<{ name: string; code: status; message: RegExp; run: () => Promise<StylizeOutcome> }> = [
    {
      name: 'zero bytes',
      code: status.INVALID_ARGUMENT,
      message: /empty \(0 bytes\)/,
      run: () => stylize(client, header(harness.styles.primary), Buffer.alloc(0)),
    },
    {
      name: 'a truncated JPEG',
      code: status.INVALID_ARGUMENT,
      message: /truncated or corrupt/,
      run: async () => stylize(client, header(harness.styles.primary), truncate(await photoJpeg(400, 300))),
    },
    {
      name: 'a text file named .png',
      code: status.INVALID_ARGUMENT,
      message: /not an image .* starts with text "These are my/,
      run: () => stylize(client, header(harness.styles.primary), TEXT_NAMED_PNG),
    },
    {
      name: 'a decompression bomb (a small PNG declaring 30000x30000)',
      code: status.RESOURCE_EXHAUSTED,
      message: /image is 30000x30000 \(900\.0 MP\); the limit is/,
      run: () => stylize(client, header(harness.styles.primary), bombPng(30000)),
    },
    {
      name: 'an image a few pixels across (a sliver after the size cap)',
      code: status.INVALID_ARGUMENT,
      message: /the image is 48x2 pixels after the max_dimension cap of 48; both sides must be at least 16 pixels/,
      run: async () => stylize(client, header(harness.styles.primary, { maxDimension: 48 }), await photoJpeg(960, 40)),
    },
    {
      name: 'chunks before the header',
      code: status.INVALID_ARGUMENT,
      message: /chunk arrived before the header/,
      run: () => stylizeStream(client, uploadMessages(header(harness.styles.primary), photo).slice(1)).outcome,
    },
    {
      name: 'two headers',
      code: status.INVALID_ARGUMENT,
      message: /second header/,
      run: () => {
        const [head, ...chunks] = uploadMessages(header(harness.styles.primary), photo);
        return stylizeStream(client, [head!, head!, ...chunks]).outcome;
      },
    },
    {
      name: 'an unknown style',
      code: status.NOT_FOUND,
      message: /style 'no-such-style' does not exist; known styles: .+/,
      run: () => stylize(client, header('no-such-style'), photo),
    },
    {
      name: 'an unknown version',
      code: status.NOT_FOUND,
      message: /has no version '999'; its versions are: /,
      run: () => stylize(client, header(harness.styles.primary, { version: '999' }), photo),
    },
    {
      name: 'an upload over the byte limit (chunked)',
      code: status.RESOURCE_EXHAUSTED,
      message: /image is over .* the limit is .*NST_MAX_UPLOAD_BYTES/,
      run: () => stylize(client, header(harness.styles.primary), Buffer.alloc(harness.limits.maxUploadBytes + 1)),
    },
    {
      name: 'an upload over the byte limit (StylizeImage)',
      code: status.RESOURCE_EXHAUSTED,
      message: /image is .* MB; the limit is .* MB \(NST_MAX_UPLOAD_BYTES\)/,
      run: () => stylizeImage(client, header(harness.styles.primary), Buffer.alloc(harness.limits.maxUploadBytes + 1)),
    },
    {
      name: 'an unknown output format',
      code: status.INVALID_ARGUMENT,
      message: /output format 9 is unknown/,
      run: () => stylize(client, header(harness.styles.primary, { format: 9 as OutputFormat }), photo),
    },
  ];

  for (const { name, code, message, run } of cases) {
    it(`${name}: ${status[code]}`, async () => {
      const outcome = await run();
      expect(outcome.error?.code, outcome.error?.details).toBe(code);
      expect(outcome.error?.details).toMatch(message);
      expect(outcome.summary).toBeUndefined();
      await expectServesNormally();
      expect([harness.service.queue.active, harness.service.queue.queued]).toEqual([0, 0]);
    });
  }

  it('the largest max_dimension a uint32 holds caps nothing, and the photo is served at full size', async () => {
    const outcome = await stylize(client, header(harness.styles.primary, { maxDimension: 0xffffffff }), photo);
    expectSuccess(outcome);
    expect(outcome.summary).toMatchObject({ width: 200, height: 150 });
  });
});

describe('deadlines, cancellation and load', () => {
  it('a client that goes silent mid-stream hits its deadline, and its place is freed', async () => {
    const [head, firstChunk] = uploadMessages(header(harness.styles.primary), photo, 1024);
    const started = Date.now();
    const { outcome } = stylizeStream(client, [head!, firstChunk!], { keepOpen: true, deadlineMs: 600 });
    const result = await outcome;
    expect(result.error?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(5000);
    await waitFor(() => harness.service.queue.queued === 0);
    await expectServesNormally();
  });

  it('a silent client without a deadline is cut off after the upload idle time', async () => {
    const [head, firstChunk] = uploadMessages(header(harness.styles.primary), photo, 1024);
    const { call, outcome } = stylizeStream(client, [head!, firstChunk!], { keepOpen: true });
    const result = await outcome;
    call.end();
    expect(result.error?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(result.error?.details).toMatch(/no image data arrived for .* s/);
    await waitFor(() => harness.service.queue.queued === 0);
  });

  it('answers RESOURCE_EXHAUSTED when busy, and a cancel mid-stream frees the slot', async () => {
    const { maxConcurrent, queueLength } = harness.limits;
    // Calls that sent a header and part of the image hold every admission place.
    const holders = Array.from({ length: maxConcurrent + queueLength }, () =>
      stylizeStream(client, uploadMessages(header(harness.styles.primary), photo, 1024).slice(0, 2), { keepOpen: true }),
    );
    await waitFor(() => harness.service.queue.queued === maxConcurrent + queueLength);
    const refused = await stylize(client, header(harness.styles.primary), photo);
    expect(refused.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.error?.details).toMatch(/server is busy.*retry/);

    holders[0]!.call.cancel();
    expect((await holders[0]!.outcome).error?.code).toBe(status.CANCELLED);
    await waitFor(() => harness.service.queue.queued === maxConcurrent + queueLength - 1);
    await expectServesNormally();
    for (const holder of holders.slice(1)) holder.call.cancel();
    await Promise.all(holders.map((h) => h.outcome));
    await waitFor(() => harness.service.queue.queued === 0 && harness.service.queue.active === 0);
  });

  it('a cancel during inference stops the work between tiles and frees the slot', async () => {
    const large = await photoJpeg(1600, 1200);
    const { call, outcome } = stylizeStream(client, uploadMessages(header(harness.styles.primary), large));
    call.on('data', (m: { kind?: { $case: string } }) => {
      if (m.kind?.$case === 'progress') call.cancel();
    });
    const result = await outcome;
    expect(result.error?.code).toBe(status.CANCELLED);
    const progress = result.messages.filter((m) => m.kind?.$case === 'progress').length;
    expect(progress).toBeLessThan(harness.tilesFor(1600, 1200));
    await waitFor(() => harness.service.queue.active === 0);
    await expectServesNormally();
  });

  it('refuses at once, with its estimate, a request that would outlive its deadline behind the queue', async () => {
    const large = await photoJpeg(2000, 1500);
    // Alone, to know this machine's time for one such image (and let the service learn its rate).
    const started = Date.now();
    expectSuccess(await stylize(client, header(harness.styles.primary), large));
    const aloneMs = Date.now() - started;

    const busy = Array.from({ length: harness.limits.maxConcurrent + 1 }, () =>
      stylize(client, header(harness.styles.primary), large),
    );
    await waitFor(() => harness.service.queue.active === harness.limits.maxConcurrent, 30_000);
    // At least two of these images' work is ahead of the probe, which has time for a bit over one.
    const refusedAt = Date.now();
    const probe = await stylize(client, header(harness.styles.primary), large, { deadlineMs: Math.round(aloneMs * 1.3) });
    expect(probe.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(probe.error?.details).toMatch(/would take about [\d.]+ s with the work queued ahead of it, and the call's deadline is in [\d.]+ s/);
    expect(await rejections('deadline')).toBeGreaterThanOrEqual(1);
    expect(Date.now() - refusedAt).toBeLessThan(aloneMs);
    for (const outcome of await Promise.all(busy)) expectSuccess(outcome);
    // With the queue empty again the same deadline is enough.
    expectSuccess(await stylize(client, header(harness.styles.primary), large, { deadlineMs: Math.round(aloneMs * 3) }));
  });

  it('stays SERVING on grpc.health.v1 while every slot is busy', async () => {
    const large = await photoJpeg(1600, 1200);
    const busy = Array.from({ length: harness.limits.maxConcurrent }, () =>
      stylize(client, header(harness.styles.primary), large),
    );
    await waitFor(() => harness.service.queue.active === harness.limits.maxConcurrent, 60_000);
    const health = new HealthClient(`127.0.0.1:${harness.port}`);
    try {
      expect(await health.check('', 20_000)).toBe('SERVING');
      expect(await health.check('nst.v1.StyleService', 20_000)).toBe('SERVING');
    } finally {
      health.close();
    }
    expect(harness.service.queue.active).toBe(harness.limits.maxConcurrent);
    for (const outcome of await Promise.all(busy)) expectSuccess(outcome);
  });
});

describe('thumbnail normalisation of tiles (NST_NORM_THUMBNAIL)', () => {
  it('paints a multi-tile photo close to the whole-image painting, where per-tile statistics drift', async () => {
    // A thumbnail as large as the photo: the tiles get the whole photo's statistics exactly.
    const [withThumbnail, perTile] = await Promise.all([startHarness({ normThumbnail: 4096 }), startHarness({ normThumbnail: 0 })]);
    const clients = [connect(withThumbnail.port), connect(perTile.port)];
    try {
      // Half dark, half light: the tiles' own statistics differ the most.
      const split = await sharp({ create: { width: 640, height: 400, channels: 3, background: '#202830' } })
        .composite([{ input: await photoJpeg(320, 400), left: 320, top: 0 }])
        .png()
        .toBuffer();
      expect(withThumbnail.tilesFor(640, 400)).toBeGreaterThan(2);
      const painted = await Promise.all(
        clients.map(async (c) => {
          const outcome = await stylize(c, header(withThumbnail.styles.primary, { version: '1' }), split);
          expectSuccess(outcome);
          return sharp(outcome.output).raw().toBuffer();
        }),
      );
      const direct = await withThumbnail.paintDirectly(withThumbnail.styles.primary, '1', split);
      const meanError = (served: Buffer) => served.reduce((sum, v, i) => sum + Math.abs(v - direct[i]!), 0) / served.length;
      const [thumbnailError, perTileError] = painted.map(meanError) as [number, number];
      // Only the tile borders (reflect padding inside the overlaps) still differ.
      expect(thumbnailError).toBeLessThan(1.5);
      expect(perTileError).toBeGreaterThan(thumbnailError * 2);
    } finally {
      for (const c of clients) c.close();
      await Promise.all([withThumbnail.close(), perTile.close()]);
    }
  });
});

describe('per-client limit', () => {
  it('refuses a client over NST_QUEUE_PER_CLIENT while others are served, whether the id comes in the header or metadata', async () => {
    const limited = await startHarness({ queuePerClient: 1 });
    const limitedClient = connect(limited.port);
    try {
      const greedy = header(limited.styles.primary, { clientId: 'greedy' });
      const holder = stylizeStream(limitedClient, uploadMessages(greedy, photo, 1024).slice(0, 2), { keepOpen: true });
      await waitFor(() => limited.service.queue.queued === 1);
      const second = await stylize(limitedClient, greedy, photo);
      expect(second.error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(second.error?.details).toMatch(/client 'greedy' already has 1 requests running or waiting/);
      expect(await rejections('client_limit')).toBeGreaterThanOrEqual(1);
      const metadata = new Metadata();
      metadata.set('x-nst-client-id', 'greedy');
      const viaMetadata = await stylize(limitedClient, header(limited.styles.primary, { clientId: '' }), photo, { metadata });
      expect(viaMetadata.error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expectSuccess(await stylize(limitedClient, header(limited.styles.primary, { clientId: 'someone-else' }), photo));
      holder.call.cancel();
      await holder.outcome;
      await waitFor(() => limited.service.queue.queued === 0);
      expectSuccess(await stylize(limitedClient, greedy, photo));
    } finally {
      limitedClient.close();
      await limited.close();
    }
  });
});

describe('per-client limit through a front door', () => {
  it('counts calls carrying x-nst-client-address by that address: new client ids do not buy more places, and the refusal names the address', async () => {
    const limited = await startHarness({ queuePerClient: 1 });
    const limitedClient = connect(limited.port);
    const from = (address: string): Metadata => {
      const metadata = new Metadata();
      metadata.set('x-nst-client-address', address);
      return metadata;
    };
    try {
      const holder = stylizeStream(limitedClient, uploadMessages(header(limited.styles.primary, { clientId: 'first-id' }), photo, 1024).slice(0, 2), {
        keepOpen: true,
        metadata: from('203.0.113.7'),
      });
      await waitFor(() => limited.service.queue.queued === 1);
      // The same address with an id it made up for this call: still the same client.
      const second = await stylize(limitedClient, header(limited.styles.primary, { clientId: 'fresh-id' }), photo, { metadata: from('203.0.113.7') });
      expect(second.error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(second.error?.details).toMatch(/the client at 203\.0\.113\.7 already has 1 requests running or waiting/);
      // Another address, even with the first id, is another client.
      expectSuccess(await stylize(limitedClient, header(limited.styles.primary, { clientId: 'first-id' }), photo, { metadata: from('203.0.113.8') }));
      holder.call.cancel();
      await holder.outcome;
    } finally {
      limitedClient.close();
      await limited.close();
    }
  });
});

describe('SubmitFeedback', () => {
  it('records durable feedback and keeps the photo only with consent', async () => {
    const served = await stylize(client, header(harness.styles.primary), photo);
    const { requestId, style, version } = served.summary!;
    const withoutConsent = await submitFeedback(client, { requestId, style, version, rating: Rating.RATING_GOOD });
    expect(withoutConsent.photoKept).toBe(false);
    const withConsent = await submitFeedback(client, {
      requestId,
      style,
      version,
      rating: Rating.RATING_BAD,
      reason: 'faces look smeared',
      consentToKeepPhoto: true,
      feedbackId: 'fb-consent-1',
    });
    expect(withConsent).toEqual({ feedbackId: 'fb-consent-1', photoKept: true });
    const entries = await harness.feedbackEntries();
    const kept = entries.find((e) => e.id === 'fb-consent-1');
    expect(kept).toMatchObject({ rating: 'bad', reason: 'faces look smeared', requestId, style, version });
    expect(kept!.photoRef).toBe('fb-consent-1.jpeg');
    expect(await readFile(join(harness.limits.keptPhotosDir!, kept!.photoRef!))).toEqual(photo);
    expect(entries.find((e) => e.id === withoutConsent.feedbackId)?.photoRef).toBeUndefined();
  });

  it('accepts an unknown request id but requires the style and version to exist', async () => {
    const [version] = harness.styles.primaryVersions;
    const unknownRequest = await submitFeedback(client, {
      requestId: 'not-a-request-this-server-saw',
      style: harness.styles.primary,
      version,
      rating: Rating.RATING_BAD,
      consentToKeepPhoto: true,
    });
    expect(unknownRequest.photoKept).toBe(false);
    await expect(
      submitFeedback(client, { style: 'no-such-style', version: '1', rating: Rating.RATING_GOOD }),
    ).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(
      submitFeedback(client, { style: harness.styles.primary, version: '999', rating: Rating.RATING_GOOD }),
    ).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(
      submitFeedback(client, { style: harness.styles.primary, version, rating: Rating.RATING_UNSPECIFIED }),
    ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/rating is not set/) });
  });
});

/** nst_stylize_rejected_total for one refusal reason (the server runs in this process). */
async function rejections(reason: string): Promise<number> {
  const { values } = await platformMetrics().queueRejected.get();
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
