export * from './supervisor';
export * from './ports';
