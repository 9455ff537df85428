export * from './server';
export * from './health-client';
export * from './service-error';
