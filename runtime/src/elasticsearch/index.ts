export * from './client';
export * from './setup';
export * from './bulk-writer';
export * from './es-feedback-store';
export * from './es-stylize-event-store';
export * from './stores';
