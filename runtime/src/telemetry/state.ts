/**
 * The process's telemetry state, kept on globalThis: register.ts (loaded by --import) and the
 * service code may see different module instances, and the service must flush spans on exit.
 */
interface TelemetryHandle {
  enabled: boolean;
  reason: string;
  sdk?: { shutdown(): Promise<void> };
}

const KEY = Symbol.for('nst.telemetry');
type Holder = { [KEY]?: TelemetryHandle };

export function setTelemetry(state: TelemetryHandle): void {
  (globalThis as Holder)[KEY] = state;
}

/** Whether spans are exported in this process, and why (or why not). */
export function telemetryStatus(): { enabled: boolean; reason: string } {
  const state = (globalThis as Holder)[KEY];
  return state ? { enabled: state.enabled, reason: state.reason } : { enabled: false, reason: 'tracing off: the telemetry entry point was not loaded' };
}

/** Exports the spans still buffered and stops the SDK; call before the process exits. */
export async function shutdownTelemetry(): Promise<void> {
  const state = (globalThis as Holder)[KEY];
  if (!state?.sdk) return;
  const sdk = state.sdk;
  delete state.sdk;
  await sdk.shutdown().catch(() => undefined);
}
