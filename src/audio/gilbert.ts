// Bursty packet loss: the Gilbert-Elliott two-state Markov channel (E. N. Gilbert, "Capacity of a
// burst-noise channel", Bell Syst. Tech. J. 39, 1960; E. O. Elliott, "Estimates of error rates for
// codes on burst-noise channels", BSTJ 42, 1963), in the form used for VoIP loss modelling
// (ITU-T G.1050 and RFC 3611 sec. 4.7.2 report its parameters): a Good state G and a Bad state B,
// moving G → B with probability p and B → G with probability r per frame, a frame being lost with
// probability k in G and h in B. With k = 0 and h = 1 (the "simple Gilbert" model used here) the
// loss process is the state itself, and two numbers a user thinks in fix the chain:
//   loss rate  = pi_B = p / (p + r)
//   mean burst = 1 / r            (frames; burst lengths are geometric)
// so r = 1 / meanBurst and p = lossRate r / (1 - lossRate) (p <= 1 needs lossRate <= 1 / (1 + r)).
// The first frame's state is drawn from the stationary distribution, so the process is stationary
// from frame 0. The uniforms come from the caller (a counter-based generator seeded at plan
// time), so a pattern is a pure function of (parameters, seed, frame count).

export interface GilbertParams {
  /** P(G → B) per frame. */
  p: number;
  /** P(B → G) per frame. */
  r: number;
}

/** Transition probabilities for a stationary loss rate and mean burst length (frames). */
export function gilbertFromLoss(lossRate: number, meanBurstFrames: number): GilbertParams {
  if (!(lossRate >= 0 && lossRate < 1)) throw new RangeError(`loss rate must be in [0, 1), got ${lossRate}`);
  if (!(meanBurstFrames >= 1)) throw new RangeError(`mean burst must be >= 1 frame, got ${meanBurstFrames}`);
  const r = 1 / meanBurstFrames;
  const p = (lossRate * r) / (1 - lossRate);
  if (p > 1) throw new RangeError(`loss rate ${lossRate} with mean burst ${meanBurstFrames} needs P(G→B) = ${p.toFixed(3)} > 1`);
  return { p, r };
}

/** Lost (1) or received (0) for each of `frames` frames. */
export function gilbertPattern(frames: number, g: GilbertParams, uniform: () => number): Uint8Array {
  const lost = new Uint8Array(frames);
  if (frames === 0 || g.p === 0) return lost;
  let bad = uniform() < g.p / (g.p + g.r);
  for (let i = 0; i < frames; i++) {
    if (i > 0) bad = bad ? uniform() >= g.r : uniform() < g.p;
    lost[i] = bad ? 1 : 0;
  }
  return lost;
}

/** Loss runs as [firstFrame, count] pairs. */
export function lossRuns(lost: Uint8Array): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let i = 0; i < lost.length; i++) {
    if (!lost[i]) continue;
    let j = i;
    while (j + 1 < lost.length && lost[j + 1]) j++;
    runs.push([i, j - i + 1]);
    i = j;
  }
  return runs;
}

export type Concealment = "zero" | "repeat";

/**
 * Applies a loss pattern to audio cut in frames of `frameLength` samples (the last may be short):
 * a lost frame becomes silence (`zero`) or a copy of the last received frame (`repeat`, the
 * simplest packet-loss concealment; a loss before any frame was received is silence). Length kept.
 */
export function applyPacketLoss(x: Float32Array, frameLength: number, lost: Uint8Array, concealment: Concealment): Float32Array {
  const out = Float32Array.from(x);
  let lastGood = -1;
  const frames = Math.ceil(x.length / frameLength);
  for (let f = 0; f < frames; f++) {
    const start = f * frameLength;
    const end = Math.min(x.length, start + frameLength);
    if (!lost[f]) {
      lastGood = f;
      continue;
    }
    if (concealment === "zero" || lastGood < 0) {
      out.fill(0, start, end);
    } else {
      const src = lastGood * frameLength;
      for (let i = start; i < end; i++) out[i] = x[src + (i - start)];
    }
  }
  return out;
}
