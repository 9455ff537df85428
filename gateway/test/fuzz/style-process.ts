/**
 * StyleService as its own process (inference/src/main.ts) on a free port, in a temporary data
 * folder, with the TrainerService it fetches styles and models from (trainer/src/main.ts, which
 * seeds its registry with the starter styles) beside it: the fuzzer's and the load script's
 * target. A crash is an exit seen here, and resident memory is StyleService's alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { HealthClient, waitForServing } from '@nst/runtime';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const STYLE_MAIN = join(REPO_ROOT, 'inference/src/main.ts');
const TRAINER_MAIN = join(REPO_ROOT, 'trainer/src/main.ts');

export interface StyleProcess {
  address: string;
  process: ChildProcess;
  dataDir: string;
  /** Set once the process has exited (a crash, unless close() stopped it). */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Lines it logged at error or fatal level. */
  errorLines: string[];
  /** Resident memory, bytes (0 once exited). */
  rss(): number;
  close(): Promise<void>;
}

/** A port free right now (the server binds it a moment later; a clash fails loudly at start). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface SpawnOptions {
  /** An existing data folder (kept on close); default a new temporary one (removed on close). */
  dataDir?: string;
  /** host:port to listen on; default a free port. */
  address?: string;
  startTimeoutMs?: number;
  /**
   * What "started" means: `serving` (default) waits for health SERVING; `listening` only for
   * a health answer of any kind (a service waiting for its stores says NOT_SERVING).
   */
  until?: 'serving' | 'listening';
}

/** Resolves once the server at `address` answers grpc.health.v1 Check, whatever it says. */
async function waitForHealthAnswer(address: string, timeoutMs: number): Promise<void> {
  const client = new HealthClient(address);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const answered = await client.check('', 1000).then(
        () => true,
        () => false,
      );
      if (answered) return;
      if (Date.now() > deadline) throw new Error(`${address} gave no health answer within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.close();
  }
}

/** TrainerService on `dataDir` (its registry, seeded with the starter styles) at a free port; stopped with `stop`. */
async function spawnTrainerService(dataDir: string, timeoutMs: number): Promise<{ address: string; stop: () => void }> {
  const address = `127.0.0.1:${await freePort()}`;
  const child = spawn(process.execPath, ['--import', 'tsx', TRAINER_MAIN], {
    cwd: REPO_ROOT,
    env: { ...process.env, NST_DATA_DIR: dataDir, NST_TRAINER_ADDR: address, NST_TRAINER_METRICS_PORT: '0', NST_LOG_LEVEL: 'warn', NST_FINETUNE_POLL_SECONDS: '86400' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForServing(address, { timeoutMs });
  return { address, stop: () => void child.kill('SIGTERM') };
}

/**
 * Starts StyleService with NST_* settings from `env` (over quiet, test-sized defaults), and a
 * TrainerService for it unless `env` names one in NST_TRAINER_ADDR; that one stops when
 * StyleService exits.
 */
export async function spawnStyleService(env: Record<string, string> = {}, options: SpawnOptions = {}): Promise<StyleProcess> {
  const startTimeoutMs = options.startTimeoutMs ?? 180_000;
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'nst-style-process-')));
  const address = options.address ?? `127.0.0.1:${await freePort()}`;
  const trainer = env['NST_TRAINER_ADDR'] ? undefined : await spawnTrainerService(dataDir, startTimeoutMs);
  const child = spawn(process.execPath, ['--import', 'tsx', STYLE_MAIN], {
    cwd: REPO_ROOT,
    // MALLOC_ARENA_MAX as `npm start` and the image set it (scripts/start.ts, inference/src/main.ts).
    env: { MALLOC_ARENA_MAX: '2', ...process.env, NST_DATA_DIR: dataDir, NST_STYLE_ADDR: address, NST_LOG_LEVEL: 'warn', NST_STYLE_METRICS_PORT: '0', NST_RELEASE_ADDR: '127.0.0.1:1', ...(trainer ? { NST_TRAINER_ADDR: trainer.address } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    trainer?.stop();
  });
  const errorLines: string[] = [];
  let stderr = '';
  let partial = '';
  // Every line is read: a full pipe would block the server and look like a hang.
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('"log.level":"error"') || line.includes('"log.level":"fatal"')) errorLines.push(line);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-20_000)));
  // Ready means grpc.health.v1 SERVING, whatever the log level.
  const died = new Promise<never>((_resolve, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`StyleService exited (${code ?? signal}) before it was ready; stderr: ${stderr}`))),
  );
  died.catch(() => undefined);
  const started = options.until === 'listening' ? waitForHealthAnswer(address, startTimeoutMs) : waitForServing(address, { timeoutMs: startTimeoutMs });
  await Promise.race([started, died]);
  return {
    address,
    process: child,
    dataDir,
    errorLines,
    exited: () => exit,
    rss: () => {
      try {
        const match = readFileSync(`/proc/${child.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
        return Number(match?.[1] ?? 0) * 1024;
      } catch {
        return 0;
      }
    },
    close: async () => {
      if (exit === undefined) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
