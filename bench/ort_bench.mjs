// ONNX Runtime's side of bench/run.sh's sampling and inversion comparisons: the same 10-step DDIM
// loops as bench/pytorch_bench.py (continuous cosine schedule, eta = 0) around the U-Net that
// bench/export_onnx.py exported, on the CPU execution provider with all graph optimisations, the
// given threads and a fixed batch. Prints one JSON line like `ddim bench sample` (or `invert`).
//
//   node bench/ort_bench.mjs --ort DIR --model DIR [--batch 64 --channels 1 --image-size 32
//       --steps 10 --iters 3 --warmup 1 --threads 2] [--invert [--fixed-point K]]
//
// --invert: DDIM inversion from the data end of the grid, with K fixed-point refinements a step
// (K + 1 network calls; 0, the default: plain DDIM inversion), as pytorch_bench.py's.
// --ort: where `npm install onnxruntime-node` put its node_modules (bench/run.sh installs it there
// on demand). --model: bench/export_onnx.py's folder; its reference input is run first, and the
// largest difference from PyTorch's output goes into the JSON line (the run fails above 1e-3 of
// the output's largest value: a wrong export would time a different network).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

function options(argv) {
  const o = { batch: 64, channels: 1, 'image-size': 32, steps: 10, iters: 3, warmup: 1, threads: 0, 'fixed-point': 0 };
  o.invert = argv.includes('--invert');
  argv = argv.filter((x) => x !== '--invert');
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in o) && key !== 'ort' && key !== 'model') throw new Error(`unknown option ${argv[i]}`);
    if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
    o[key] = key === 'ort' || key === 'model' ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!o.ort || !o.model) throw new Error('--ort DIR and --model DIR are needed');
  return o;
}

// bench/pytorch_unet.py's continuous_cosine: signal and noise rates at t in [0, 1].
function cosine(t, sMin = 0.02, sMax = 0.95) {
  const start = Math.acos(sMax), end = Math.acos(sMin);
  const theta = start + t * (end - start);
  return [Math.cos(theta), Math.sin(theta)];
}

// Standard normal floats (Box-Muller): the seeds; their values do not change the timing.
function randn(n) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - Math.random(), v = Math.random();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

async function main() {
  const o = options(process.argv.slice(2));
  const require = createRequire(path.join(path.resolve(o.ort), 'node_modules', 'index.js'));
  const ort = require('onnxruntime-node');
  const threads = o.threads > 0 ? o.threads : (await import('node:os')).availableParallelism();
  const session = await ort.InferenceSession.create(path.join(o.model, 'unet.onnx'), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const b = o.batch, size = o.channels * o['image-size'] * o['image-size'];
  const shape = [b, o.channels, o['image-size'], o['image-size']];
  const run = async (x, v) =>
    (await session.run({ x: new ort.Tensor('float32', x, shape), noise_variance: new ort.Tensor('float32', v, [b]) }))
      .eps.data;

  // The reference: x, noise variance, PyTorch's output.
  const ref = new Float32Array(fs.readFileSync(path.join(o.model, 'reference.bin')).buffer.slice(0));
  if (ref.length !== 2 * b * size + b) throw new Error(`${o.model}/reference.bin is not for batch ${b} of ${shape}`);
  const eps = await run(ref.slice(0, b * size), ref.slice(b * size, b * size + b));
  const expected = ref.subarray(b * size + b);
  let error = 0, largest = 0;
  for (let i = 0; i < expected.length; ++i) {
    error = Math.max(error, Math.abs(eps[i] - expected[i]));
    largest = Math.max(largest, Math.abs(expected[i]));
  }
  if (!(error <= 1e-3 * largest)) throw new Error(`ONNX Runtime's output differs from PyTorch's by ${error} (largest value ${largest})`);

  const sample = async () => {
    let x = randn(b * size);
    for (let k = 0; k < o.steps; ++k) {
      const t = 1 - k / o.steps;
      const [s, n] = cosine(t);
      const e = await run(x, new Float32Array(b).fill(n * n));
      const [s2, n2] = k + 1 < o.steps ? cosine(t - 1 / o.steps) : [1, 0];
      const next = new Float32Array(b * size);
      for (let i = 0; i < next.length; ++i) next[i] = (s2 * (x[i] - n * e[i])) / s + n2 * e[i];
      x = next;
    }
    return x;
  };
  // x' = s'(x - n eps)/s + n' eps, with eps at x (the target label) and then, K times, at x'.
  const invert = async () => {
    let x = randn(b * size);
    for (let k = 0; k < o.steps; ++k) {
      const [s, n] = cosine(k / o.steps);
      const [s2, n2] = cosine((k + 1) / o.steps);
      const v = new Float32Array(b).fill(n2 * n2);
      let e = await run(x, v);
      const next = new Float32Array(b * size);
      for (let i = 0; i < next.length; ++i) next[i] = (s2 * (x[i] - n * e[i])) / s + n2 * e[i];
      for (let r = 0; r < o['fixed-point']; ++r) {
        e = await run(next, v);
        for (let i = 0; i < next.length; ++i) next[i] = (s2 * (x[i] - n * e[i])) / s + n2 * e[i];
      }
      x = next;
    }
    return x;
  };
  const work = o.invert ? invert : sample;
  for (let i = 0; i < o.warmup; ++i) await work();
  const start = process.hrtime.bigint();
  for (let i = 0; i < o.iters; ++i) await work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({
    impl: 'onnxruntime',
    onnxruntime: require('onnxruntime-node/package.json').version,
    what: o.invert ? 'invert' : 'sample',
    threads,
    batch: b,
    iters: o.iters,
    steps: o.steps,
    ...(o.invert ? { fixed_point: o['fixed-point'] } : {}),
    seconds,
    images_per_s: (b * o.iters) / seconds,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    max_abs_error_vs_pytorch: error,
  }));
}

main().catch((e) => {
  console.error(`bench/ort_bench.mjs: ${e.message}`);
  process.exit(1);
});
