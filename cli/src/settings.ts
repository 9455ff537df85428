/** The CLI reads the same settings as the services, so one environment configures both. */
import { loadConfig } from '@nst/runtime';

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
