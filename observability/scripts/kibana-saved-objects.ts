/**
 * Kibana saved objects of the platform, as code: data views over the platform's data streams
 * and the APM indices, visualizations, and four dashboards. Writes
 * observability/kibana/nst-saved-objects.ndjson (import it in Kibana: Stack Management > Saved
 * objects > Import, or POST /api/saved_objects/_import):
 *
 *   node --import tsx observability/scripts/kibana-saved-objects.ts
 *
 * Visualizations are aggregation-based and TSVB ones (plain JSON that Kibana 8 imports and
 * migrates), not Lens, whose state format changes between minor versions.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const NDJSON_FILE = fileURLToPath(new URL('../kibana/nst-saved-objects.ndjson', import.meta.url));

interface Reference {
  name: string;
  type: string;
  id: string;
}
export interface SavedObject {
  id: string;
  type: string;
  attributes: Record<string, unknown>;
  references: Reference[];
  coreMigrationVersion: string;
  typeMigrationVersion?: string;
}

const CORE = '8.8.0';

function dataView(id: string, title: string, name: string): SavedObject {
  return { id, type: 'index-pattern', attributes: { title, name, timeFieldName: '@timestamp' }, references: [], coreMigrationVersion: CORE, typeMigrationVersion: '8.0.0' };
}

const DATA_VIEWS = {
  events: dataView('nst-stylize-events', 'nst-stylize-events*', 'NST stylize events'),
  feedback: dataView('nst-feedback', 'nst-feedback*', 'NST feedback'),
  // Elastic APM's own indices (OTLP spans land here): transactions and spans of every service.
  apm: dataView('nst-apm-traces', 'traces-apm*,apm-*-transaction*,apm-*-span*', 'APM traces (all NST services)'),
  logs: dataView('nst-logs', 'logs-*,filebeat-*', 'NST service logs (ECS)'),
};

interface AggVis {
  id: string;
  title: string;
  type: 'line' | 'area' | 'histogram' | 'pie' | 'table';
  dataView: SavedObject;
  aggs: Record<string, unknown>[];
  query?: string;
  params?: Record<string, unknown>;
}

function aggVisualization(vis: AggVis): SavedObject {
  return {
    id: vis.id,
    type: 'visualization',
    attributes: {
      title: vis.title,
      description: '',
      uiStateJSON: '{}',
      version: 1,
      visState: JSON.stringify({ title: vis.title, type: vis.type, aggs: vis.aggs.map((agg, i) => ({ id: String(i + 1), enabled: true, ...agg })), params: { addLegend: true, legendPosition: 'right', ...vis.params } }),
      kibanaSavedObjectMeta: {
        searchSourceJSON: JSON.stringify({
          query: { query: vis.query ?? '', language: 'kuery' },
          filter: [],
          indexRefName: 'kibanaSavedObjectMeta.searchSourceJSON.index',
        }),
      },
    },
    references: [{ name: 'kibanaSavedObjectMeta.searchSourceJSON.index', type: 'index-pattern', id: vis.dataView.id }],
    coreMigrationVersion: CORE,
    typeMigrationVersion: '8.5.0',
  };
}

/** A TSVB time series: ratios (approval rate) that aggregation-based charts cannot compute. */
function tsvbRatio(id: string, title: string, index: string, numerator: string, splitField: string, filter = ''): SavedObject {
  return {
    id,
    type: 'visualization',
    attributes: {
      title,
      description: '',
      uiStateJSON: '{}',
      version: 1,
      visState: JSON.stringify({
        title,
        type: 'metrics',
        aggs: [],
        params: {
          id,
          type: 'timeseries',
          index_pattern: index,
          time_field: '@timestamp',
          interval: 'auto',
          axis_formatter: 'number',
          show_legend: 1,
          filter: { query: filter, language: 'kuery' },
          series: [
            {
              id: `${id}-series`,
              label: title,
              split_mode: 'terms',
              terms_field: splitField,
              terms_size: 20,
              chart_type: 'line',
              formatter: 'percent',
              metrics: [{ id: `${id}-ratio`, type: 'filter_ratio', numerator: { query: numerator, language: 'kuery' }, denominator: { query: '*', language: 'kuery' }, metric_agg: 'count' }],
            },
          ],
        },
      }),
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ query: { query: '', language: 'kuery' }, filter: [] }) },
    },
    references: [],
    coreMigrationVersion: CORE,
    typeMigrationVersion: '8.5.0',
  };
}

const overTime = { schema: 'segment', type: 'date_histogram', params: { field: '@timestamp', interval: 'auto', min_doc_count: 1 } };
const splitBy = (field: string, size = 10) => ({ schema: 'group', type: 'terms', params: { field, size, order: 'desc', orderBy: '1' } });
const count = { schema: 'metric', type: 'count', params: {} };

const VIS = {
  callsByStyle: aggVisualization({ id: 'nst-vis-calls-by-style', title: 'Stylize calls by style', type: 'area', dataView: DATA_VIEWS.events, aggs: [count, overTime, splitBy('style')] }),
  callsByVersion: aggVisualization({ id: 'nst-vis-calls-by-version', title: 'Stylize calls by style version', type: 'histogram', dataView: DATA_VIEWS.events, aggs: [count, overTime, splitBy('version')], params: { mode: 'stacked' } }),
  latencyByVersion: aggVisualization({
    id: 'nst-vis-latency-p95-by-version',
    title: 'Stylize latency p95 (ms) by version',
    type: 'line',
    dataView: DATA_VIEWS.events,
    aggs: [{ schema: 'metric', type: 'percentiles', params: { field: 'latencyMs', percents: [50, 95] } }, overTime, splitBy('version')],
  }),
  codes: aggVisualization({ id: 'nst-vis-status-codes', title: 'Stylize outcomes by gRPC status', type: 'pie', dataView: DATA_VIEWS.events, aggs: [count, { ...splitBy('code', 20), schema: 'segment' }] }),
  serverFaults: aggVisualization({
    id: 'nst-vis-server-faults-by-version',
    title: 'Server-fault errors by style version',
    type: 'histogram',
    dataView: DATA_VIEWS.events,
    query: 'code : ("INTERNAL" or "UNKNOWN" or "UNAVAILABLE" or "DATA_LOSS" or "DEADLINE_EXCEEDED")',
    aggs: [count, overTime, splitBy('version')],
  }),
  approvalByVersion: tsvbRatio('nst-vis-approval-rate-by-version', 'Approval rate (good / all ratings) by version', 'nst-feedback*', 'rating : "good"', 'version'),
  ratingsTable: aggVisualization({
    id: 'nst-vis-ratings-by-version',
    title: 'Ratings by style, version and rating',
    type: 'table',
    dataView: DATA_VIEWS.feedback,
    aggs: [count, { ...splitBy('style', 50), schema: 'bucket' }, { ...splitBy('version', 50), schema: 'bucket' }, { ...splitBy('rating', 2), schema: 'bucket' }],
  }),
  trafficShare: aggVisualization({
    id: 'nst-vis-traffic-share-by-version',
    title: 'Traffic share per version (effective canary weight)',
    type: 'area',
    dataView: DATA_VIEWS.events,
    aggs: [count, overTime, splitBy('version')],
    params: { mode: 'percentage' },
  }),
  canaryApproval: tsvbRatio('nst-vis-canary-error-ratio', 'Server-fault ratio by version', 'nst-stylize-events*', 'code : ("INTERNAL" or "UNKNOWN" or "UNAVAILABLE" or "DATA_LOSS" or "DEADLINE_EXCEEDED")', 'version'),
  trainingJobs: aggVisualization({
    id: 'nst-vis-training-jobs-by-outcome',
    title: 'Training jobs by kind and outcome',
    type: 'histogram',
    dataView: DATA_VIEWS.apm,
    query: 'service.name : "nst-trainer" and transaction.name : "training job"',
    aggs: [count, overTime, splitBy('event.outcome'), { ...splitBy('labels.nst_job_kind', 5), schema: 'split', params: { field: 'labels.nst_job_kind', size: 5, order: 'desc', orderBy: '1', row: true } }],
  }),
  trainingPhases: aggVisualization({
    id: 'nst-vis-training-phase-durations',
    title: 'Training phase duration (avg, µs)',
    type: 'histogram',
    dataView: DATA_VIEWS.apm,
    query: 'service.name : "nst-trainer" and span.name : training*',
    aggs: [{ schema: 'metric', type: 'avg', params: { field: 'span.duration.us' } }, { ...splitBy('span.name', 10), schema: 'segment' }],
  }),
  trainingTable: aggVisualization({
    id: 'nst-vis-training-jobs-table',
    title: 'Training jobs by style',
    type: 'table',
    dataView: DATA_VIEWS.apm,
    query: 'service.name : "nst-trainer" and transaction.name : "training job"',
    aggs: [
      { schema: 'metric', type: 'max', params: { field: 'transaction.duration.us' } },
      { ...splitBy('labels.nst_style', 50), schema: 'bucket' },
      { ...splitBy('labels.nst_job', 50), schema: 'bucket' },
      { ...splitBy('event.outcome', 3), schema: 'bucket' },
    ],
  }),
  stylizePhases: aggVisualization({
    id: 'nst-vis-stylize-phase-durations',
    title: 'Stylize phases: decode, queue wait, inference, encode (avg, µs)',
    type: 'histogram',
    dataView: DATA_VIEWS.apm,
    query: 'service.name : "nst-style" and span.name : ("decode" or "queue wait" or "inference" or "encode")',
    aggs: [{ schema: 'metric', type: 'avg', params: { field: 'span.duration.us' } }, overTime, splitBy('span.name', 4)],
    params: { mode: 'stacked' },
  }),
};

function dashboard(id: string, title: string, description: string, panels: SavedObject[]): SavedObject {
  const panelsJSON = panels.map((panel, i) => ({
    version: '8.8.0',
    type: 'visualization',
    gridData: { x: (i % 2) * 24, y: Math.floor(i / 2) * 15, w: 24, h: 15, i: String(i + 1) },
    panelIndex: String(i + 1),
    embeddableConfig: { enhancements: {} },
    panelRefName: `panel_${i}`,
  }));
  return {
    id,
    type: 'dashboard',
    attributes: {
      title,
      description,
      panelsJSON: JSON.stringify(panelsJSON),
      optionsJSON: JSON.stringify({ useMargins: true, syncColors: true, hidePanelTitles: false }),
      timeRestore: true,
      timeFrom: 'now-24h',
      timeTo: 'now',
      refreshInterval: { pause: false, value: 60_000 },
      version: 1,
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ query: { query: '', language: 'kuery' }, filter: [] }) },
    },
    references: panels.map((panel, i) => ({ name: `panel_${i}`, type: panel.type, id: panel.id })),
    coreMigrationVersion: CORE,
    typeMigrationVersion: '8.7.0',
  };
}

export const DASHBOARDS = [
  dashboard('nst-dashboard-traffic-latency', 'NST · Traffic and latency by style and version', 'Stylize calls, outcomes and latency per style and version (nst-stylize-events), and where the time goes (APM spans).', [
    VIS.callsByStyle,
    VIS.callsByVersion,
    VIS.latencyByVersion,
    VIS.codes,
    VIS.stylizePhases,
  ]),
  dashboard('nst-dashboard-approval', 'NST · Approval rate by version', 'Share of good ratings per style version over time, and the rating counts behind it (nst-feedback).', [VIS.approvalByVersion, VIS.ratingsTable]),
  dashboard('nst-dashboard-rollouts', 'NST · Rollouts', 'Canary against stable: traffic share per version (the weight in effect), approval rate, server-fault ratio and latency per version.', [
    VIS.trafficShare,
    VIS.approvalByVersion,
    VIS.canaryApproval,
    VIS.serverFaults,
    VIS.latencyByVersion,
  ]),
  dashboard('nst-dashboard-training', 'NST · Training jobs', 'Training and fine-tuning jobs from their traces: outcomes by kind, jobs per style, and the time each phase takes.', [
    VIS.trainingJobs,
    VIS.trainingTable,
    VIS.trainingPhases,
  ]),
];

export function savedObjects(): SavedObject[] {
  return [...Object.values(DATA_VIEWS), ...Object.values(VIS), ...DASHBOARDS];
}

export function ndjson(): string {
  return savedObjects().map((object) => JSON.stringify(object)).join('\n') + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(NDJSON_FILE, ndjson());
  process.stdout.write(`wrote ${savedObjects().length} saved objects to ${NDJSON_FILE}\n`);
}
