/**
 * Gateway overhead (issue 4): a 1-megapixel StylizeImage through the gateway over gRPC-Web
 * against the same call made to StyleService directly over gRPC, in the same run, alternating,
 * median of N after a warm-up of each. Reported as a ratio (gateway / direct; target <= 1.10),
 * never as an absolute claim. The StyleService is the real one (queue, decode, tiled ONNX
 * inference of the starter-sized network, encode); the weights are random because speed does
 * not depend on them.
 *
 *   node --import tsx gateway/bench/gateway.bench.ts [--runs 5] [--megapixels 1]
 */
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { LatestVersionResolver, launchStyleService, StyleModel } from '@nst/inference';
import { OutputFormat, StyleServiceClient, StylizeImageRequest, StylizeImageResponse } from '@nst/proto';
import { exportOnnx, initBackend, STARTER_CONFIG, StyleNet } from '@nst/trainer';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { startGateway } from '@nst/gateway';
import { callGrpcWeb } from '@nst/gateway/grpc-web';

export interface GatewayBenchOptions {
  /** Timed runs of each path (after one warm-up each). Default 5. */
  runs?: number;
  /** Input size in megapixels. Default 1. */
  megapixels?: number;
  log?: (line: string) => void;
}

export interface GatewayBenchResult {
  width: number;
  height: number;
  runs: number;
  directMs: number[];
  gatewayMs: number[];
  directMedianMs: number;
  gatewayMedianMs: number;
  /** gatewayMedian / directMedian: 1.00 is no overhead; the target is <= 1.10. */
  ratio: number;
}

const PHOTO = '/usr/share/backgrounds/mate/nature/Garden.jpg';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** A real photograph when the Debian wallpapers are installed, otherwise a textured render. */
async function benchPhoto(width: number, height: number): Promise<Buffer> {
  if (existsSync(PHOTO)) return sharp(PHOTO).resize(width, height, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = (y * width + x) * 3;
      pixels[i] = (x * 255) / width;
      pixels[i + 1] = (y * 255) / height;
      pixels[i + 2] = 128 + 127 * Math.sin((x + y) / 17);
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

export async function benchGateway(options: GatewayBenchOptions = {}): Promise<GatewayBenchResult> {
  const runs = options.runs ?? 5;
  const log = options.log ?? (() => undefined);
  const side = Math.sqrt((options.megapixels ?? 1) * 1e6);
  const width = Math.round((side * 4) / 3 / 8) * 8;
  const height = Math.round((side * 3) / 4 / 8) * 8;

  await initBackend();
  const net = StyleNet.create(STARTER_CONFIG, 1);
  const onnx = exportOnnx(net);
  net.dispose();

  const dataDir = await mkdtemp(join(tmpdir(), 'nst-gateway-bench-'));
  // The bench sends no feedback; the sink keeps whatever arrives so nothing is silently dropped.
  const feedback: unknown[] = [];
  const catalog = {
    listStyles: async () => [{ id: 'bench', displayName: 'Bench', description: 'random starter-sized network', versions: ['v1'] }],
    listVersions: async (style: string) => (style === 'bench' ? ['v1'] : undefined),
    readModel: async () => onnx,
  };
  const quiet = { info: () => undefined, warn: () => undefined, error: (fields: object, message?: string) => log(`error: ${message} ${JSON.stringify(fields)}`) };
  const limits = { maxUploadBytes: 32 * 1024 * 1024, maxPixels: 50_000_000, chunkBytes: 256 * 1024, tileSize: 512, tileOverlap: 32, maxConcurrent: 1, queueLength: 4 };
  const styleService = await launchStyleService({
    address: '127.0.0.1:0',
    limits,
    catalog,
    resolver: new LatestVersionResolver(catalog),
    feedback: { append: async (entry) => void feedback.push(entry) },
    photos: { dir: join(dataDir, 'photos'), holdBytes: 0, holdMs: 0, retentionMs: 0 },
    loadModel: (bytes) => StyleModel.load(bytes),
    logger: quiet,
  });
  const gateway = await startGateway({
    config: {
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      styleAddr: `127.0.0.1:${styleService.port}`,
      trainerAddr: '127.0.0.1:1',
      gatewayCorsOrigins: [],
      maxUploadBytes: limits.maxUploadBytes,
      chunkBytes: limits.chunkBytes,
    },
    webDist: false,
  });
  const client = new StyleServiceClient(`127.0.0.1:${styleService.port}`, credentials.createInsecure(), {
    'grpc.max_send_message_length': limits.maxUploadBytes + 64 * 1024,
  });

  try {
    const photo = await benchPhoto(width, height);
    const request: StylizeImageRequest = {
      header: { style: 'bench', format: OutputFormat.OUTPUT_FORMAT_JPEG, quality: 0, maxDimension: 0, clientId: 'bench' },
      image: photo,
    };
    const encoded = StylizeImageRequest.encode(request).finish();
    log(`gateway bench: ${width}x${height} JPEG (${(photo.length / 1024).toFixed(0)} KB), ${runs} runs per path`);

    const direct = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const started = performance.now();
        let summary = false;
        const call = client.stylizeImage(request);
        call.on('data', (message: StylizeImageResponse) => (summary ||= message.kind?.$case === 'summary'));
        call.on('error', (error: ServiceError) => reject(error));
        call.on('end', () => (summary ? resolve(performance.now() - started) : reject(new Error('direct call ended without a summary'))));
      });
    const viaGateway = async (): Promise<number> => {
      const started = performance.now();
      const reply = await callGrpcWeb(gateway.url, '/nst.v1.StyleService/StylizeImage', encoded);
      const elapsed = performance.now() - started;
      const last = reply.messages.at(-1);
      if (reply.grpcStatus !== 0 || !last || StylizeImageResponse.decode(last).kind?.$case !== 'summary') {
        throw new Error(`gateway call failed: status ${reply.grpcStatus} ${reply.grpcMessage}`);
      }
      return elapsed;
    };

    await direct();
    await viaGateway();
    const directMs: number[] = [];
    const gatewayMs: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      // Alternate the order so drift on a shared machine hits both paths alike.
      if (run % 2 === 0) {
        directMs.push(await direct());
        gatewayMs.push(await viaGateway());
      } else {
        gatewayMs.push(await viaGateway());
        directMs.push(await direct());
      }
      log(`  run ${run + 1}: direct ${directMs.at(-1)?.toFixed(0)} ms, gateway ${gatewayMs.at(-1)?.toFixed(0)} ms`);
    }
    const directMedianMs = median(directMs);
    const gatewayMedianMs = median(gatewayMs);
    const ratio = gatewayMedianMs / directMedianMs;
    log(
      `gateway overhead: gRPC-Web via gateway / direct gRPC = ${ratio.toFixed(3)} ` +
        `(medians ${gatewayMedianMs.toFixed(0)} / ${directMedianMs.toFixed(0)} ms; target <= 1.10)`,
    );
    return { width, height, runs, directMs, gatewayMs, directMedianMs, gatewayMedianMs, ratio };
  } finally {
    client.close();
    await gateway.close();
    await styleService.close(0);
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, megapixels: { type: 'string' } } });
  const result = await benchGateway({
    runs: values.runs ? Number(values.runs) : undefined,
    megapixels: values.megapixels ? Number(values.megapixels) : undefined,
    log: (line) => console.log(line),
  });
  console.log(JSON.stringify(result));
}
