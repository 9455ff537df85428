/**
 * The gateway as its own process for the tracing test: what `npm start` runs for it, minus the
 * web app (no Vite build in a test). Start it with the telemetry entry point:
 * `node --import tsx --import @nst/runtime/telemetry/register gateway-child.ts`.
 */
import { loadGatewayConfig } from '@nst/gateway/config';
import { createLogger, shutdownTelemetry } from '@nst/runtime';
import { startGateway } from '@nst/gateway';

const gateway = await startGateway({ config: loadGatewayConfig(), logger: createLogger('nst-gateway'), webDist: false });
process.on('SIGTERM', () => {
  void gateway
    .close()
    .then(shutdownTelemetry)
    .then(() => process.exit(0));
});
