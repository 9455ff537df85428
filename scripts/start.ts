/**
 * `npm start`: every service of the platform on one machine, on embedded defaults.
 *
 * This process checks that the ports are free, prepares the data folder (the admin token, the
 * registry seeded from the starter styles), then starts each service as its own child process
 * running that service's own entry point (`<package>/src/main.ts`, what its container image
 * runs too), so they talk to each other over gRPC exactly as in the mesh and a crash or a long
 * training step in one cannot stall another. It waits for each to answer
 * grpc.health.v1 SERVING and prints where everything is, last. Each service's output goes to
 * this terminal and to `<NST_DATA_DIR>/logs/<service>.log`.
 *
 * A service that crashes is restarted after 0.5 s, 1 s, 2 s... (one line each); the sixth crash
 * within a minute stops the platform with a sentence naming the service and its log
 * (runtime/src/supervisor). On Ctrl-C (SIGINT) or SIGTERM it stops them in reverse order: each
 * stops accepting calls, drains or checkpoints what is in flight, and closes its stores; a
 * second Ctrl-C kills them. It exits 0 when every service stopped cleanly.
 *
 * Every setting is an environment variable (see the README); NST_DATA_DIR (default `.data`)
 * holds all state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, writeSync } from 'node:fs';
import { access, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { resolveAdminToken } from '@nst/runtime/admin-token';
import { loadPlatformConfig, type PlatformConfig } from './platform-settings';
import { waitForServing } from '@nst/runtime/grpc/health';
import { ModelRegistry } from '@nst/runtime/registry';
import { addressInUsePort, checkPorts, describeExit, formatSeconds, portProblemMessage, Supervisor, type PortClaim, type PortProblem, type SupervisedService } from '@nst/runtime/supervisor';

interface ServiceEntry {
  /** The service's key: its log file and OTEL_SERVICE_NAME (`nst-<key>`). */
  key: string;
  title: string;
  /** Its entry point (runtime's runServiceProcess, in its own package). */
  main: string;
  /** Where it listens (host:port). */
  address(config: PlatformConfig): string;
  /** Resolves once it serves; default: grpc.health.v1 SERVING at `address` (an HTTP service passes its own). */
  ready?(config: PlatformConfig): Promise<void>;
}

const entryPoint = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url));

/** The services, in start order (stopped in reverse). */
const SERVICES: ServiceEntry[] = [
  // TrainerService owns the registry the others follow, so it comes first; each follower would
  // also catch up on its own (their streams reconnect), but the first calls would find no styles.
  { key: 'trainer', title: 'TrainerService', main: entryPoint('trainer/src/main.ts'), address: (c) => c.trainerAddr },
  { key: 'release', title: 'ReleaseService', main: entryPoint('mesh/src/main.ts'), address: (c) => c.releaseAddr },
  { key: 'style', title: 'StyleService', main: entryPoint('inference/src/main.ts'), address: (c) => c.styleAddr },
  {
    key: 'gateway',
    title: 'Web app',
    main: entryPoint('gateway/src/main.ts'),
    address: (c) => `http://${c.gatewayHost}:${c.gatewayPort}/`,
    ready: async (config) => (await import('@nst/gateway')).waitForGateway(config),
  },
];

// ---- parent: prepare, check ports, start and supervise all, report, stop all ----

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Every port the services will listen on, with the setting that moves it. */
function portClaims(config: PlatformConfig): PortClaim[] {
  const grpc = (what: string, env: string, address: string): PortClaim => {
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon);
    return { what, host, port: Number(address.slice(colon + 1)), env, withPort: (port) => `${host}:${port}` };
  };
  const metrics = (what: string, env: string, port: number): PortClaim => ({ what: `${what} metrics`, host: '0.0.0.0', port, env });
  return [
    grpc('StyleService', 'NST_STYLE_ADDR', config.styleAddr),
    grpc('TrainerService', 'NST_TRAINER_ADDR', config.trainerAddr),
    grpc('ReleaseService', 'NST_RELEASE_ADDR', config.releaseAddr),
    { what: 'web app', host: config.gatewayHost, port: config.gatewayPort, env: 'NST_GATEWAY_PORT', hostEnv: 'NST_GATEWAY_HOST' },
    metrics('StyleService', 'NST_STYLE_METRICS_PORT', config.styleMetricsPort),
    metrics('TrainerService', 'NST_TRAINER_METRICS_PORT', config.trainerMetricsPort),
    metrics('ReleaseService', 'NST_RELEASE_METRICS_PORT', config.releaseMetricsPort),
  ];
}

// Colour codes, kept out of the log files.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/**
 * Where a service's output goes: this terminal (its stdout to stdout, stderr to stderr) and its
 * log file, line by line, each line also offered to `onLine`.
 */
function pipeOutput(child: ChildProcess, logFd: number, onLine: (line: string) => void): void {
  for (const [stream, target] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    if (!stream) continue;
    // readline splits on line ends and hands over a last line without one when the stream ends.
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      target.write(`${line}\n`);
      writeSync(logFd, `${line.replace(ANSI, '')}\n`);
      onLine(line);
    });
  }
}

/** Opens `<dir>/<key>.log` for appending, keeping the previous run's as `<key>.log.1`. */
async function openLogFile(dir: string, key: string): Promise<{ path: string; fd: number }> {
  const path = join(dir, `${key}.log`);
  await rename(path, `${path}.1`).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  });
  return { path, fd: openSync(path, 'a') };
}

async function runAll(): Promise<void> {
  // Every service's settings, checked before any starts: one message names every bad variable.
  const config = loadPlatformConfig();
  const out = (line = ''): void => void process.stdout.write(`${line}\n`);
  const fail = (sentence: string): never => {
    process.stderr.write(`npm start: ${sentence}\n`);
    process.exit(1);
  };

  // Before anything starts: a port another program holds is one sentence, not a stack trace.
  const claims = portClaims(config);
  const problems = await checkPorts(claims);
  if (problems.length > 0) {
    for (const problem of problems.slice(0, -1)) process.stderr.write(`npm start: ${problem.message}\n`);
    fail((problems.at(-1) as PortProblem).message);
  }

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

  // Each service's output also goes to <data>/logs/<key>.log, what a failure message points at.
  const logDir = join(config.dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const logs = new Map<string, { path: string; fd: number }>();
  for (const entry of SERVICES) logs.set(entry.key, await openLogFile(logDir, entry.key));
  const logOf = (key: string): string => logs.get(key)?.path ?? logDir;

  // The services write to pipes, not this terminal, so they are told the format chosen for it
  // (pretty on a terminal unless NST_LOG_FORMAT says otherwise), and told to keep colour.
  const colour = process.stdout.isTTY === true && config.logFormat === 'pretty' && !('NO_COLOR' in process.env) && !('FORCE_COLOR' in process.env);
  // Children get the resolved data folder, so a relative NST_DATA_DIR cannot diverge.
  const env = { ...process.env, NST_DATA_DIR: config.dataDir, NST_LOG_FORMAT: config.logFormat, ...(colour ? { FORCE_COLOR: '1' } : {}) };
  /** A port a service said was in use (a race the check above cannot see), by service key. */
  const addressInUse = new Map<string, number>();
  let lastOutputAt = Date.now();

  const supervised: SupervisedService[] = SERVICES.map((entry) => ({
    key: entry.key,
    title: entry.title,
    spawn: () => {
      // The telemetry entry point loads before the service, so grpc-js and http are traced (runtime/README.md).
      const childEnv = {
        ...env,
        OTEL_SERVICE_NAME: process.env['OTEL_SERVICE_NAME'] ?? `nst-${entry.key}`,
        // glibc gives each thread that allocates its own heap arena, and the ONNX Runtime and
        // libvips worker threads each keep theirs: measured under the load script, 2 arenas cut
        // StyleService's peak memory by a fifth (1648 -> 1308 MiB) at the same throughput.
        MALLOC_ARENA_MAX: process.env['MALLOC_ARENA_MAX'] ?? '2',
      };
      const child = spawn(process.execPath, ['--import', 'tsx', '--import', '@nst/runtime/telemetry/register', entry.main], {
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      pipeOutput(child, (logs.get(entry.key) as { fd: number }).fd, (line) => {
        lastOutputAt = Date.now();
        const port = addressInUsePort(line);
        if (port !== undefined) addressInUse.set(entry.key, port);
      });
      return child;
    },
    ready: () => (entry.ready ? entry.ready(config) : waitForServing(entry.address(config), { timeoutMs: 120_000 })),
  }));
  const supervisor = new Supervisor(supervised);

  // Ctrl-C or SIGTERM: an orderly stop; a second one kills what is still running.
  let signalled = false;
  const onSignal = (): void => {
    if (signalled) {
      process.stderr.write('npm start: stopping the services now (SIGKILL)\n');
      void supervisor.stop({ force: true });
      return;
    }
    signalled = true;
    void supervisor.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  if (await supervisor.start()) {
    // The summary comes last: wait until the services' start-up lines have come through.
    const settleFrom = Date.now();
    while (Date.now() - lastOutputAt < 300 && Date.now() - settleFrom < 3000) await new Promise((resolve) => setTimeout(resolve, 50));
    const style = config.styleAddr;
    out();
    out('The neural style transfer platform is running:');
    for (const entry of SERVICES) out(`  ${entry.title.padEnd(16)} ${entry.address(config)}${entry.ready ? '' : '  (gRPC, health and reflection)'}`);
    out(`  data folder      ${config.dataDir}`);
    out(`  registry         ${seedNote}`);
    out(`  admin token      ${token.file ? `${token.file}${token.generated ? ' (generated now)' : ''}` : 'NST_ADMIN_TOKEN'}`);
    out(`  logs             ${join(logDir, '<service>.log')}`);
    out();
    out('Try:');
    out(`  npx buf curl --protocol grpc --http2-prior-knowledge http://${style}/nst.v1.StyleService/ListStyles`);
    out(`  grpcurl -plaintext ${style} nst.v1.StyleService/ListStyles   (the same, if grpcurl is installed)`);
    out('  npx nst styles        npx nst stylize photo.jpg --style <id> -o out/');
    out();
    out('Press Ctrl-C to stop.');
  }

  const outcome = await supervisor.done;
  for (const { service, exit } of outcome.unclean) {
    process.stderr.write(`npm start: ${service.title} did not stop cleanly (${describeExit(exit)}); its log is ${logOf(service.key)}\n`);
  }
  if (outcome.reason === 'gave-up') {
    fail(
      `${outcome.service.title} crashed ${outcome.crashes} times within ${formatSeconds(outcome.windowMs)} (last: ${describeExit(outcome.last)}), ` +
        `so the platform was stopped; its log is ${logOf(outcome.service.key)}`,
    );
  }
  if (outcome.reason === 'start-failed') {
    const port = addressInUse.get(outcome.service.key);
    const claim = claims.find((c) => c.port === port);
    if (claim) fail(portProblemMessage(claim, 'EADDRINUSE'));
    const why = outcome.exit
      ? `stopped during start-up (${describeExit(outcome.exit)})`
      : `did not come up: ${outcome.error instanceof Error ? outcome.error.message : String(outcome.error)}`;
    fail(`${outcome.service.title} ${why}; its log is ${logOf(outcome.service.key)}`);
  }
  process.exit(outcome.unclean.length > 0 ? 1 : 0);
}

runAll().catch((error: unknown) => {
  process.stderr.write(`npm start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
