export * from './stylize-event-store';
export * from './jsonl-stylize-event-store';
