export * from './supervisor';
export * from './ports';
export * from './service-process';
