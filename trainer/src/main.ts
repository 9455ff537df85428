/**
 * TrainerService's process, run by `npm start` and by its container image alike:
 *
 *   node --import tsx --import @nst/runtime/telemetry/register trainer/src/main.ts
 *
 * It owns the model registry (seeded from the starter styles when they are there), the jobs and
 * the kept photos. SIGINT or SIGTERM checkpoints a running job and stops.
 */
import { runServiceProcess } from '@nst/runtime';
// The service entry only: the package root would load TF.js into this thread too.
import { startTrainerServer } from './service/index';

await runServiceProcess({
  key: 'trainer',
  title: 'TrainerService',
  metricsPort: (config) => config.trainerMetricsPort,
  start: (config, logger) => startTrainerServer(config, { logger }),
});
