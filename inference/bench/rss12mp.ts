/**
 * Peak memory of the inference process for one 12-megapixel photo (issue 3: under 1.5 GB).
 * StyleService runs in a child process (inference/src/main.ts, platform defaults unless the
 * environment overrides them) so that only the server is measured; this script registers a
 * starter-sized network in a temporary registry, sends a 4000x3000 JPEG through Stylize, and
 * reads the child's peak resident set (VmHWM in /proc/<pid>/status) before and after.
 *
 *   node --import tsx inference/bench/rss12mp.ts [--width 4000] [--height 3000]
 */
import { connect, header, photoJpeg, registerTinyStyle, stylize } from '@nst/test-kit';
import { spawn } from 'node:child_process';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { OutputFormat } from '@nst/proto';
import { ModelRegistry } from '@nst/runtime';
import { loadStyleConfig } from '../src/config';
import { initNetworkBackend, STARTER_CONFIG } from '@nst/style-network';

const LIMIT_BYTES = 1.5e9;
const mainScript = fileURLToPath(new URL('../src/main.ts', import.meta.url));

async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
  return kb * 1024;
}

export interface RssResult {
  width: number;
  height: number;
  idlePeakBytes: number;
  peakBytes: number;
  underLimit: boolean;
  tilesDone: number;
  ms: number;
}

export async function measureRss12mp(width = 4000, height = 3000, log: (line: string) => void = console.log): Promise<RssResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nst-rss12mp-'));
  const env = { ...process.env, NST_DATA_DIR: dir, NST_STARTER_DIR: join(dir, 'no-starters'), NST_STYLE_ADDR: '127.0.0.1:0', NST_LOG_LEVEL: 'info' };
  const config = loadStyleConfig(env);
  await initNetworkBackend();
  const registry = await ModelRegistry.open(config.registryDir);
  // A starter-sized network with random weights: serving cost does not depend on training.
  await registerTinyStyle(registry, 'rss', [3], { network: STARTER_CONFIG });
  const photo = await photoJpeg(width, height, 92);

  const child = spawn(process.execPath, ['--import', 'tsx', mainScript], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`StyleService exited with ${code} before listening`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        const port = (JSON.parse(line) as { port?: number; message?: string }).port;
        if (typeof port === 'number' && port > 0) resolve(port);
      });
    });
    const pid = child.pid as number;
    const idlePeakBytes = await peakRss(pid);
    const client = connect(port);
    const started = performance.now();
    const outcome = await stylize(client, header('rss', { format: OutputFormat.OUTPUT_FORMAT_JPEG }), photo);
    const ms = performance.now() - started;
    client.close();
    if (!outcome.summary) throw new Error(`stylize failed: ${outcome.error?.details}`);
    const peakBytes = await peakRss(pid);
    const tilesDone = outcome.messages.filter((m) => m.kind?.$case === 'progress').length;
    const result = { width, height, idlePeakBytes, peakBytes, underLimit: peakBytes < LIMIT_BYTES, tilesDone, ms };
    const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
    log(
      `12 MP RSS: ${width}x${height} JPEG (${(photo.length / 1e6).toFixed(1)} MB) in ${tilesDone} tiles, ${(ms / 1000).toFixed(1)} s; ` +
        `server peak RSS ${mb(peakBytes)} (idle ${mb(idlePeakBytes)}); limit ${mb(LIMIT_BYTES)}: ${result.underLimit ? 'under' : 'OVER'}`,
    );
    return result;
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { width: { type: 'string' }, height: { type: 'string' } } });
  const result = await measureRss12mp(Number(values.width ?? 4000), Number(values.height ?? 3000));
  process.exitCode = result.underLimit ? 0 : 1;
}
