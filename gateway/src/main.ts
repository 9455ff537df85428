/**
 * The web app and gRPC-Web gateway's process, run by `npm start` and by its container image:
 *
 *   node --import tsx --import @nst/runtime/telemetry/register gateway/src/main.ts
 *
 * Its Prometheus metrics are on its own HTTP port (/metrics).
 */
import { runServiceProcess } from '@nst/runtime';
import { loadGatewayConfig } from './config';
import { startGateway } from './gateway';

await runServiceProcess({
  key: 'gateway',
  title: 'Web app',
  loadConfig: () => loadGatewayConfig(),
  metricsPort: () => 0,
  start: (config, logger) => startGateway({ config, logger }),
});
