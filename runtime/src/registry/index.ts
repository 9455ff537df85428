export * from './errors';
export * from './schema';
export * from './model-registry';
export * from './catalogue-watch';
