/**
 * The telemetry set-up of a service's main thread, loaded by register.mjs before the service's own code:
 *
 *   node --import tsx --import @nst/runtime/telemetry/register <entry>
 *
 * With an OTLP endpoint configured it registers the import-in-the-middle loader hook (so ES
 * modules importing grpc-js, http and fastify get the patched exports, not only `require`
 * callers), then starts the SDK. Without one it only says, once, that tracing is off.
 */
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { createLogger } from '../logging';
import { startTelemetry, telemetryWanted } from './sdk';
import { setTelemetry } from './state';

const wanted = telemetryWanted();
if (wanted.enabled) {
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
  const state = startTelemetry();
  setTelemetry(state);
  // Hooks added by the instrumentations reach the loader thread before any app module loads.
  await waitForAllMessagesAcknowledged();
} else {
  setTelemetry(wanted);
}
createLogger(process.env['OTEL_SERVICE_NAME'] ?? 'nst').info({ event: { action: 'telemetry-start' } }, wanted.reason);
