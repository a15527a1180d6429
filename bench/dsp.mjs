// Throughput of the DSP building blocks against numpy/scipy, timed in the same run.
//
//   npx tsc -p tsconfig.json && node bench/dsp.mjs
//
// Each figure is the median of 5 timed runs after 3 warm-up runs (V8 optimises hot code late), on 10 s of noise at 16 kHz
// (17.6 kHz for the 17600 -> 16000 case). "x realtime" is seconds of audio per second of compute.
// scipy runs under /usr/bin/python3 (Debian's, with numpy and scipy), single-threaded as scipy is.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const dist = new URL("../dist/audio/", import.meta.url);
if (!existsSync(new URL("resample.js", dist))) {
  console.error("dist/audio/resample.js is missing: run `npx tsc -p tsconfig.json` first");
  process.exit(1);
}
const { resample, resamplerFilter, resamplerResponse, setResampleKernel, speedPerturb } = await import(new URL("resample.js", dist).href);
const { fftConvolve } = await import(new URL("fftconv.js", dist).href);

const RUNS = 5;
const WARMUP = 3;
const SECONDS = 10;

function noise(n, seed) {
  let s = seed >>> 0;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 32 - 0.5;
  }
  return x;
}

function medianMs(fn) {
  for (let i = 0; i < WARMUP; i++) fn();
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[RUNS >> 1];
}

const rows = [];
function row(task, impl, ms, inputSamples, detail = "") {
  rows.push({ task, impl, ms, msps: inputSamples / ms / 1e3, xrt: (SECONDS * 1000) / ms, detail });
}

// --- ours -------------------------------------------------------------------------------------
const x17600 = noise(17600 * SECONDS, 1);
const x16000 = noise(16000 * SECONDS, 2);
const rir = noise(8000, 3).map((v, i) => v * Math.exp(-i / 1200));

const cases = [
  { task: "resample 17600->16000", x: x17600, from: 17600, to: 16000, up: 10, down: 11 },
  { task: "resample 16000->14400", x: x16000, from: 16000, to: 14400, up: 9, down: 10 },
];
for (const c of cases) {
  const taps = resamplerResponse(c.from, c.to).tapsPerOutput;
  setResampleKernel("simd");
  row(c.task, "augment (wasm simd)", medianMs(() => resample(c.x, c.from, c.to)), c.x.length, `${taps} taps/output, >=84 dB`);
  setResampleKernel("js");
  row(c.task, "augment (plain js)", medianMs(() => resample(c.x, c.from, c.to)), c.x.length, `${taps} taps/output`);
  setResampleKernel("simd");
}
row("speedPerturb 1.0537 (L=10000)", "augment (wasm simd)", medianMs(() => speedPerturb(x16000, 1.0537)), x16000.length, "interpolated table, 2x120 taps");
// Designing a table for a factor not seen before (the cost per item when every item has its own).
{
  const t0 = performance.now();
  const designs = 50;
  for (let i = 0; i < designs; i++) speedPerturb(new Float32Array(8), 1.0001 + i * 0.0017);
  rows.push({ task: "new speed factor (table design)", impl: "augment", ms: (performance.now() - t0) / designs, msps: NaN, xrt: NaN, detail: "per distinct factor, cached after" });
}
row("fftConvolve 10 s * 0.5 s RIR", "augment (fft.js)", medianMs(() => fftConvolve(x16000, rir)), x16000.length, "overlap-add, f64");

// --- scipy ------------------------------------------------------------------------------------
const python = `
import sys, json, time
import numpy as np
from scipy.signal import resample_poly, fftconvolve
firs = json.load(sys.stdin)
RUNS, SECONDS, WARMUP = ${RUNS}, ${SECONDS}, ${WARMUP}
rng = np.random.default_rng(0)
def median_ms(f):
    for _ in range(WARMUP):
        f()
    t = []
    for _ in range(RUNS):
        t0 = time.perf_counter(); f(); t.append(time.perf_counter() - t0)
    return sorted(t)[RUNS // 2] * 1e3
out = []
for task, rate, up, down, fir in [("resample 17600->16000", 17600, 10, 11, firs["a"]), ("resample 16000->14400", 16000, 9, 10, firs["b"])]:
    x = (rng.random(rate * SECONDS) - 0.5).astype(np.float32)
    out.append([task, "scipy resample_poly (default filter, f32)", median_ms(lambda: resample_poly(x, up, down)), len(x), "%d taps/output, Kaiser beta 5" % ((20 * max(up, down) + 1) // up)])
    h = np.asarray(fir, dtype=np.float64) / up
    out.append([task, "scipy resample_poly (our filter, f32)", median_ms(lambda: resample_poly(x, up, down, window=h)), len(x), "same taps as augment"])
x = (rng.random(16000 * SECONDS) - 0.5).astype(np.float32)
h = ((rng.random(8000) - 0.5) * np.exp(-np.arange(8000) / 1200)).astype(np.float32)
out.append(["fftConvolve 10 s * 0.5 s RIR", "scipy fftconvolve (f32)", median_ms(lambda: fftconvolve(x, h)), len(x), "pocketfft"])
x64, h64 = x.astype(np.float64), h.astype(np.float64)
out.append(["fftConvolve 10 s * 0.5 s RIR", "scipy fftconvolve (f64)", median_ms(lambda: fftconvolve(x64, h64)), len(x), "pocketfft"])
print(json.dumps(out))
`;
const firs = JSON.stringify({ a: Array.from(resamplerFilter(17600, 16000)), b: Array.from(resamplerFilter(16000, 14400)) });
const py = spawnSync("/usr/bin/python3", ["-c", python], { input: firs, maxBuffer: 1 << 24 });
if (py.status !== 0) {
  console.error(`scipy timing failed: ${py.stderr}`);
} else {
  for (const [task, impl, ms, n, detail] of JSON.parse(py.stdout.toString())) row(task, impl, ms, n, detail);
}

// --- report -----------------------------------------------------------------------------------
const order = [...new Set(rows.map((r) => r.task))];
console.log(`node ${process.version}, ${RUNS} runs (median), ${SECONDS} s of audio per run\n`);
console.log(`${"task".padEnd(33)}${"implementation".padEnd(43)}${"ms".padStart(9)}${"Msamples/s".padStart(12)}${"x realtime".padStart(12)}  notes`);
for (const task of order) {
  for (const r of rows.filter((q) => q.task === task)) {
    const msps = Number.isNaN(r.msps) ? "" : r.msps.toFixed(1);
    const xrt = Number.isNaN(r.xrt) ? "" : r.xrt.toFixed(0);
    console.log(`${r.task.padEnd(33)}${r.impl.padEnd(43)}${r.ms.toFixed(2).padStart(9)}${msps.padStart(12)}${xrt.padStart(12)}  ${r.detail}`);
  }
}
