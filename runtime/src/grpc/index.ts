export * from './server';
export * from './health-client';
export * from './service-error';
export * from './admin-check';
