// The resampler against scipy.signal.resample_poly, an independent implementation: with scipy's
// own default filter on a band-limited signal (the two designs differ, so the match is only as
// close as their passbands), and with our filter handed to scipy (then the two must agree to
// Float32 precision, which pins down our phase bookkeeping and zero-delay alignment).
import { describe, expect, it } from "vitest";
import { resample, resamplerFilter } from "../src/audio/resample.js";
import { runPython } from "./helpers/python.js";

const log = (...parts: unknown[]) => console.log("[dsp-scipy]", ...parts);

// Reads float64 x from stdin and an optional float64 filter from the file named in argv[4];
// prints resample_poly's output as base64 float64.
const SCIPY_RESAMPLE = `
import sys, base64, numpy as np
from scipy.signal import resample_poly
up, down = int(sys.argv[1]), int(sys.argv[2])
data = np.frombuffer(sys.stdin.buffer.read(), dtype=np.float64)
n = int(sys.argv[3])
x = data[:n]
if len(data) > n:
    y = resample_poly(x, up, down, window=data[n:])
else:
    y = resample_poly(x, up, down)
sys.stdout.write(base64.b64encode(np.ascontiguousarray(y, dtype=np.float64).tobytes()).decode())
`;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function scipyResample(x: Float32Array, from: number, to: number, filter?: Float64Array): Float64Array {
  const g = gcd(from, to);
  const input = new Float64Array(x.length + (filter?.length ?? 0));
  input.set(x);
  if (filter) input.set(filter, x.length);
  const out = runPython(SCIPY_RESAMPLE, [String(to / g), String(from / g), String(x.length)], Buffer.from(input.buffer));
  const bytes = Buffer.from(out, "base64");
  return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
}

/** Sum of 40 sines of fixed pseudo-random phases, spread over [50 Hz, maxHz]: a band-limited signal. */
function multitone(rate: number, seconds: number, maxHz: number): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  for (let k = 0; k < 40; k++) {
    const hz = 50 + ((maxHz - 50) * k) / 39;
    const phase = (k * 2.399963) % (2 * Math.PI);
    for (let i = 0; i < n; i++) x[i] += (0.02 * Math.sin((2 * Math.PI * hz * i) / rate + phase));
  }
  return x;
}

function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>, start: number, end: number): number {
  let err = 0;
  let ref = 0;
  for (let i = start; i < end; i++) {
    err += (a[i] - b[i]) ** 2;
    ref += b[i] ** 2;
  }
  return Math.sqrt(err / ref);
}

const PAIRS: Array<[number, number]> = [
  [48000, 16000],
  [16000, 8000],
  [22050, 16000],
  [8000, 16000],
  [17600, 16000],
];

describe("resample vs scipy.signal.resample_poly", () => {
  for (const [from, to] of PAIRS) {
    it(`${from} -> ${to}`, () => {
      const lowerNyquist = Math.min(from, to) / 2;
      const ours = resample(multitone(from, 1, 0.8 * lowerNyquist), from, to);
      const edge = Math.round(0.05 * to);
      const end = ours.length - edge;

      // scipy's default design (Kaiser beta 5, cutoff at the lower Nyquist, 20 max(L, M) + 1 taps)
      // droops and ripples more than ours; in the band up to 0.8 x lower Nyquist the two agree to
      // the size of that ripple.
      const scipyDefault = scipyResample(multitone(from, 1, 0.8 * lowerNyquist), from, to);
      const vsDefault = relativeL2(ours, scipyDefault, edge, end);
      // A narrower band (to 0.5 x lower Nyquist), where scipy's filter is flatter too.
      const oursLow = resample(multitone(from, 1, 0.5 * lowerNyquist), from, to);
      const vsDefaultLow = relativeL2(oursLow, scipyResample(multitone(from, 1, 0.5 * lowerNyquist), from, to), edge, end);

      // Our own filter run through scipy's upfirdn: the same linear operator, so only rounding differs.
      const fir = resamplerFilter(from, to);
      const up = to / gcd(from, to);
      const sameFilter = scipyResample(multitone(from, 1, 0.8 * lowerNyquist), from, to, fir.map((v) => v / up));
      const vsSame = relativeL2(ours, sameFilter, 0, Math.min(ours.length, sameFilter.length));

      log(
        `${from}->${to}: rel. L2 vs scipy default ${vsDefault.toExponential(2)} (tones to 0.8 Nyq), ` +
          `${vsDefaultLow.toExponential(2)} (to 0.5 Nyq); vs scipy with our filter ${vsSame.toExponential(2)} (whole signal, edges included)`,
      );
      expect(vsDefault).toBeLessThan(2e-3);
      expect(vsDefaultLow).toBeLessThan(2e-3);
      expect(vsSame).toBeLessThan(1e-6);
    });
  }
});
