/**
 * ReleaseService's process, run by `npm start` and by its container image alike:
 *
 *   node --import tsx --import @nst/runtime/telemetry/register mesh/src/main.ts
 *
 * It owns the rollouts and their decisions (NST_RELEASES_DIR) and streams the routing state to
 * StyleService.
 */
import { runServiceProcess } from '@nst/runtime';
import { loadReleaseConfig } from './config';
import { startReleaseServer } from './service/release-server';

await runServiceProcess({
  key: 'release',
  title: 'ReleaseService',
  loadConfig: () => loadReleaseConfig(),
  metricsPort: (config) => config.releaseMetricsPort,
  start: (config, logger) => startReleaseServer(config, { logger }),
});
