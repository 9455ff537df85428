/**
 * @nst/runtime/stores: the durable stores the services share through their interfaces: feedback
 * and serving events, as JSON lines on disk (the embedded default) or in Elasticsearch, chosen
 * by the settings; the JSON-lines log under both embedded stores and their retention sweep.
 */
export * from './feedback/index';
export * from './serving/index';
export * from './elasticsearch/index';
export * from './jsonl-log';
export * from './retention';
export * from './store-settings';
export * from './kept-photos';
