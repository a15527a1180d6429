// `accent`: a preset that makes one utterance sound like another speaker with another speaking
// style, combining vtlp + formant + pitch + prosody in ranges that keep speech intelligible. The
// sampler draws every sub-op's parameters (recorded in provenance under the recipe fields' names:
// vtlp_alpha, boundary_hz, formant_ratio, semitones, prosody_step_s, prosody_tempo[],
// prosody_semitones[], with duration_s the input duration the contour was drawn for); apply runs
// the kernels in two passes plus one envelope pass:
//   1. vtlp (alpha, boundary): the whole spectrum warped, vocal-tract length and f0 scaled by alpha;
//   2. prosody with the pitch shift added to its semitone contour (a constant offset on the
//      contour is exactly `pitch` followed by `prosody`, one WSOLA + resampling pass fewer);
//   3. one spectral-envelope pass that undoes the formant movement of step 2 (pitch and
//      intonation move f0 only) and applies the formant ratio.
// So formants end at alpha x formant_ratio, f0 at alpha x 2^((semitones + contour(t)) / 12), and
// word times follow the prosody map.
//
// Default ranges and why (each also a recipe field):
//   vtlp_alpha [0.9, 1.1]: Jaitly & Hinton's range; VTLN warp factors fitted to real speakers
//     span about 0.88-1.12 (Lee & Rose, "A frequency warping approach to speaker normalization",
//     IEEE TSAP 6(1), 1998), so every draw is a plausible vocal-tract length.
//   formant_ratio [0.94, 1.06]: an extra shift of the envelope relative to f0; with vtlp the
//     formants move by at most 1.1 x 1.06 = +17% / 0.9 x 0.94 = -15%, inside the 15-20% spread
//     of F1/F2 between adult male and female speakers (Peterson & Barney, JASA 24(2), 1952),
//     so vowels stay inside the natural vowel space and keep their identity.
//   semitones [-2, 2]: a speaker's f0 offset; with vtlp's alpha the f0 change stays within about
//     +-3.8 semitones (+-5.3 at the extremes of the prosody contour), inside one speaker's usual
//     f0 range and far from octave-scale
//     shifts; the formants do not follow it (step 3), so the voice does not turn "chipmunk".
//   prosody_tempo [0.9, 1.1] and prosody_semitones [-1.5, 1.5] every 0.8 s: speaking rate varies
//     by +-10% and intonation by +-1.5 semitones over phrase-length stretches, as natural
//     within-speaker variation does; at these rates WSOLA keeps the log-mel spectrogram within
//     ~0.8 dB of the time-mapped input (bench/README-voice.md).
import { z } from "zod";
import { prosody, prosodyMaps, type ProsodyContour } from "../audio/prosody.js";
import { vtlp } from "../audio/vtlp.js";
import { drawValue, probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import { drawVtlpWarp } from "./vtlp.js";
import { boundedRange, contourDurationFactor, drawContour } from "./prosody.js";
import type { OpDefinition } from "./types.js";

export const accentSchema = z
  .object({
    vtlp_alpha: valueOrRange("VTLP warp factor alpha.", { min: 0.8, max: 1.25 }).default([0.9, 1.1]),
    boundary_hz: z.number().positive().nullable().default(null).describe("VTLP boundary frequency in Hz; null = 0.6 x the Nyquist."),
    formant_ratio: valueOrRange("Formant ratio on top of vtlp (pitch kept).", { min: 0.8, max: 1.25 }).default([0.94, 1.06]),
    semitones: valueOrRange("Constant pitch offset in semitones (formants kept).", { min: -6, max: 6 }).default([-2, 2]),
    prosody_tempo: boundedRange("Local tempo factor of the prosody contour.", 0.7, 1.4, [0.9, 1.1]),
    prosody_semitones: boundedRange("Local intonation offset of the prosody contour, semitones.", -4, 4, [-1.5, 1.5]),
    prosody_step_s: z.number().min(0.1).max(10).default(0.8).describe("Seconds of input between prosody control points."),
    p: probability,
  })
  .strict();

export type AccentConfig = z.infer<typeof accentSchema>;

/** Flat, named like the recipe fields, so provenance and the run summary show each sub-op's draw. */
export interface AccentParams {
  op: "accent";
  vtlp_alpha: number;
  boundary_hz: number;
  formant_ratio: number;
  semitones: number;
  prosody_step_s: number;
  /** Input duration the prosody contour was drawn for (s). */
  duration_s: number;
  prosody_tempo: number[];
  prosody_semitones: number[];
  [k: string]: unknown;
}

function contourOf(p: AccentParams): ProsodyContour {
  return { stepS: p.prosody_step_s, tempo: p.prosody_tempo, semitones: p.prosody_semitones };
}

export const accentOp: OpDefinition<AccentConfig, AccentParams> = {
  name: "accent",
  summary: "Preset: vtlp + formant + pitch + prosody drawn together in ranges that keep speech intelligible (speaker and speaking-style change).",
  schema: accentSchema,
  sample(c, rng, ctx) {
    const { alpha, boundaryHz } = drawVtlpWarp("accent", c.vtlp_alpha as ValueOrRange, c.boundary_hz, rng, ctx.sampleRate);
    const ratio = roundTo(drawValue(c.formant_ratio as ValueOrRange, rng), 4);
    const semitones = roundTo(drawValue(c.semitones as ValueOrRange, rng), 3);
    const contour = drawContour(rng, ctx.durationS, c.prosody_step_s, c.prosody_tempo, c.prosody_semitones);
    return {
      op: "accent",
      vtlp_alpha: alpha,
      boundary_hz: boundaryHz,
      formant_ratio: ratio,
      semitones,
      prosody_step_s: c.prosody_step_s,
      duration_s: roundTo(ctx.durationS, 4),
      prosody_tempo: contour.tempo,
      prosody_semitones: contour.semitones,
    };
  },
  durationFactor: (p) => contourDurationFactor(contourOf(p), p.duration_s),
  mapTime: (p) => {
    const time = prosodyMaps(contourOf(p)).time;
    return (t) => time.forward(t);
  },
  apply(x, p, ctx) {
    const warped = p.vtlp_alpha === 1 ? x : vtlp(x, ctx.sampleRate, p.vtlp_alpha, p.boundary_hz);
    const contour = contourOf(p);
    const shifted: ProsodyContour = { ...contour, semitones: contour.semitones.map((s) => s + p.semitones) };
    const audio = prosody(warped, ctx.sampleRate, shifted, { preserveFormants: true, formantRatio: p.formant_ratio });
    return { audio, measured: { samples_in: x.length, duration_ratio: Math.round((audio.length / Math.max(1, x.length)) * 1e6) / 1e6 } };
  },
};
