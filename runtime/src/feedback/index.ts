export * from './feedback-store';
export * from './jsonl-feedback-store';
