/**
 * @nst/mesh: releases and traffic. The rollout state (one record per style, its decisions),
 * the automated canary analysis, nst.v1.ReleaseService,
 * and the Istio routing rendered from the same state.
 */
export * from './rollout/schema';
export * from './rollout/rollout-store';
export * from './rollout/decision-log';
export * from './rollout/release-controller';
export * from './analysis/fisher';
export * from './analysis/analyze';
export * from './analysis/analysis-loop';
export * from './istio/render';
export * from './istio/cluster';
export * from './service/convert';
export * from './service/release-handlers';
export * from './service/release-server';
