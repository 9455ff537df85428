/**
 * Load test of StyleService (not a CI gate): N concurrent clients for a while, photos of mixed
 * sizes up to 12 MP, both Stylize (chunked stream) and StylizeImage, some calls cancelled
 * mid-way. Prints latency percentiles, throughput, how many calls were refused with
 * RESOURCE_EXHAUSTED (the admission queue doing its job), unexpected errors (should be 0)
 * and the server's resident memory over the run (flat after warm-up: under 10% growth).
 *
 *   node --import tsx system-tests/scripts/load.ts [--clients 32] [--duration 300] [--warmup 60]
 *        [--cancel 0.1] [--target host:port] [--seed 1] [--deadline 180]
 *
 * Without --target it starts its own StyleService process (starter styles, the platform's
 * default limits) and samples its RSS; with --target it only measures the client side.
 */
import { parseArgs } from 'node:util';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { OutputFormat, StyleServiceClient, type ListStylesResponse, type StylizeHeader } from '@nst/proto';
import sharp from 'sharp';
import { photoJpeg, spawnStyleService, type ServiceProcess } from '@nst/test-kit';

const { values: flags } = parseArgs({
  options: {
    clients: { type: 'string', default: '32' },
    duration: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '60' },
    cancel: { type: 'string', default: '0.1' },
    target: { type: 'string' },
    seed: { type: 'string', default: '1' },
    deadline: { type: 'string', default: '180' },
  },
});
const CLIENTS = Number(flags.clients);
const DURATION_S = Number(flags.duration);
const WARMUP_S = Math.min(Number(flags.warmup), DURATION_S / 2);
const CANCEL_RATIO = Number(flags.cancel);
/** Each call's deadline; a call still queued or running then counts as an unexpected error. */
const DEADLINE_S = Number(flags.deadline);

// Seeded so two runs send the same mix (mulberry32).
let seed = Number(flags.seed) >>> 0;
const random = (): number => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/** The size mix: mostly phone-sized, some large, a tenth at 12 MP. */
const SIZES = [
  { name: '0.3MP', width: 640, height: 480, weight: 0.35 },
  { name: '1MP', width: 1152, height: 864, weight: 0.3 },
  { name: '4MP', width: 2304, height: 1728, weight: 0.25 },
  { name: '12MP', width: 4000, height: 3000, weight: 0.1 },
] as const;

/** Real photographs when Debian's wallpaper packages are installed, else a synthetic photo. */
async function buildPhotos(): Promise<Map<string, Buffer[]>> {
  const dirs = ['/usr/share/backgrounds/mate/nature', '/usr/share/backgrounds'];
  const sources = dirs
    .filter((dir) => existsSync(dir))
    .flatMap((dir) => readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).map((f) => join(dir, f)))
    .slice(0, 3);
  const photos = new Map<string, Buffer[]>();
  for (const size of SIZES) {
    const list: Buffer[] = [];
    for (const source of sources) {
      list.push(await sharp(source).resize(size.width, size.height, { fit: 'cover' }).jpeg({ quality: 88 }).toBuffer());
    }
    if (list.length === 0) list.push(await photoJpeg(size.width, size.height, 88));
    photos.set(size.name, list);
  }
  console.log(`photos: ${sources.length ? sources.join(', ') : 'synthetic'}; ${SIZES.map((s) => `${s.name} ${(photos.get(s.name)![0]!.length / 1e6).toFixed(2)} MB`).join(', ')}`);
  return photos;
}

function pickSize(): (typeof SIZES)[number] {
  let r = random();
  for (const size of SIZES) {
    if ((r -= size.weight) <= 0) return size;
  }
  return SIZES[0];
}

interface Outcome {
  size: string;
  method: 'Stylize' | 'StylizeImage';
  code: status;
  details: string;
  ms: number;
  cancelledByUs: boolean;
  at: number;
}

function runCall(client: StyleServiceClient, header: StylizeHeader, image: Buffer, useStream: boolean, cancelAfterMs: number | undefined): Promise<{ code: status; details: string }> {
  return new Promise((resolve) => {
    const deadline = Date.now() + DEADLINE_S * 1000;
    const call = useStream ? client.stylize(new Metadata(), { deadline }) : client.stylizeImage({ header, image }, new Metadata(), { deadline });
    let done = false;
    const finish = (code: status, details: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ code, details });
    };
    const timer = cancelAfterMs !== undefined ? setTimeout(() => call.cancel(), cancelAfterMs) : undefined;
    call.on('data', () => undefined);
    call.on('error', (error: ServiceError) => finish(error.code, error.details));
    call.on('end', () => finish(status.OK, ''));
    if (useStream) {
      const stream = call as ReturnType<StyleServiceClient['stylize']>;
      stream.write({ kind: { $case: 'header', header } });
      const chunk = 256 * 1024;
      for (let offset = 0; offset < image.length; offset += chunk) {
        stream.write({ kind: { $case: 'chunk', chunk: image.subarray(offset, offset + chunk) } });
      }
      stream.end();
    }
  });
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function main(): Promise<void> {
  const photos = await buildPhotos();
  let server: ServiceProcess | undefined;
  let address = flags.target;
  if (!address) {
    server = await spawnStyleService({ NST_LOG_LEVEL: 'warn' });
    address = server.address;
  }
  const client = new StyleServiceClient(address, credentials.createInsecure(), {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  const styles = await new Promise<ListStylesResponse>((resolve, reject) => client.listStyles({}, (e, r) => (e ? reject(e) : resolve(r))));
  const styleIds = styles.styles.map((s) => s.id);
  if (styleIds.length === 0) throw new Error(`the StyleService at ${address} serves no styles`);
  console.log(`target ${address}: styles ${styleIds.join(', ')}; ${CLIENTS} clients for ${DURATION_S} s (warm-up ${WARMUP_S} s), cancel ratio ${CANCEL_RATIO}`);

  // Warm-up proper: every style once on a photo of several tiles (so each model is loaded with
  // its sessions open), then two 12 MP photos at once (the largest decode and tile buffers two
  // slots can hold), so the working set has been reached before memory is judged.
  const warmStart = performance.now();
  const warmCall = async (style: string, size: string): Promise<void> => {
    const { code, details } = await runCall(client, { style, format: OutputFormat.OUTPUT_FORMAT_JPEG, quality: 85, maxDimension: 0, clientId: 'load-warmup' }, photos.get(size)![0]!, false, undefined);
    if (code !== status.OK) {
      await server?.close();
      throw new Error(`warm-up stylize of ${style} (${size}) failed: ${status[code]} ${details}`);
    }
  };
  for (const style of styleIds) await warmCall(style, '1MP');
  await Promise.all(styleIds.slice(0, 2).map((style) => warmCall(style, '12MP')));
  console.log(`warm-up: one 1 MP image per style, two 12 MP at once, in ${((performance.now() - warmStart) / 1000).toFixed(0)} s${server ? `, server RSS ${(server.rss() / 2 ** 20).toFixed(0)} MiB` : ''}`);

  const started = Date.now();
  const endAt = started + DURATION_S * 1000;
  const outcomes: Outcome[] = [];
  const rssSamples: { t: number; rss: number }[] = [];
  const sampler = setInterval(() => {
    if (server) rssSamples.push({ t: (Date.now() - started) / 1000, rss: server.rss() });
  }, 5000);
  const progress = setInterval(() => {
    const ok = outcomes.filter((o) => o.code === status.OK).length;
    const refused = outcomes.filter((o) => o.code === status.RESOURCE_EXHAUSTED).length;
    const rss = server ? `, server RSS ${(server.rss() / 2 ** 20).toFixed(0)} MiB` : '';
    console.log(`  t=${((Date.now() - started) / 1000).toFixed(0)} s: ${outcomes.length} calls, ${ok} ok, ${refused} RESOURCE_EXHAUSTED${rss}`);
  }, 30_000);

  const clientLoop = async (): Promise<void> => {
    while (Date.now() < endAt) {
      const size = pickSize();
      const list = photos.get(size.name)!;
      const image = list[Math.floor(random() * list.length)]!;
      const useStream = random() < 0.5;
      const cancel = random() < CANCEL_RATIO ? Math.floor(random() * 3000) : undefined;
      const header: StylizeHeader = {
        style: styleIds[Math.floor(random() * styleIds.length)]!,
        format: random() < 0.7 ? OutputFormat.OUTPUT_FORMAT_JPEG : OutputFormat.OUTPUT_FORMAT_WEBP,
        quality: 85,
        maxDimension: 0,
        clientId: `load-${Math.floor(random() * CLIENTS)}`,
      };
      const t0 = performance.now();
      const { code, details } = await runCall(client, header, image, useStream, cancel);
      const ms = performance.now() - t0;
      outcomes.push({ size: size.name, method: useStream ? 'Stylize' : 'StylizeImage', code, details, ms, cancelledByUs: cancel !== undefined, at: Date.now() });
      // A refused client backs off a little, as a real one would (not a tight retry loop).
      if (code === status.RESOURCE_EXHAUSTED) await new Promise((resolve) => setTimeout(resolve, 250 + random() * 750));
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, clientLoop));
  clearInterval(sampler);
  clearInterval(progress);
  const elapsedS = (Date.now() - started) / 1000;

  const ok = outcomes.filter((o) => o.code === status.OK);
  const exhausted = outcomes.filter((o) => o.code === status.RESOURCE_EXHAUSTED);
  const cancelled = outcomes.filter((o) => o.cancelledByUs && o.code === status.CANCELLED);
  const unexpected = outcomes.filter((o) => o.code !== status.OK && o.code !== status.RESOURCE_EXHAUSTED && !(o.cancelledByUs && o.code === status.CANCELLED));
  const latencies = (list: Outcome[]) => list.map((o) => o.ms).sort((a, b) => a - b);
  const line = (label: string, list: Outcome[]) => {
    const sorted = latencies(list);
    return `${label.padEnd(8)} n=${String(sorted.length).padStart(5)}  p50 ${(percentile(sorted, 50) / 1000).toFixed(2)} s  p95 ${(percentile(sorted, 95) / 1000).toFixed(2)} s  p99 ${(percentile(sorted, 99) / 1000).toFixed(2)} s`;
  };
  const megapixels = ok.reduce((sum, o) => sum + SIZES.find((s) => s.name === o.size)!.width * SIZES.find((s) => s.name === o.size)!.height, 0) / 1e6;

  console.log('\n== load result ==');
  console.log(`duration ${elapsedS.toFixed(0)} s, ${CLIENTS} clients, ${outcomes.length} calls`);
  console.log(`ok ${ok.length}, RESOURCE_EXHAUSTED ${exhausted.length}, cancelled by the client ${cancelled.length}, unexpected ${unexpected.length}`);
  console.log(`throughput ${(ok.length / elapsedS).toFixed(2)} images/s, ${(megapixels / elapsedS).toFixed(2)} MP/s`);
  console.log('latency of successful calls (end to end, queue included):');
  console.log('  ' + line('all', ok));
  for (const size of SIZES) console.log('  ' + line(size.name, ok.filter((o) => o.size === size.name)));
  const byCode = new Map<string, number>();
  for (const o of unexpected) byCode.set(`${status[o.code]}: ${o.details.slice(0, 160)}`, (byCode.get(`${status[o.code]}: ${o.details.slice(0, 160)}`) ?? 0) + 1);
  for (const [what, n] of byCode) console.log(`  unexpected x${n}: ${what}`);
  let rssReport: { warmMiB: number; peakMiB: number; endMiB: number; growthPct: number; peakGrowthPct: number; lateVsEarlyPeakPct: number } | undefined;
  if (server) {
    const after = rssSamples.filter((s) => s.t >= WARMUP_S);
    const warm = after[0]?.rss ?? 0;
    const peak = Math.max(...after.map((s) => s.rss));
    const end = after.at(-1)?.rss ?? 0;
    // A leak keeps climbing; a working set rises and falls with what is in flight. So also
    // compare the highest RSS of the last third of the measured time with that of the first.
    const third = Math.max(1, Math.floor(after.length / 3));
    const earlyPeak = Math.max(...after.slice(0, third).map((s) => s.rss));
    const latePeak = Math.max(...after.slice(-third).map((s) => s.rss));
    rssReport = {
      warmMiB: warm / 2 ** 20,
      peakMiB: peak / 2 ** 20,
      endMiB: end / 2 ** 20,
      growthPct: ((end - warm) / warm) * 100,
      peakGrowthPct: ((peak - warm) / warm) * 100,
      lateVsEarlyPeakPct: ((latePeak - earlyPeak) / earlyPeak) * 100,
    };
    console.log(
      `server RSS: ${rssReport.warmMiB.toFixed(0)} MiB after warm-up, peak ${rssReport.peakMiB.toFixed(0)} MiB, end ${rssReport.endMiB.toFixed(0)} MiB ` +
        `(growth ${rssReport.growthPct.toFixed(1)}%, peak ${rssReport.peakGrowthPct.toFixed(1)}% over warm; ` +
        `peak of the last third ${rssReport.lateVsEarlyPeakPct.toFixed(1)}% vs the first)`,
    );
    console.log(`server alive: ${server.exited() === undefined}, error lines logged: ${server.errorLines.length}`);
    for (const lineText of server.errorLines.slice(0, 5)) console.log(`  ${lineText.slice(0, 300)}`);
  }
  console.log(
    JSON.stringify({
      clients: CLIENTS,
      durationS: elapsedS,
      calls: outcomes.length,
      ok: ok.length,
      resourceExhausted: exhausted.length,
      cancelled: cancelled.length,
      unexpected: unexpected.length,
      imagesPerS: ok.length / elapsedS,
      p50S: percentile(latencies(ok), 50) / 1000,
      p95S: percentile(latencies(ok), 95) / 1000,
      p99S: percentile(latencies(ok), 99) / 1000,
      rss: rssReport,
    }),
  );
  client.close();
  await server?.close();
  // close() stops the server with SIGTERM; it drains and exits 0 (or dies by the signal).
  const exit = server?.exited();
  const serverStoppedCleanly = !exit || exit.code === 0 || exit.signal === 'SIGTERM';
  process.exit(unexpected.length === 0 && serverStoppedCleanly ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
