/**
 * TrainerService's process, run by `npm start` and by its container image alike:
 *
 *   node --import tsx --import @nst/runtime/telemetry/register trainer/src/main.ts
 *
 * It owns the model registry (seeded from the starter styles when they are there), the jobs and
 * the kept photos. SIGINT or SIGTERM checkpoints a running job and stops.
 */
import { existsSync } from 'node:fs';
import { ModelRegistry, runServiceProcess } from '@nst/runtime';
// The service entry only: the package root would load TF.js into this thread too.
import { startTrainerServer } from './service/index';
import { loadTrainerConfig } from './config';

await runServiceProcess({
  key: 'trainer',
  title: 'TrainerService',
  loadConfig: () => loadTrainerConfig(),
  metricsPort: (config) => config.trainerMetricsPort,
  start: async (config, logger) => {
    // The registry's owner seeds it: starter versions it lacks are registered (and canaried by
    // ReleaseService) as they appear in a newer release.
    const registry = await ModelRegistry.open(config.registryDir, existsSync(config.starterDir) ? { seedFrom: config.starterDir } : {});
    return startTrainerServer(config, { logger, registry });
  },
});
