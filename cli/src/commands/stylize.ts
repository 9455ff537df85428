/**
 * `nst stylize <files or folders> --style <id> -o <dir>`: streams each image to StyleService's
 * Stylize call in chunks, draws a progress bar while it uploads, waits in the queue and runs
 * tile by tile, writes the streamed output, and prints the served version, the timings and the
 * precision the network ran in.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { SingleBar } from 'cli-progress';
import { ModelPrecision, OutputFormat, type StylizeRequest, type StylizeResponse, type StylizeSummary } from '@nst/proto';
import { Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import type { CliContext } from '../context';
import { formatBytes, formatMs } from '../format';
import { CliError, describeFailure, unary } from '../grpc';

export interface StylizeOptions {
  style: string;
  version?: string;
  format: string;
  quality?: number;
  maxDimension?: number;
  out: string;
  /** Seconds one image may take end to end. */
  timeout: number;
}

const INPUT_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.avif', '.tif', '.tiff', '.gif']);
const FORMATS: Record<string, { format: OutputFormat; extension: string }> = {
  jpeg: { format: OutputFormat.OUTPUT_FORMAT_JPEG, extension: 'jpg' },
  jpg: { format: OutputFormat.OUTPUT_FORMAT_JPEG, extension: 'jpg' },
  png: { format: OutputFormat.OUTPUT_FORMAT_PNG, extension: 'png' },
  webp: { format: OutputFormat.OUTPUT_FORMAT_WEBP, extension: 'webp' },
};
/** Upload slices: well under gRPC's 4 MB default message limit, big enough to be cheap. */
const UPLOAD_CHUNK_BYTES = 256 * 1024;

/** Expands folders (not recursively) into their image files, keeping the given order. */
export async function collectInputs(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const given of paths) {
    let info;
    try {
      info = await stat(given);
    } catch {
      throw new CliError(`${given} does not exist`);
    }
    if (info.isDirectory()) {
      const names = (await readdir(given)).filter((n) => INPUT_EXTENSIONS.has(path.extname(n).toLowerCase())).sort();
      if (names.length === 0) throw new CliError(`the folder ${given} holds no images (${[...INPUT_EXTENSIONS].join(', ')})`);
      files.push(...names.map((n) => path.join(given, n)));
    } else {
      files.push(given);
    }
  }
  return files;
}

interface StylizeOutcome {
  summary: StylizeSummary;
  output: string;
  wallMs: number;
}

export async function stylize(ctx: CliContext, inputs: string[], options: StylizeOptions): Promise<void> {
  const format = FORMATS[options.format.toLowerCase()];
  if (!format) throw new CliError(`--format must be jpeg, png or webp, not "${options.format}"`);
  if (options.quality !== undefined && !(Number.isInteger(options.quality) && options.quality >= 1 && options.quality <= 100)) {
    throw new CliError(`--quality must be a whole number from 1 to 100, not ${options.quality}`);
  }
  const files = await collectInputs(inputs);
  // Once, before the first image: an unknown style or version would fail every image alike.
  await requireStyle(ctx, options.style, options.version);
  await mkdir(options.out, { recursive: true });
  const clientId = await ctx.history.clientId();
  let failures = 0;
  for (const file of files) {
    try {
      const outcome = await stylizeOne(ctx, file, options, format, clientId);
      const s = outcome.summary;
      ctx.print(
        `${file} -> ${outcome.output}: ${s.width}x${s.height} ${s.contentType} ${formatBytes(s.outputBytes)}, ` +
          `${s.style} version ${s.version}, request ${s.requestId}; ` +
          `decode ${formatMs(s.decodeMs)}, queue ${formatMs(s.queueMs)}, inference ${formatMs(s.inferenceMs)} (${precisionName(s.precision)}), ` +
          `encode ${formatMs(s.encodeMs)}, total ${formatMs(outcome.wallMs)}`,
      );
    } catch (error) {
      failures += 1;
      ctx.note(`${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (failures > 0) throw new CliError(`${failures} of ${files.length} images failed`);
  if (files.length > 1) ctx.print(`Rate a result with \`nst feedback <request> good|bad\`.`);
}

/** The precision the network ran in, as the summary names it (servers before precisions: fp32). */
function precisionName(precision: ModelPrecision): string {
  return precision === ModelPrecision.MODEL_PRECISION_INT8 ? 'int8' : 'fp32';
}

/** Fails with one sentence when the style (or the pinned version) is not registered. */
async function requireStyle(ctx: CliContext, style: string, version: string | undefined): Promise<void> {
  const { styles } = await unary(ctx.style, ctx.style.client.listStyles, {});
  const found = styles.find((s) => s.id === style);
  if (!found) {
    const known = styles.map((s) => s.id).join(', ');
    throw new CliError(`style '${style}' does not exist; ${known ? `the styles are ${known}` : 'no styles are registered yet'} (see \`nst styles\`)`);
  }
  if (version !== undefined && !found.versions.includes(version)) {
    throw new CliError(`style '${style}' has no version '${version}'; its versions are ${found.versions.join(', ') || 'none yet'}`);
  }
}

async function stylizeOne(
  ctx: CliContext,
  file: string,
  options: StylizeOptions,
  format: { format: OutputFormat; extension: string },
  clientId: string,
): Promise<StylizeOutcome> {
  const size = (await stat(file)).size;
  const started = performance.now();
  const bar = ctx.interactive
    ? new SingleBar({
        format: `${path.basename(file).slice(0, 28).padEnd(28)} [{bar}] {percentage}% {phase}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
      })
    : undefined;
  bar?.start(100, 0, { phase: 'uploading' });

  // The style also as metadata: in the cluster, Istio routes a style's canary on headers.
  const metadata = new Metadata();
  metadata.set('x-nst-style', options.style);
  const call: ClientDuplexStream<StylizeRequest, StylizeResponse> = ctx.style.client.stylize(metadata, {
    deadline: new Date(Date.now() + options.timeout * 1000),
  });
  const base = path.basename(file, path.extname(file));
  const partial = path.join(options.out, `.${base}.${process.pid}.part`);
  const output = await open(partial, 'w');
  let target = '';
  let accepted: { requestId: string; version: string } | undefined;
  let summary: StylizeSummary | undefined;
  let remoteFailure: Error | undefined;

  const received = new Promise<void>((resolve, reject) => {
    let writes = Promise.resolve();
    call.on('data', (message: StylizeResponse) => {
      const kind = message.kind;
      if (!kind) return;
      switch (kind.$case) {
        case 'accepted':
          accepted = { requestId: kind.accepted.requestId, version: kind.accepted.version };
          bar?.update(10, {
            phase: kind.accepted.queuePosition > 0 ? `queued (${kind.accepted.queuePosition} ahead)` : `version ${kind.accepted.version}`,
          });
          break;
        case 'progress':
          bar?.update(10 + Math.round(kind.progress.fraction * 80), {
            phase: `tile ${kind.progress.tilesDone}/${kind.progress.tilesTotal}`,
          });
          break;
        case 'chunk': {
          const chunk = kind.chunk;
          writes = writes.then(() => output.write(chunk).then(() => undefined));
          bar?.update(90, { phase: 'receiving' });
          break;
        }
        case 'summary':
          summary = kind.summary;
          break;
      }
    });
    call.on('error', (error) => {
      remoteFailure = describeFailure(error, ctx.style.name, ctx.style.address);
      reject(remoteFailure);
    });
    call.on('end', () => writes.then(resolve, reject));
  });
  // Settled (and reported) by the main path below; this only keeps an early failure handled.
  received.catch(() => undefined);

  try {
    call.write({
      kind: {
        $case: 'header',
        header: {
          style: options.style,
          ...(options.version !== undefined ? { version: options.version } : {}),
          format: format.format,
          quality: options.quality ?? 0,
          maxDimension: options.maxDimension ?? 0,
          clientId,
        },
      },
    });
    let sent = 0;
    for await (const chunk of createReadStream(file, { highWaterMark: UPLOAD_CHUNK_BYTES })) {
      // The server may refuse the upload early (bad header, too large): stop sending then.
      if (remoteFailure) break;
      const bytes = chunk as Buffer;
      if (!call.write({ kind: { $case: 'chunk', chunk: bytes } })) {
        await Promise.race([new Promise<void>((resolve) => call.once('drain', resolve)), received.catch(() => undefined)]);
      }
      sent += bytes.length;
      if (!accepted) bar?.update(Math.round((sent / Math.max(size, 1)) * 10));
    }
    call.end();
    await received;
    await output.close();
    if (!summary || !accepted) throw new CliError('StyleService ended the stream without a summary');
    target = path.join(options.out, `${base}-${summary.style}-${summary.version}.${format.extension}`);
    await rename(partial, target);
    await ctx.history.record({
      requestId: summary.requestId || accepted.requestId,
      style: summary.style,
      version: summary.version,
      input: path.resolve(file),
      output: path.resolve(target),
      at: new Date().toISOString(),
    });
    return { summary, output: target, wallMs: performance.now() - started };
  } catch (error) {
    // A failure the server sent explains more than the local symptom it caused.
    const failure = remoteFailure ?? error;
    if (!remoteFailure) call.cancel();
    await output.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw failure;
  } finally {
    bar?.stop();
  }
}
