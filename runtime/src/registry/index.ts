export * from './errors';
export * from './schema';
export * from './model-registry';
