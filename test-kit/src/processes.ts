/**
 * The services as their own processes, each running its own entry point (`<package>/src/main.ts`,
 * what `npm start` and the images run) on a free port in a data folder the test names: the
 * targets of the fault tests, the fuzzer, the load script and the restart tests. A crash is an
 * exit seen here, and resident memory is the service's alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HealthClient, waitForServing } from '@nst/runtime/grpc/health';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The gRPC services by the key `npm start` knows them by: entry point and the settings that place them. */
export const SERVICES = {
  style: { main: join(REPO_ROOT, 'inference/src/main.ts'), addressEnv: 'NST_STYLE_ADDR', metricsEnv: 'NST_STYLE_METRICS_PORT', title: 'StyleService' },
  trainer: { main: join(REPO_ROOT, 'trainer/src/main.ts'), addressEnv: 'NST_TRAINER_ADDR', metricsEnv: 'NST_TRAINER_METRICS_PORT', title: 'TrainerService' },
  release: { main: join(REPO_ROOT, 'mesh/src/main.ts'), addressEnv: 'NST_RELEASE_ADDR', metricsEnv: 'NST_RELEASE_METRICS_PORT', title: 'ReleaseService' },
} as const;
export type ServiceKey = keyof typeof SERVICES;

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

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  key: ServiceKey;
  address: string;
  process: ChildProcess;
  dataDir: string;
  /** Set once the process has exited (a crash, unless close() or kill() stopped it). */
  exited(): ProcessExit | undefined;
  /** Lines it logged at error or fatal level. */
  errorLines: string[];
  /** Resident memory, bytes (0 once exited). */
  rss(): number;
  /** Sends `signal` and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<ProcessExit>;
  /** Stops it with SIGTERM (an orderly stop) unless it has exited. */
  close(): Promise<void>;
}

export interface SpawnServiceOptions {
  /** Its data folder (NST_DATA_DIR). */
  dataDir: string;
  /** host:port to listen on; default a free port. */
  address?: string;
  /** NST_* settings over quiet, test-sized defaults. */
  env?: Record<string, string>;
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

/** Starts `key`'s entry point and resolves once it answers grpc.health.v1 SERVING. */
export async function spawnService(key: ServiceKey, options: SpawnServiceOptions): Promise<ServiceProcess> {
  const service = SERVICES[key];
  const address = options.address ?? `127.0.0.1:${await freePort()}`;
  const child = spawn(process.execPath, ['--import', 'tsx', service.main], {
    cwd: REPO_ROOT,
    env: {
      // MALLOC_ARENA_MAX as `npm start` and the images set it (scripts/start.ts).
      MALLOC_ARENA_MAX: '2',
      ...process.env,
      NST_DATA_DIR: options.dataDir,
      NST_LOG_LEVEL: 'warn',
      NST_LOG_FORMAT: 'json',
      [service.addressEnv]: address,
      [service.metricsEnv]: '0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exit: ProcessExit | undefined;
  const exited = new Promise<ProcessExit>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    }),
  );
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
  const died = exited.then((how) => {
    throw new Error(`${service.title} exited (${how.code ?? how.signal}) before it was ready; stderr: ${stderr}`);
  });
  died.catch(() => undefined);
  const timeoutMs = options.startTimeoutMs ?? 180_000;
  const started = options.until === 'listening' ? waitForHealthAnswer(address, timeoutMs) : waitForServing(address, { timeoutMs });
  await Promise.race([started, died]);
  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<ProcessExit> => {
    if (exit === undefined) child.kill(signal);
    return exited;
  };
  return {
    key,
    address,
    process: child,
    dataDir: options.dataDir,
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
    kill,
    close: async () => void (await kill('SIGTERM')),
  };
}

export interface SpawnStyleOptions {
  /** An existing data folder (kept on close); default a new temporary one (removed on close). */
  dataDir?: string;
  /** host:port to listen on; default a free port. */
  address?: string;
  startTimeoutMs?: number;
  /** What "started" means for StyleService (see SpawnServiceOptions). */
  until?: 'serving' | 'listening';
}

/**
 * StyleService with NST_* settings from `env` (over quiet, test-sized defaults), and the
 * TrainerService it fetches styles and models from (which seeds its registry with the starter
 * styles) unless `env` names one in NST_TRAINER_ADDR; that one stops when StyleService exits.
 * No ReleaseService: it routes every call to each style's latest version.
 */
export async function spawnStyleService(env: Record<string, string> = {}, options: SpawnStyleOptions = {}): Promise<ServiceProcess> {
  const startTimeoutMs = options.startTimeoutMs ?? 180_000;
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'nst-style-process-')));
  const trainer = env['NST_TRAINER_ADDR'] ? undefined : await spawnService('trainer', { dataDir, startTimeoutMs, env: { NST_FINETUNE_POLL_SECONDS: '86400' } });
  const style = await spawnService('style', {
    dataDir,
    startTimeoutMs,
    ...(options.address ? { address: options.address } : {}),
    ...(options.until ? { until: options.until } : {}),
    env: { NST_RELEASE_ADDR: '127.0.0.1:1', ...(trainer ? { NST_TRAINER_ADDR: trainer.address } : {}), ...env },
  }).catch(async (error: unknown) => {
    await trainer?.close();
    throw error;
  });
  style.process.once('exit', () => void trainer?.close());
  return {
    ...style,
    close: async () => {
      await style.close();
      await trainer?.close();
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
