export * from './errors';
export * from './schema';
export * from './precision';
export * from './model-registry';
export * from './catalogue-watch';
