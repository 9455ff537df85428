/**
 * `npm start`: every service of the platform on one machine, on embedded defaults.
 *
 * This process prepares the data folder (the admin token, the registry seeded from the
 * starter styles), then starts each service as its own child process (`start.ts --service
 * <key>`), so they talk to each other over gRPC exactly as in the mesh and a crash or a long
 * training step in one cannot stall another. It waits for each to answer grpc.health.v1
 * SERVING, prints where everything is, and on Ctrl-C (SIGINT) or SIGTERM stops them in reverse
 * order: each stops accepting calls, drains or checkpoints what is in flight, and closes its
 * stores. It exits 0 when every service stopped cleanly.
 *
 * Every setting is an environment variable (see the README); NST_DATA_DIR (default `.data`)
 * holds all state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  countingFeedbackSink,
  createLogger,
  loadConfig,
  ModelRegistry,
  openFeedbackStore,
  openStylizeEventStore,
  resolveAdminToken,
  platformMetrics,
  shutdownTelemetry,
  startMetricsServer,
  waitForServing,
  type Config,
  type Logger,
} from '@nst/runtime';

/** A running service, as far as this script cares: something to close. */
interface Stoppable {
  close(): Promise<void>;
}

interface ServiceEntry {
  /** The value of --service. */
  key: string;
  title: string;
  /** Where it listens (host:port). */
  address(config: Config): string;
  /** Starts it in this process (the child side). */
  start(config: Config, logger: Logger): Promise<Stoppable>;
  /** Resolves once it serves; default: grpc.health.v1 SERVING at `address` (an HTTP service passes its own). */
  ready?(config: Config): Promise<void>;
}

/** The services, in start order (stopped in reverse). */
const SERVICES: ServiceEntry[] = [
  { key: 'style', title: 'StyleService', address: (c) => c.styleAddr, start: startStyleService },
  { key: 'trainer', title: 'TrainerService', address: (c) => c.trainerAddr, start: startTrainerService },
  { key: 'release', title: 'ReleaseService', address: (c) => c.releaseAddr, start: startReleaseService },
  { key: 'gateway', title: 'Web app', address: (c) => `http://${c.gatewayHost}:${c.gatewayPort}/`, start: async (config, logger) => (await import('@nst/gateway')).startGateway({ config, logger }), ready: async (config) => (await import('@nst/gateway')).waitForGateway(config) },
];

async function startStyleService(config: Config, logger: Logger): Promise<Stoppable> {
  const { startStyleServer } = await import('@nst/inference');
  const registry = await ModelRegistry.open(config.registryDir);
  // StyleService is the one writer of the feedback store; the trainer reads it.
  const feedbackStore = await openFeedbackStore(config);
  // Likewise of the serving events; ReleaseService's analysis reads them.
  const events = await openStylizeEventStore(config);
  // Ratings are counted for Prometheus as they become durable.
  const server = await startStyleServer({ config, registry, feedbackStore: countingFeedbackSink(feedbackStore), events, logger });
  return {
    close: async () => {
      await server.close();
      await feedbackStore.close();
      await events.close();
    },
  };
}

async function startReleaseService(config: Config, logger: Logger): Promise<Stoppable> {
  const { startReleaseServer } = await import('@nst/mesh');
  return startReleaseServer(config, { logger });
}

async function startTrainerService(config: Config, logger: Logger): Promise<Stoppable> {
  // The service entry only: the package root would load TF.js into this thread too.
  const { startTrainerServer } = await import('@nst/trainer/service');
  return startTrainerServer(config, { logger });
}

const SCRIPT = fileURLToPath(import.meta.url);

/** Each gRPC service's metrics port setting (0 serves none). */
const METRICS_PORTS: Record<string, (config: Config) => number> = {
  style: (c) => c.styleMetricsPort,
  trainer: (c) => c.trainerMetricsPort,
  release: (c) => c.releaseMetricsPort,
};

// ---- child: one service ----

async function runService(key: string): Promise<void> {
  const entry = SERVICES.find((s) => s.key === key);
  if (!entry) throw new Error(`unknown service "${key}"; services: ${SERVICES.map((s) => s.key).join(', ')}`);
  const config = loadConfig();
  const logger = createLogger(entry.key);
  const service = await entry.start(config, logger);
  // gRPC services serve Prometheus /metrics over plain HTTP on a port of their own; the gateway on its HTTP port.
  const metricsPort = METRICS_PORTS[entry.key]?.(config) ?? 0;
  const metrics = metricsPort > 0 ? await startMetricsServer(platformMetrics().registry, { port: metricsPort }) : undefined;
  if (metrics) logger.info({ port: metrics.port }, `${entry.title} metrics at http://0.0.0.0:${metrics.port}/metrics`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${entry.title} stopping`);
    Promise.all([service.close(), metrics?.close()]).then(
      // Spans still buffered are exported before the process goes.
      () => shutdownTelemetry().then(() => process.exit(0)),
      (error: unknown) => {
        logger.error({ err: error }, `${entry.title} did not stop cleanly`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

// ---- parent: prepare, start all, report, stop all ----

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

async function runAll(): Promise<void> {
  const config = loadConfig();
  const out = (line = ''): void => void process.stdout.write(`${line}\n`);
  await mkdir(config.dataDir, { recursive: true });
  const token = await resolveAdminToken(config.adminToken, config.dataDir);

  let seedNote: string;
  if (await exists(config.starterDir)) {
    const registry = await ModelRegistry.open(config.registryDir, { seedFrom: config.starterDir });
    const styles = await registry.listStyles();
    seedNote = styles.length
      ? `${styles.length} styles: ${styles.map((s) => `${s.id} (v${s.versions.at(-1) ?? '-'})`).join(', ')}`
      : `no styles yet (${config.starterDir} holds none): train one with \`nst train <painting> --name <id>\``;
  } else {
    const registry = await ModelRegistry.open(config.registryDir);
    const styles = await registry.listStyles();
    seedNote = `${styles.length} styles; the starter styles folder ${config.starterDir} does not exist yet, so nothing was seeded` +
      (styles.length === 0 ? ': train one with `nst train <painting> --name <id>`' : '');
  }

  // Children get the resolved data folder, so a relative NST_DATA_DIR cannot diverge.
  const env = { ...process.env, NST_DATA_DIR: config.dataDir };
  const children: { entry: ServiceEntry; child: ChildProcess }[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (exitCode: number): Promise<void> => {
    stopping ??= (async () => {
      let code = exitCode;
      for (const { entry, child } of [...children].reverse()) {
        if (child.exitCode === null) child.kill('SIGTERM');
        const status = await waitForExit(child, 30_000);
        if (status !== 0) {
          process.stderr.write(`${entry.title} exited with status ${status}\n`);
          code = 1;
        }
      }
      process.exit(code);
    })();
    return stopping;
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  for (const entry of SERVICES) {
    // The telemetry entry point loads before the service, so grpc-js and http are traced (runtime/README.md).
    const childEnv = {
      ...env,
      OTEL_SERVICE_NAME: process.env['OTEL_SERVICE_NAME'] ?? `nst-${entry.key}`,
      // glibc gives each thread that allocates its own heap arena, and the ONNX Runtime and
      // libvips worker threads each keep theirs: measured under the load script, 2 arenas cut
      // StyleService's peak memory by a fifth (1648 -> 1308 MiB) at the same throughput.
      MALLOC_ARENA_MAX: process.env['MALLOC_ARENA_MAX'] ?? '2',
    };
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', '@nst/runtime/telemetry/register', SCRIPT, '--service', entry.key], {
      env: childEnv,
      stdio: 'inherit',
    });
    children.push({ entry, child });
    child.once('exit', (code, signal) => {
      if (stopping) return;
      process.stderr.write(`${entry.title} stopped unexpectedly (${signal ?? `status ${code}`}); stopping the others\n`);
      void stopAll(1);
    });
    try {
      await (entry.ready ? entry.ready(config) : waitForServing(entry.address(config), { timeoutMs: 120_000 }));
    } catch (error) {
      process.stderr.write(`npm start: ${entry.title} did not come up: ${error instanceof Error ? error.message : String(error)}\n`);
      await stopAll(1);
    }
  }

  const [style, trainer] = [config.styleAddr, config.trainerAddr];
  out();
  out('The neural style transfer platform is running:');
  for (const entry of SERVICES) out(`  ${entry.title.padEnd(16)} ${entry.address(config)}${entry.ready ? '' : '  (gRPC, health and reflection)'}`);
  out(`  data folder      ${config.dataDir}`);
  out(`  registry         ${seedNote}`);
  out(`  admin token      ${token.file ? `${token.file}${token.generated ? ' (generated now)' : ''}` : 'NST_ADMIN_TOKEN'}`);
  out();
  out('Try:');
  out(`  grpcurl -plaintext ${style} nst.v1.StyleService/ListStyles`);
  out(`  npx buf curl --protocol grpc --http2-prior-knowledge http://${trainer}/nst.v1.TrainerService/ListJobs`);
  out('  npx nst styles        npx nst stylize photo.jpg --style <id> -o out/');
  out();
  out('Press Ctrl-C to stop.');
}

const serviceFlag = process.argv.indexOf('--service');
const main = serviceFlag >= 0 ? runService(process.argv[serviceFlag + 1] ?? '') : runAll();
main.catch((error: unknown) => {
  process.stderr.write(`npm start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
