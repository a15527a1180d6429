// Real speech codecs: MP3, Opus, AMR-NB, AMR-WB, Speex, Vorbis, AAC, G.722, G.726 through the
// ffmpeg bundled with the npm package @ffmpeg-installer/linux-x64 (src/codecs/ffmpeg.ts), and
// G.711 μ-law / A-law in-process (src/audio/g711.ts). One codec and setting is drawn per item from
// `choices` (by weight); the audio makes the round trip at the codec's rate (16 kHz → 8 kHz →
// AMR-NB → 8 kHz → 16 kHz), the codec's measured delay is removed, and the output has the input's
// length and timing (src/codecs/roundtrip.ts), so labels need no change.
//
// Throughput: the items of a batch reach this op together and share one ffmpeg encoder and one
// decoder process, one stream per clip (src/codecs/batcher.ts), started by a small helper process
// per engine thread (src/codecs/spawner.ts); every delay class the plan drew is timed once, in the
// main thread before the engine starts (beforeEngine); see bench/README-codecs.md.
//
// Provenance: the planned setting (codec, rate, bit rate or quality, Opus options) and, measured,
// the delay removed from this clip (samples at the op's rate and ms), the class delay the probe
// measured and the probe's correlation there, the encoded size and the bit rate it implies
// (container overhead and the 0.4 s silent tail included, so it reads a little low for VBR codecs
// and a little high for short clips).
import { z } from "zod";
import { requireEncoders } from "../codecs/ffmpeg.js";
import { DEFAULT_BATCHER_OPTIONS, FfmpegBatcher } from "../codecs/batcher.js";
import { codecRoundTrip, measureDelays } from "../codecs/roundtrip.js";
import { closeSharedRunner } from "../codecs/spawner.js";
import { CODECS, defaultCodecRate, type CodecName, type CodecSetting, type OpusApplication, type OpusBandwidthChoice, type OpusVbr } from "../codecs/table.js";
import type { Rng } from "../plan/rng.js";
import { probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import type { OpDefinition } from "./types.js";

const weight = z.number().positive().default(1).describe("Relative weight of this choice.");

function rateField(codec: CodecName) {
  const rates = CODECS[codec].rates as [number, ...number[]];
  return z
    .literal(rates)
    .optional()
    .describe(`Codec sample rate (Hz). Default: the recipe's rate if ${codec} has it, else the nearest below.`);
}

/** A discrete-mode bit rate: one mode, or [min, max] = any mode inside. */
function modeBitrate(codec: CodecName, def: ValueOrRange) {
  const modes = CODECS[codec].bitrates!(CODECS[codec].rates[0]);
  return valueOrRange(`Bit rate in b/s, one of ${modes.join(", ")}; a range draws uniformly among the modes inside it.`, { min: modes[0], max: modes[modes.length - 1] })
    .refine((v) => (typeof v === "number" ? modes.includes(v) : modes.some((m) => m >= v[0] && m <= v[1])), {
      message: `${codec} bit rates are ${modes.join(", ")} b/s (a range must contain one)`,
    })
    .default(def as any);
}

function oneOrList<T extends string>(values: readonly [T, ...T[]], description: string, def: T) {
  const e = z.enum(values);
  return z.union([e, z.array(e).min(1)]).default(def as any).describe(`${description} One value, or a list drawn from uniformly.`);
}

const choiceSchema = z.discriminatedUnion("codec", [
  z
    .object({
      codec: z.literal("mp3"),
      bitrate: valueOrRange("Bit rate in b/s (CBR); drawn among the MPEG bit rates of the codec rate inside the range (nearest one if none is).", { min: 8000, max: 320000 }).default([16000, 64000]),
      sample_rate: rateField("mp3"),
      weight,
    })
    .strict(),
  z
    .object({
      codec: z.literal("opus"),
      bitrate: valueOrRange("Bit rate in b/s, drawn in 1 kb/s steps.", { min: 6000, max: 510000 }).default([6000, 24000]),
      bandwidth: oneOrList(["auto", "nb", "mb", "wb", "swb", "fb"], "Largest audio bandwidth the encoder may use: nb 4 kHz, mb 6 kHz, wb 8 kHz, swb 12 kHz, fb 20 kHz; `auto` lets libopus choose from the bit rate.", "auto"),
      application: oneOrList(["voip", "audio", "lowdelay"], "libopus application.", "voip"),
      complexity: z
        .union([z.number().int().min(0).max(10), z.array(z.number().int().min(0).max(10)).min(1)])
        .default(10)
        .describe("libopus complexity 0-10, or a list drawn from uniformly (10 is libopus's default; WebRTC uses 9 on desktops and 5 on phones; 5 encodes about twice as fast as 10)."),
      vbr: z.enum(["on", "off", "constrained"]).default("on").describe("Rate control."),
      frame_ms: z.literal([10, 20, 40, 60]).default(20).describe("Frame duration in ms."),
      sample_rate: rateField("opus"),
      weight,
    })
    .strict(),
  z.object({ codec: z.literal("amr_nb"), bitrate: modeBitrate("amr_nb", [4750, 12200]), weight }).strict(),
  z.object({ codec: z.literal("amr_wb"), bitrate: modeBitrate("amr_wb", [6600, 23850]), weight }).strict(),
  z
    .object({
      codec: z.literal("speex"),
      quality: valueOrRange("CBR quality, integer 1-10 (a range draws an integer).", { min: 1, max: 10 }).default([3, 8]),
      sample_rate: rateField("speex"),
      weight,
    })
    .strict(),
  z
    .object({
      codec: z.literal("vorbis"),
      quality: valueOrRange("VBR quality, integer -1-10 (a range draws an integer).", { min: -1, max: 10 }).default([-1, 4]),
      sample_rate: rateField("vorbis"),
      weight,
    })
    .strict(),
  z
    .object({
      codec: z.literal("aac"),
      bitrate: valueOrRange("Bit rate in b/s, drawn in 1 kb/s steps.", { min: 8000, max: 256000 }).default([16000, 64000]),
      sample_rate: rateField("aac"),
      weight,
    })
    .strict(),
  z.object({ codec: z.literal("g722"), bitrate: modeBitrate("g722", 64000), weight }).strict(),
  z.object({ codec: z.literal("g726"), bitrate: modeBitrate("g726", [16000, 40000]), weight }).strict(),
  z.object({ codec: z.literal("mulaw"), weight }).strict(),
  z.object({ codec: z.literal("alaw"), weight }).strict(),
]);

export type CodecChoice = z.infer<typeof choiceSchema>;

const choicesDoc = Object.values(CODECS)
  .map((c) => `\`${c.name}\`: ${c.doc}`)
  .join("; ");

export const codecSchema = z
  .object({
    choices: z
      .array(choiceSchema)
      .min(1)
      .describe(`Codecs to draw from, by \`weight\`, each \`{codec: <name>, …}\` with its own settings: ${choicesDoc}. Every codec but G.711 runs through the bundled ffmpeg.`),
    p: probability,
  })
  .strict();

export type CodecConfig = z.infer<typeof codecSchema>;

export interface CodecParams extends CodecSetting {
  op: "codec";
  [k: string]: unknown;
}

function pick<T>(v: T | T[], rng: Rng): T {
  return Array.isArray(v) ? rng.choice(v) : v;
}

/** The modes inside a value or range, or else the one mode nearest its middle. */
function modesIn(v: ValueOrRange, modes: readonly number[]): number[] {
  const [lo, hi] = typeof v === "number" ? [v, v] : v;
  const inside = modes.filter((m) => m >= lo && m <= hi);
  if (inside.length) return inside;
  const mid = (lo + hi) / 2;
  return [modes.reduce((a, b) => (Math.abs(b - mid) < Math.abs(a - mid) ? b : a))];
}

/** A mode drawn uniformly among modesIn(v, modes). */
function drawMode(v: ValueOrRange, modes: readonly number[], rng: Rng): number {
  return rng.choice(modesIn(v, modes));
}

function drawInt(v: ValueOrRange, rng: Rng): number {
  if (typeof v === "number") return Math.round(v);
  const lo = Math.ceil(v[0]);
  const hi = Math.floor(v[1]);
  return hi < lo ? Math.round((v[0] + v[1]) / 2) : lo + rng.int(hi - lo + 1);
}

function drawStep(v: ValueOrRange, step: number, rng: Rng): number {
  if (typeof v === "number") return Math.round(v / step) * step;
  return drawInt([v[0] / step, v[1] / step], rng) * step;
}

/** Draws one setting from a choice (plan time). */
export function drawSetting(c: CodecChoice, rng: Rng, opRate: number): CodecSetting {
  const info = CODECS[c.codec];
  const rate = ("sample_rate" in c && c.sample_rate) || defaultCodecRate(c.codec, opRate);
  switch (c.codec) {
    case "mp3":
      return { codec: "mp3", sample_rate: rate, bitrate: drawMode(c.bitrate as ValueOrRange, info.bitrates!(rate), rng) };
    case "opus":
      return {
        codec: "opus",
        sample_rate: rate,
        bitrate: drawStep(c.bitrate as ValueOrRange, 1000, rng),
        bandwidth: pick(c.bandwidth, rng) as OpusBandwidthChoice,
        application: pick(c.application, rng) as OpusApplication,
        complexity: pick(c.complexity, rng),
        vbr: c.vbr as OpusVbr,
        frame_ms: c.frame_ms,
      };
    case "amr_nb":
    case "amr_wb":
    case "g722":
    case "g726":
      return { codec: c.codec, sample_rate: rate, bitrate: drawMode(c.bitrate as ValueOrRange, info.bitrates!(rate), rng) };
    case "speex":
    case "vorbis":
      return { codec: c.codec, sample_rate: rate, quality: drawInt(c.quality as ValueOrRange, rng) };
    case "aac":
      return { codec: "aac", sample_rate: rate, bitrate: drawStep(c.bitrate as ValueOrRange, 1000, rng) };
    case "mulaw":
    case "alaw":
      return { codec: c.codec, sample_rate: rate, bitrate: 64000 };
  }
}

/**
 * Every setting a choice can draw at `opRate` (the discrete values the sampler picks among:
 * modes, integer qualities, 1 kb/s steps, list entries). For tests and the benchmark.
 */
export function enumerateChoice(c: CodecChoice, opRate: number): CodecSetting[] {
  const info = CODECS[c.codec];
  const rate = ("sample_rate" in c && c.sample_rate) || defaultCodecRate(c.codec, opRate);
  const range = (v: ValueOrRange): [number, number] => (typeof v === "number" ? [v, v] : v);
  const steps = (v: ValueOrRange, step: number) => {
    const [lo, hi] = range(v);
    const out: number[] = [];
    for (let k = Math.ceil(lo / step); k <= Math.floor(hi / step); k++) out.push(k * step);
    return out.length ? out : [Math.round((lo + hi) / 2 / step) * step];
  };
  const modes = (v: ValueOrRange) => modesIn(v, info.bitrates!(rate));
  const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
  switch (c.codec) {
    case "mp3":
    case "amr_nb":
    case "amr_wb":
    case "g722":
    case "g726":
      return modes(c.bitrate as ValueOrRange).map((bitrate) => ({ codec: c.codec, sample_rate: rate, bitrate }));
    case "opus":
      return steps(c.bitrate as ValueOrRange, 1000).flatMap((bitrate) =>
        list(c.bandwidth).flatMap((bandwidth) =>
          list(c.application).flatMap((application) =>
            list(c.complexity).map((complexity) => ({
              codec: "opus" as const,
              sample_rate: rate,
              bitrate,
              bandwidth: bandwidth as OpusBandwidthChoice,
              application: application as OpusApplication,
              complexity,
              vbr: c.vbr as OpusVbr,
              frame_ms: c.frame_ms,
            })),
          ),
        ),
      );
    case "speex":
    case "vorbis":
      return steps(c.quality as ValueOrRange, 1).map((quality) => ({ codec: c.codec, sample_rate: rate, quality }));
    case "aac":
      return steps(c.bitrate as ValueOrRange, 1000).map((bitrate) => ({ codec: "aac" as const, sample_rate: rate, bitrate }));
    case "mulaw":
    case "alaw":
      return [{ codec: c.codec, sample_rate: rate, bitrate: 64000 }];
  }
}

export const codecOp: OpDefinition<CodecConfig, CodecParams> = {
  name: "codec",
  summary: "A real codec round trip (MP3, Opus, AMR-NB/WB, Speex, Vorbis, AAC, G.722, G.726 via the bundled ffmpeg; G.711 in-process), delay-compensated, same length.",
  schema: codecSchema,
  sample(c, rng, ctx) {
    const total = c.choices.reduce((a, ch) => a + ch.weight, 0);
    let u = rng.next() * total;
    let choice = c.choices[c.choices.length - 1];
    for (const ch of c.choices) {
      u -= ch.weight;
      if (u < 0) {
        choice = ch;
        break;
      }
    }
    return { op: "codec", ...drawSetting(choice, rng, ctx.sampleRate) };
  },
  async preflight(c) {
    const needed = new Map<string, string>();
    for (const ch of c.choices) {
      const enc = CODECS[ch.codec].encoder;
      if (enc) needed.set(ch.codec, enc);
    }
    if (needed.size) await requireEncoders(needed);
  },
  async beforeEngine(params, ctx) {
    // One probe flush here instead of one per engine thread; spawned directly: this thread is
    // not an engine thread and spawns twice.
    const settings = params.map(({ op: _op, ...s }) => s as CodecSetting);
    await measureDelays(settings, ctx.sampleRate, new FfmpegBatcher({ ...DEFAULT_BATCHER_OPTIONS, spawn: "direct" }));
  },
  closeThread: closeSharedRunner,
  async apply(x, p, ctx) {
    const { op: _op, ...setting } = p;
    const r = await codecRoundTrip(x, ctx.sampleRate, setting as CodecSetting);
    return {
      audio: r.audio,
      measured: {
        delay_samples: r.delaySamples,
        delay_ms: roundTo((1000 * r.delaySamples) / ctx.sampleRate, 3),
        class_delay_samples: r.classDelay.samples,
        probe_correlation: roundTo(r.classDelay.correlation, 4),
        encoded_bytes: r.encodedBytes,
        bitrate_measured: r.measuredBitrate,
        ...(r.zeroFilled ? { zero_filled: r.zeroFilled } : {}),
      },
    };
  },
};
