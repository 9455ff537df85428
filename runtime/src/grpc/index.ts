export * from './server';
export * from './health-client';
