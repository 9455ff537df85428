// One ONNX Runtime session in a worker thread. onnxruntime-node's session.run executes on the
// calling thread (its promise only defers the call with setImmediate), so a 1024x1024 image
// would stall the gRPC server's event loop for seconds; here it stalls only this thread.
// Plain JavaScript so the worker starts without a TypeScript loader (tsx, vitest).
// Protocol (messages from StyleModel in style-model.ts):
//   {type:'load', model: Uint8Array|string, threads, memoryArena}  -> {type:'loaded', inputNames, outputNames} | {type:'failed', message}
//   {type:'run', id, data: Float32Array (HWC RGB), width, height, input, output,
//    feeds?: {name: {data: Float32Array, dims}}, extras?: [name],
//    seed?: {name, cell, top, left}}                  (the cell seed of these pixels, computed here)
//                                                     -> {type:'result', id, data, dims, extras: {name: Float32Array}} | {type:'error', id, message}
//   {type:'release'}                                  -> session released, thread exits
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { seedInput } from '@nst/style-network/seed';

let session;

function hwcToChw(data, plane) {
  const out = new Float32Array(plane * 3);
  for (let p = 0, i = 0; p < plane; p++, i += 3) {
    out[p] = data[i];
    out[plane + p] = data[i + 1];
    out[2 * plane + p] = data[i + 2];
  }
  return out;
}

function chwToHwc(data, plane) {
  const out = new Float32Array(plane * 3);
  for (let p = 0, i = 0; p < plane; p++, i += 3) {
    out[i] = data[p];
    out[i + 1] = data[plane + p];
    out[i + 2] = data[2 * plane + p];
  }
  return out;
}

async function load({ model, threads, memoryArena }) {
  try {
    session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      // ORT's arena keeps every buffer it ever grew to per session (measured: 4 starter models
      // after 1 MP requests, 940 MiB with it, 279 MiB without); pools multiply sessions.
      enableCpuMemArena: memoryArena,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      executionProviders: ['cpu'],
    });
    parentPort.postMessage({ type: 'loaded', inputNames: session.inputNames, outputNames: session.outputNames });
  } catch (error) {
    parentPort.postMessage({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  }
}

async function run({ id, data, width, height, input, output, feeds = {}, extras = [], seed }) {
  const plane = width * height;
  const feed = new ort.Tensor('float32', hwcToChw(data, plane), [1, 3, height, width]);
  const more = Object.fromEntries(Object.entries(feeds).map(([name, tensor]) => [name, new ort.Tensor('float32', tensor.data, tensor.dims)]));
  let results;
  try {
    // The seed costs ~100 ms a megapixel: here it delays only this session's thread, not the
    // gRPC event loop, and it is never copied between threads.
    if (seed) {
      const { data: values, dims } = seedInput(height, width, seed.cell, seed.top, seed.left);
      more[seed.name] = new ort.Tensor('float32', values, dims);
    }
    results = await session.run({ [input]: feed, ...more });
    const tensor = results[output];
    if (!tensor) throw new Error(`model produced no '${output}'`);
    const dims = Array.from(tensor.dims);
    const ok = dims.length === 4 && dims[1] === 3 && dims[2] === height && dims[3] === width;
    const hwc = ok ? chwToHwc(tensor.data, plane) : new Float32Array(0);
    const extraData = {};
    for (const name of extras) {
      if (!results[name]) throw new Error(`model produced no '${name}'`);
      extraData[name] = Float32Array.from(results[name].data);
    }
    parentPort.postMessage({ type: 'result', id, data: hwc, dims, extras: extraData }, [hwc.buffer]);
  } catch (error) {
    parentPort.postMessage({ type: 'error', id, message: error instanceof Error ? error.message : String(error) });
  } finally {
    feed.dispose();
    for (const tensor of Object.values(more)) tensor.dispose();
    if (results) for (const tensor of Object.values(results)) tensor.dispose();
  }
}

// Messages are handled one at a time: runs queue here rather than competing for the same
// intra-op threads.
let queue = Promise.resolve();
parentPort.on('message', (message) => {
  queue = queue.then(async () => {
    if (message.type === 'load') await load(message);
    else if (message.type === 'run') await run(message);
    else if (message.type === 'release') {
      await session?.release();
      session = undefined;
      parentPort.close();
    }
  });
});
