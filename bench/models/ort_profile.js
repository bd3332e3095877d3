// Per-node times of ONNX Runtime (npm onnxruntime-node, CPU) on one ONNX model, from its own
// profiler, to set beside fovea's per-layer bench (bench/cpu/bench_conv2d_cpu):
//
//   node ort_profile.js MODEL.onnx ITERS THREADS
//
// The session is built as in ort_bench.js. Prints the median model run, then one line per node
// (median over the ITERS runs, in graph order: ms, op type, node name) and the totals by op type.
// ORT names fused nodes after their last output (a Conv with its Clip is ".../Clip_output_0").
// NODE_PATH must reach onnxruntime-node. The profiler's JSON is written to the system's temporary
// folder and removed afterwards.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const ort = require('onnxruntime-node');

const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const [modelPath, itersArg, threadsArg] = process.argv.slice(2);
  if (!modelPath || !(parseInt(itersArg, 10) >= 1) || !(parseInt(threadsArg, 10) >= 1)) {
    console.error('usage: node ort_profile.js MODEL.onnx ITERS THREADS');
    process.exit(2);
  }
  const prefix = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ort-profile-')), 'profile');
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: parseInt(threadsArg, 10),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableProfiling: true,
    profileFilePrefix: prefix,
  });
  const dims = session.inputMetadata[0].shape.map(Number);
  if (dims.some((d) => !(d > 0))) {
    console.error(`ort_profile: ${modelPath}: the input has no fixed shape`);
    process.exit(1);
  }
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1)).map(() => Math.random() * 2 - 1);
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, dims)};
  await session.run(feeds);  // warm-up, as in ort_bench.js (left out below)
  for (let i = 0; i < parseInt(itersArg, 10); ++i) await session.run(feeds);
  await session.release();  // flushes the profile

  const folder = path.dirname(prefix);
  const file = fs.readdirSync(folder).find((name) => name.endsWith('.json'));
  if (!file) {
    console.error(`ort_profile: ONNX Runtime wrote no profile in ${folder}`);
    process.exit(1);
  }
  const events = JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8'));
  fs.rmSync(folder, {recursive: true});

  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').slice(1);
  console.log(`model_run median_ms=${(median(runs.map((e) => e.dur)) / 1000).toFixed(3)} ` +
              `runs=${runs.length} threads=${threadsArg} ort=${ort.env.versions.common}`);
  const nodes = new Map();  // name -> {op, durations}, in first-seen (graph) order
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!nodes.has(name)) nodes.set(name, {op: e.args.op_name, durations: []});
    nodes.get(name).durations.push(e.dur);
  }
  const byOp = new Map();
  for (const [name, {op, durations}] of nodes) {
    const ms = median(durations.slice(1)) / 1000;
    console.log(`${ms.toFixed(3)}\t${op}\t${name}`);
    byOp.set(op, (byOp.get(op) || 0) + ms);
  }
  for (const [op, ms] of [...byOp].sort((a, b) => b[1] - a[1]))
    console.log(`total ${op} ${ms.toFixed(3)} ms`);
}

main().catch((e) => {
  console.error(`ort_profile: ${e.message}`);
  process.exit(1);
});
