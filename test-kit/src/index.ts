/**
 * @nst/test-kit: what the tests of every package share, and nothing that starts a service in
 * this process: clients of StyleService and TrainerService, images (photos, a painting, broken
 * files), the services as their own processes, an OTLP receiver, polling. It imports no service
 * package, so any package's tests may use it without a cycle.
 */
export * from './images';
export * from './style-client';
export * from './trainer-client';
export * from './processes';
export * from './otlp-receiver';
export * from './wait';
export * from './tiny-styles';
export * from './echo-style-service';
export * from './peer';
