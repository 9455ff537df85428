/**
 * Every setting of the platform, group by group, as `npm start` reads them (all checked before
 * any service starts, so one message names every bad variable) and as runtime/README.md
 * documents them (scripts/config-docs.ts). Each service's group comes from its package's
 * config.ts; importing those loads zod and nothing of the services.
 */
import { GATEWAY_SETTINGS } from '@nst/gateway/config';
import { STYLE_SETTINGS } from '@nst/inference/config';
import { RELEASE_SETTINGS } from '@nst/mesh/config';
import { CORE_SETTINGS, settingsLoader, STORE_SETTINGS } from '@nst/runtime/config';
import { TRAINER_SETTINGS } from '@nst/trainer/config';

export const PLATFORM_SETTINGS = [CORE_SETTINGS, STORE_SETTINGS, STYLE_SETTINGS, TRAINER_SETTINGS, RELEASE_SETTINGS, GATEWAY_SETTINGS] as const;

/** Reads and validates every setting of every service. */
export const loadPlatformConfig = settingsLoader(PLATFORM_SETTINGS);

export type PlatformConfig = ReturnType<typeof loadPlatformConfig>;
