/**
 * Every service's settings at once, for the tests that start several services in one process
 * and for the settings docs test. (`npm start` reads the same groups: scripts/platform-settings.ts;
 * settings-docs.test.ts holds both lists to runtime/README.md.)
 */
import { GATEWAY_SETTINGS } from '@nst/gateway/config';
import { STYLE_SETTINGS } from '@nst/inference/config';
import { RELEASE_SETTINGS } from '@nst/mesh/config';
import { CORE_SETTINGS, settingsLoader, STORE_SETTINGS } from '@nst/runtime/config';
import { TRAINER_SETTINGS } from '@nst/trainer/config';

export const PLATFORM_SETTINGS = [CORE_SETTINGS, STORE_SETTINGS, STYLE_SETTINGS, TRAINER_SETTINGS, RELEASE_SETTINGS, GATEWAY_SETTINGS] as const;

export const loadPlatformConfig = settingsLoader(PLATFORM_SETTINGS);
