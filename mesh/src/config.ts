/**
 * ReleaseService's own settings (the core and the stores' come from @nst/runtime): its release
 * state, automatic canaries and their ladder, the analysis thresholds, cluster mode, and its
 * metrics port.
 */
import { z } from 'zod';
import { boolean, CORE_SETTINGS, decimal, metricsPortSetting, setting, settingsGroup, settingsLoader, STORE_SETTINGS, text, underDataDir, wholeNumber } from '@nst/runtime/config';

// Canary ladder: ascending whole percentages ending at 100 (promotion).
const ladder = z
  .string()
  .regex(/^\s*[0-9]+(\s*,\s*[0-9]+)*\s*$/, 'must be comma-separated whole percentages, for example 10,25,50,100')
  .transform((value) => value.split(',').map((item) => Number(item.trim())))
  .refine((steps) => steps.every((step) => step >= 1 && step <= 100), 'every step must be from 1 to 100')
  .refine((steps) => steps.every((step, i) => i === 0 || step > (steps[i - 1] as number)), 'steps must be ascending')
  .refine((steps) => steps.at(-1) === 100, 'the last step must be 100 (promotion)');

export const RELEASE_SETTINGS = settingsGroup('ReleaseService (`mesh/src/config.ts`)', {
  releasesDir: setting({
    env: 'NST_RELEASES_DIR',
    ...underDataDir('releases'),
    schema: text,
    description: 'Release state: stable and canary version and weight per style.',
  }),
  releaseMode: setting({
    env: 'NST_RELEASE_MODE',
    default: 'local',
    schema: z.enum(['local', 'cluster'], { error: 'must be local or cluster' }),
    description: 'Where rollouts take effect: `local` (the router in StyleService) or `cluster` (also applies Istio routing to Kubernetes).',
  }),
  autoRelease: setting({
    env: 'NST_AUTO_RELEASE',
    default: 'true',
    schema: boolean,
    description: 'Whether a newly registered version starts a canary by itself.',
  }),
  canaryLadder: setting({
    env: 'NST_CANARY_LADDER',
    default: '10,25,50,100',
    schema: ladder,
    description: 'Canary weights in percent the analysis steps through, ascending; reaching 100 means promotion.',
  }),
  analysisIntervalSeconds: setting({
    env: 'NST_ANALYSIS_INTERVAL_SECONDS',
    default: '60',
    schema: decimal(0.1, 86_400),
    description: 'How often the release analysis judges each canary, in seconds.',
  }),
  analysisMinRatings: setting({
    env: 'NST_ANALYSIS_MIN_RATINGS',
    default: '30',
    schema: wholeNumber(1),
    description: 'Ratings stable and canary each need (since the last weight change) before approval is judged.',
  }),
  analysisMinCalls: setting({
    env: 'NST_ANALYSIS_MIN_CALLS',
    default: '30',
    schema: wholeNumber(1),
    description: 'Stylize calls each need (since the last weight change) before error rate and latency are judged.',
  }),
  analysisAlpha: setting({
    env: 'NST_ANALYSIS_ALPHA',
    default: '0.05',
    schema: decimal(0.000001, 0.5),
    description: 'Significance level of the one-sided Fisher exact test that the canary is rated worse.',
  }),
  analysisErrorMargin: setting({
    env: 'NST_ANALYSIS_ERROR_MARGIN',
    default: '0.02',
    schema: decimal(0, 1),
    description: "How far the canary's server-fault error rate may exceed stable's (0.02 = 2 points) before it is rolled back.",
  }),
  analysisLatencyRatio: setting({
    env: 'NST_ANALYSIS_LATENCY_RATIO',
    default: '1.5',
    schema: decimal(1, 1000),
    description: "Largest canary p95 stylize latency as a multiple of stable's before it is rolled back.",
  }),
  analysisMinStepSeconds: setting({
    env: 'NST_ANALYSIS_MIN_STEP_SECONDS',
    default: '300',
    schema: decimal(0, 604_800),
    description: 'Least time a canary stays at one weight before the analysis steps it up, in seconds.',
  }),
  clusterNamespace: setting({
    env: 'NST_CLUSTER_NAMESPACE',
    default: 'nst',
    schema: text,
    description: 'Cluster mode: the Kubernetes namespace the Istio routing is applied in.',
  }),
  clusterStyleService: setting({
    env: 'NST_CLUSTER_STYLE_SERVICE',
    default: 'nst-style',
    schema: text,
    description: 'Cluster mode: the Kubernetes Service of StyleService that the Istio routing is for.',
  }),
  clusterCanaryDeployment: setting({
    env: 'NST_CLUSTER_CANARY_DEPLOYMENT',
    default: 'nst-style-canary',
    schema: text,
    description: 'Cluster mode: the StyleService Deployment of the canary track (pods labelled `nst.dev/track: canary`), scaled up while a canary gets calls and to 0 after.',
  }),
  clusterCanaryReplicas: setting({
    env: 'NST_CLUSTER_CANARY_REPLICAS',
    default: '1',
    schema: wholeNumber(1, 100),
    description: 'Cluster mode: replicas the canary Deployment is scaled to while a canary gets calls.',
  }),
  clusterCanaryReadySeconds: setting({
    env: 'NST_CLUSTER_CANARY_READY_SECONDS',
    default: '120',
    schema: wholeNumber(1, 3600),
    description: "Cluster mode: how long to wait for the canary Deployment's replicas to be available before giving up on routing calls to it, in seconds.",
  }),
  clusterReconcileSeconds: setting({
    env: 'NST_CLUSTER_RECONCILE_SECONDS',
    default: '30',
    schema: wholeNumber(0, 3600),
    description: 'Cluster mode: how often the rollout state is re-applied to the cluster (canary replicas and availability, Istio routing), undoing drift and retrying failed applies, in seconds; 0 only applies on changes.',
  }),
  releaseMetricsPort: metricsPortSetting('NST_RELEASE_METRICS_PORT', 9463, 'ReleaseService'),
});

/** Reads and validates ReleaseService's settings (with the core and the stores'); throws ConfigError naming each bad variable. */
export const loadReleaseConfig = settingsLoader([CORE_SETTINGS, STORE_SETTINGS, RELEASE_SETTINGS]);

/** Everything the process reads. */
export type ReleaseConfig = ReturnType<typeof loadReleaseConfig>;
