/**
 * A grpc-js server interceptor that counts every call a server answers (health and reflection
 * included) by method and final status code, times it, and tracks calls in flight.
 */
import { ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import type { CallMetrics } from './call-metrics';

export function grpcMetricsInterceptor(metrics: CallMetrics): ServerInterceptor {
  return (methodDescriptor, call) => {
    // "/nst.v1.StyleService/StylizeImage" -> "nst.v1.StyleService/StylizeImage"
    const method = methodDescriptor.path.replace(/^\//, '');
    const started = performance.now();
    metrics.inFlight.inc({ method });
    let done = false;
    const finish = (code: string): void => {
      if (done) return;
      done = true;
      metrics.inFlight.dec({ method });
      metrics.observe(method, code, (performance.now() - started) / 1000);
    };
    return new ServerInterceptingCall(call, {
      start(next) {
        next({ onCancel: () => finish('CANCELLED') });
      },
      sendStatus(statusObject, next) {
        finish(status[statusObject.code] ?? String(statusObject.code));
        next(statusObject);
      },
    });
  };
}
