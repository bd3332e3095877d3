// Runs ONNX Runtime (npm onnxruntime-node, CPU) on a batch of inputs read from a .npy file and
// writes the outputs as .npy, so Python without the onnxruntime module can compare logits
// (export_int8.py does):
//
//   node ort_run.js MODEL.onnx IN.npy OUT.npy [THREADS] [OPTIMIZED.onnx]
//
// IN.npy is float32 (N, ...) in C order; the model has a fixed batch size B that divides N and
// runs N / B times. OUT.npy is the float32 first output, (N, ...). With OPTIMIZED.onnx the
// session (all graph optimizations, as ort_bench.js builds it) also writes the graph it runs,
// after ONNX Runtime's fusions. NODE_PATH must reach onnxruntime-node.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

// A float32, C-order .npy (format 1.0 or 2.0): {shape, data}.
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header)) {
    throw new Error(`${path}: want float32 in C order, header ${header.trim()}`);
  }
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',')
                    .map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  // Copy: the payload need not be 4-byte aligned inside the file's buffer.
  Buffer.from(data.buffer).set(buf.subarray(start, start + 4 * count));
  return {shape, data};
}

function writeNpy(path, shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${
    shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'),
                                        Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function main() {
  const [modelPath, inPath, outPath, threadsArg, optimizedPath] = process.argv.slice(2);
  if (!modelPath || !inPath || !outPath) {
    console.error('usage: node ort_run.js MODEL.onnx IN.npy OUT.npy [THREADS] [OPTIMIZED.onnx]');
    process.exit(2);
  }
  const options = {
    intraOpNumThreads: parseInt(threadsArg || '1', 10),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    logSeverityLevel: 3,  // no warning that a saved optimized graph is for this machine only
  };
  if (optimizedPath) options.optimizedModelFilePath = optimizedPath;
  const session = await ort.InferenceSession.create(modelPath, options);
  const dims = session.inputMetadata[0].shape.map(Number);
  const input = readNpy(inPath);
  const batch = dims[0];
  const perItem = input.data.length / input.shape[0];
  if (input.shape[0] % batch !== 0 || perItem !== dims.slice(1).reduce((a, b) => a * b, 1)) {
    throw new Error(`input ${input.shape} does not fit the model's input ${dims}`);
  }
  const outputs = [];
  let outShape = null;
  for (let i = 0; i < input.shape[0]; i += batch) {
    const slice = input.data.subarray(i * perItem, (i + batch) * perItem);
    const result = await session.run(
        {[session.inputNames[0]]: new ort.Tensor('float32', slice, dims)});
    const y = result[session.outputNames[0]];
    outShape = y.dims.slice(1);
    outputs.push(y.data);
  }
  const total = outputs.reduce((a, y) => a + y.length, 0);
  const all = new Float32Array(total);
  let offset = 0;
  for (const y of outputs) {
    all.set(y, offset);
    offset += y.length;
  }
  writeNpy(outPath, [input.shape[0], ...outShape], all);
  console.log(`ran ${input.shape[0] / batch} batches of ${batch}: wrote ${outPath}` +
              `${optimizedPath ? ` and ${optimizedPath}` : ''} (ort ${ort.env.versions.common})`);
}

main().catch((e) => {
  console.error(`ort_run: ${e.message}`);
  process.exit(1);
});
