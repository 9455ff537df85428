/**
 * `npm run bench`: every benchmark of the project, each in its own process (they pick TF.js
 * backends and thread counts of their own), one after another so they do not compete for the
 * two cores. Each prints ratios against a baseline measured in the same run; nothing here is
 * a pass/fail gate.
 *
 *   npm run bench                      # all
 *   npm run bench -- engine train      # some: engine, precision, train, service, gateway, tracing
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const BENCHES: Record<string, { file: string; what: string }> = {
  engine: { file: 'inference/bench/engine.bench.ts', what: 'ONNX Runtime serving vs the PyTorch peer, Johnson and starter networks at 1024x1024' },
  precision: {
    file: 'system-tests/bench/precision.bench.ts',
    what: 'FP32 vs INT8 vs BF16 starter models: speed at 1 MP and 12 MP (and vs the PyTorch peer), INT8 quality cost on the gallery photos',
  },
  train: { file: 'trainer/bench/train.bench.ts', what: 'training step on WASM with the project kernels vs the pure-JS CPU backend and PyTorch' },
  service: { file: 'inference/bench/service.bench.ts', what: 'StyleService end to end vs the bare model (1 MP), 8 clients vs 1' },
  gateway: { file: 'system-tests/bench/gateway.bench.ts', what: 'gRPC-Web through the gateway vs StyleService directly (1 MP)' },
  tracing: { file: 'system-tests/bench/tracing.bench.ts', what: 'StyleService with OpenTelemetry export on vs off (1 MP), same run' },
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(BENCHES);
let failed = 0;
for (const name of names) {
  const bench = BENCHES[name];
  if (!bench) {
    console.error(`unknown bench '${name}'; known: ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
  const file = join(root, bench.file);
  if (!existsSync(file)) {
    console.error(`\n## ${name}: ${bench.file} is missing`);
    failed++;
    continue;
  }
  console.log(`\n## ${name}: ${bench.what}\n`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
