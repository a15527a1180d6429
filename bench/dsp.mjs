// Throughput of the DSP building blocks against numpy/scipy, timed in the same run.
//
//   npx tsc -p tsconfig.json && node bench/dsp.mjs
//
// Resampling: each figure is the median of 5 timed runs after 3 warm-up runs (V8 optimises hot
// code late), on 10 s of noise at 16 kHz (17.6 kHz for the 17600 -> 16000 case). "x realtime" is
// seconds of audio per second of compute. scipy runs under /usr/bin/python3 (Debian's, with numpy
// and scipy), single-threaded as scipy is.
//
// FFT convolution: the implementations are interleaved round by round (ours in this process,
// scipy in a Python process kept open and driven over a pipe, each timing itself), so load from
// other processes hits all of them alike; FFT_RUNS timed rounds (median) after FFT_WARMUP, on the
// same Float32 data on both sides. "cached RIR" reuses one RIR array, as a worker does (its
// spectrum is cached); "new RIR" passes a fresh copy each call (spectrum taken every time, as
// scipy does). Accuracy is relative L2 against scipy's float64 fftconvolve.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";

const dist = new URL("../dist/audio/", import.meta.url);
if (!existsSync(new URL("resample.js", dist))) {
  console.error("dist/audio/resample.js is missing: run `npx tsc -p tsconfig.json` first");
  process.exit(1);
}
const { resample, resamplerFilter, resamplerResponse, setResampleKernel, speedPerturb } = await import(new URL("resample.js", dist).href);
const { convolveAligned, fftConvolve, setFftConvolveKernel } = await import(new URL("fftconv.js", dist).href);

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

// --- scipy ------------------------------------------------------------------------------------
const python = `
import sys, json, time
import numpy as np
from scipy.signal import resample_poly
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
print(json.dumps(out))
`;
const firs = JSON.stringify({ a: Array.from(resamplerFilter(17600, 16000)), b: Array.from(resamplerFilter(16000, 14400)) });
const py = spawnSync("/usr/bin/python3", ["-c", python], { input: firs, maxBuffer: 1 << 24 });
if (py.status !== 0) {
  console.error(`scipy timing failed: ${py.stderr}`);
} else {
  for (const [task, impl, ms, n, detail] of JSON.parse(py.stdout.toString())) row(task, impl, ms, n, detail);
}

// --- FFT convolution, interleaved with scipy --------------------------------------------------
const FFT_RUNS = 9;
const FFT_WARMUP = 3;
const RATE = 16000;
const decaying = (n, seed, tau) => noise(n, seed).map((v, i) => v * Math.exp(-i / tau));
const DELAY = 40;
const convCases = [
  { key: "a", task: "fftConvolve 10 s * 0.5 s RIR", x: noise(10 * RATE, 2), h: decaying(0.5 * RATE, 3, 1200), aligned: false },
  { key: "b", task: "convolveAligned 10 s * 0.5 s", x: noise(10 * RATE, 2), h: decaying(0.5 * RATE, 3, 1200), aligned: true },
  { key: "c", task: "fftConvolve 3 s * 0.8 s RIR", x: noise(3 * RATE, 4), h: decaying(0.8 * RATE, 5, 2000), aligned: false },
  { key: "d", task: "convolveAligned 3 s * 0.8 s", x: noise(3 * RATE, 4), h: decaying(0.8 * RATE, 5, 2000), aligned: true },
];
const SCIPY_SERVER = `
import sys, json, time
import numpy as np
from scipy.signal import fftconvolve, oaconvolve
cases = {}
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "load":
        x = np.fromfile(cmd["x"], dtype=np.float32)
        h = np.fromfile(cmd["h"], dtype=np.float32)
        c = {"x": x, "h": h, "x64": x.astype(np.float64), "h64": h.astype(np.float64), "d": cmd["delay"] if cmd["aligned"] else None}
        cases[cmd["key"]] = c
        ref = fftconvolve(c["x64"], c["h64"])
        if c["d"] is not None:
            ref = ref[c["d"]:c["d"] + len(x)]
        ref.astype(np.float64).tofile(cmd["ref"])
        errs = {}
        for impl, f in (("f32", fftconvolve), ("oa32", oaconvolve)):
            y = f(x, h).astype(np.float64)
            if c["d"] is not None:
                y = y[c["d"]:c["d"] + len(x)]
            errs[impl] = float(np.sqrt(np.sum((y - ref) ** 2) / np.sum(ref ** 2)))
        print(json.dumps(errs), flush=True)
    else:
        c = cases[cmd["key"]]
        x, h = (c["x64"], c["h64"]) if cmd["impl"] == "f64" else (c["x"], c["h"])
        f = oaconvolve if cmd["impl"] == "oa32" else fftconvolve
        t0 = time.perf_counter()
        y = f(x, h)
        if c["d"] is not None:
            y = y[c["d"]:c["d"] + len(c["x"])].copy()
        print(json.dumps({"ms": (time.perf_counter() - t0) * 1e3}), flush=True)
`;

function relL2(y, ref) {
  let e = 0;
  let r = 0;
  for (let i = 0; i < ref.length; i++) {
    e += (y[i] - ref[i]) ** 2;
    r += ref[i] ** 2;
  }
  return Math.sqrt(e / r);
}

const tmp = mkdtempSync(path.join(tmpdir(), "augment-dsp-"));
const server = spawn("/usr/bin/python3", ["-c", SCIPY_SERVER], { stdio: ["pipe", "pipe", "inherit"] });
server.on("error", (e) => console.error(`scipy unavailable: ${e.message}`));
server.stdin.on("error", () => {});
const replies = createInterface({ input: server.stdout })[Symbol.asyncIterator]();
let scipyOk = true;
async function ask(cmd) {
  server.stdin.write(JSON.stringify(cmd) + "\n");
  const { value, done } = await replies.next();
  if (done) throw new Error("the scipy process ended");
  return JSON.parse(value);
}
const convRows = [];
for (const c of convCases) {
  const files = { x: path.join(tmp, `${c.key}.x`), h: path.join(tmp, `${c.key}.h`), ref: path.join(tmp, `${c.key}.ref`) };
  writeFileSync(files.x, c.x);
  writeFileSync(files.h, c.h);
  let scipyErr = {};
  let ref = null;
  try {
    if (!scipyOk) throw new Error("skipped");
    scipyErr = await ask({ op: "load", key: c.key, ...files, aligned: c.aligned, delay: DELAY });
    const bytes = readFileSync(files.ref);
    ref = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
  } catch (e) {
    if (scipyOk) console.error(`scipy unavailable: ${e.message}`);
    scipyOk = false;
  }
  const run = (h) => (c.aligned ? convolveAligned(c.x, h, DELAY) : fftConvolve(c.x, h));
  const impls = [
    { impl: "augment (wasm simd f32, cached RIR)", fn: () => (setFftConvolveKernel("wasm"), run(c.h)) },
    { impl: "augment (wasm simd f32, new RIR)", fn: () => (setFftConvolveKernel("wasm"), run(c.h.slice())) },
    { impl: "augment (fft.js f64 fallback, cached RIR)", fn: () => (setFftConvolveKernel("js"), run(c.h)) },
  ];
  const scipyImpls = scipyOk
    ? [
        { impl: "scipy fftconvolve (f32)", py: "f32", err: scipyErr.f32 },
        { impl: "scipy oaconvolve (f32)", py: "oa32", err: scipyErr.oa32 },
        { impl: "scipy fftconvolve (f64)", py: "f64", err: 0 },
      ]
    : [];
  const times = new Map([...impls, ...scipyImpls].map((i) => [i.impl, []]));
  for (let round = 0; round < FFT_WARMUP + FFT_RUNS; round++) {
    // Rotate the order each round so no implementation always runs right after another.
    const order = [...impls, ...scipyImpls];
    for (let s = 0; s < round % order.length; s++) order.push(order.shift());
    for (const i of order) {
      let ms;
      if (i.fn) {
        const t0 = performance.now();
        i.fn();
        ms = performance.now() - t0;
      } else {
        ms = (await ask({ op: "time", key: c.key, impl: i.py })).ms;
      }
      if (round >= FFT_WARMUP) times.get(i.impl).push(ms);
    }
  }
  setFftConvolveKernel("wasm");
  for (const i of [...impls, ...scipyImpls]) {
    const t = times.get(i.impl).sort((a, b) => a - b);
    let err = i.err;
    if (i.fn && ref) err = relL2(i.fn(), ref);
    convRows.push({ task: c.task, impl: i.impl, ms: t[t.length >> 1], min: t[0], max: t[t.length - 1], n: c.x.length, err });
  }
  setFftConvolveKernel("wasm");
}
server.stdin.end();
rmSync(tmp, { recursive: true, force: true });

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

console.log(`\nFFT convolution at 16 kHz: ${FFT_RUNS} interleaved rounds (median; min-max), after ${FFT_WARMUP} warm-up rounds\n`);
console.log(`${"task".padEnd(31)}${"implementation".padEnd(43)}${"ms".padStart(8)}${"min-max".padStart(15)}${"x realtime".padStart(12)}${"rel. L2 vs f64".padStart(16)}`);
for (const r of convRows) {
  const spread = `${r.min.toFixed(2)}-${r.max.toFixed(2)}`;
  const err = r.err === undefined ? "" : r.err === 0 ? "(reference)" : r.err.toExponential(1);
  console.log(`${r.task.padEnd(31)}${r.impl.padEnd(43)}${r.ms.toFixed(2).padStart(8)}${spread.padStart(15)}${(r.n / RATE / (r.ms / 1000)).toFixed(0).padStart(12)}${err.padStart(16)}`);
}
