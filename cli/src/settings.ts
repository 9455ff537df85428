/** The CLI reads the same settings as the services, so one environment configures both. */
// The config module alone, not @nst/runtime's index: that loads pino, OpenTelemetry, the
// Elasticsearch client and prom-client (~0.9 s), none of which the CLI uses.
import { loadConfig } from '@nst/runtime/config';

export interface CliSettings {
  styleAddress: string;
  trainerAddress: string;
  releaseAddress: string;
  dataDir: string;
  adminToken: string | undefined;
}

export function loadCliSettings(env: NodeJS.ProcessEnv = process.env): CliSettings {
  const config = loadConfig(env);
  return {
    styleAddress: config.styleAddr,
    trainerAddress: config.trainerAddr,
    releaseAddress: config.releaseAddr,
    dataDir: config.dataDir,
    adminToken: config.adminToken,
  };
}
