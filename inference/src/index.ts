// StyleService (server, pipeline, service): startStyleServer and the pieces it is built from.
export { startStyleServer } from './server/style-server';
export type { StartStyleServerOptions, StyleServerConfig } from './server/style-server';
export { launchStyleService, STYLE_SERVICE_NAME } from './server/style-service-server';
export type { RunningStyleService, StyleServiceOptions } from './server/style-service-server';
export { startGrpcServer } from '@nst/runtime';
export type { GrpcServerOptions, GrpcServiceSpec, RunningGrpcServer } from '@nst/runtime';
export { VERSION_METADATA_KEY } from './server/style-handlers';
export type { ServiceLogger } from './server/style-handlers';
export { LatestVersionResolver } from './service/catalog';
export type { CatalogStyle, StyleCatalog, VersionRequest, VersionResolver } from './service/catalog';
export type { FeedbackSink } from './service/feedback';
export { registryCatalog } from './service/registry-catalog';
export { stylizeTiled, planAxis, countTiles } from './pipeline/tiling';
export type { RgbImage, StyleRunner } from './pipeline/tiling';
export { StyleModel, DEFAULT_THREADS, hwcToChw, chwToHwc, rgbFromBytes, bytesFromRgb } from './engine/style-model';
export type { StyleModelOptions } from './engine/style-model';
