// Times ONNX Runtime (npm onnxruntime-node, CPU) on one ONNX model with a fixed input shape:
//
//   node ort_bench.js MODEL.onnx ITERS THREADS
//
// prints "median_ms=… iters=… threads=…" like classify --bench. The session is built the way
// an application tuned for latency would: all graph optimizations, sequential execution,
// THREADS intra-op threads and one inter-op thread. NODE_PATH must reach onnxruntime-node.
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const [modelPath, itersArg, threadsArg] = process.argv.slice(2);
  if (!modelPath || !itersArg || !threadsArg) {
    console.error('usage: node ort_bench.js MODEL.onnx ITERS THREADS');
    process.exit(2);
  }
  const iters = parseInt(itersArg, 10);
  const threads = parseInt(threadsArg, 10);
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const inputName = session.inputNames[0];
  // The exported models have fixed shapes; read them from the graph's input metadata.
  const meta = session.inputMetadata ? session.inputMetadata[0] : null;
  const dims = meta && meta.shape ? meta.shape.map(Number) : null;
  if (!dims || dims.some((d) => !(d > 0))) {
    console.error(`ort_bench: ${modelPath}: input ${inputName} has no fixed shape`);
    process.exit(1);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  for (let i = 0; i < count; ++i) data[i] = Math.random() * 2 - 1;
  const feeds = {[inputName]: new ort.Tensor('float32', data, dims)};

  await session.run(feeds);  // warm-up: first run allocates and plans
  const times = [];
  for (let i = 0; i < iters; ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(`median_ms=${times[Math.floor(times.length / 2)].toFixed(2)} iters=${iters} ` +
              `threads=${threads} ort=${ort.env.versions.common}`);
}

main().catch((e) => {
  console.error(`ort_bench: ${e.message}`);
  process.exit(1);
});
