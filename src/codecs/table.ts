// What each codec is, in one table: the rates it runs at, its bit-rate modes or quality scale,
// and how ffmpeg encodes and decodes it. The codec op's schema, sampler and provenance, the
// batching service and the preflight check all read this table, so they cannot disagree.
//
// Rates: a codec runs at `codecRate` (the op's audio is resampled to it in-process with the
// zero-delay resampler of src/audio/resample.ts, and back after decoding), e.g. AMR-NB:
// 16 kHz → 8 kHz → AMR-NB → 8 kHz → 16 kHz. Where a codec has several rates the op's rate is used
// when the codec has it, else the nearest rate the codec has below it (else its lowest).
// Opus decodes at 48 kHz whatever it was fed (RFC 7845 sec. 5.1: the decoder's rate is its own
// choice; ffmpeg's decoders always use 48 kHz).

export type CodecName = "mp3" | "opus" | "amr_nb" | "amr_wb" | "speex" | "vorbis" | "aac" | "g722" | "g726" | "mulaw" | "alaw";

export const CODEC_NAMES: readonly CodecName[] = ["mp3", "opus", "amr_nb", "amr_wb", "speex", "vorbis", "aac", "g722", "g726", "mulaw", "alaw"];

export type OpusBandwidth = "nb" | "mb" | "wb" | "swb" | "fb";
export type OpusBandwidthChoice = OpusBandwidth | "auto";
export type OpusApplication = "voip" | "audio" | "lowdelay";
export type OpusVbr = "on" | "off" | "constrained";

/** One fully drawn codec setting: what the planner records and the engine runs. */
export interface CodecSetting {
  codec: CodecName;
  /** Codec sample rate, Hz. */
  sample_rate: number;
  /** Bits per second (nominal, as asked of the encoder); absent for quality-scaled codecs. */
  bitrate?: number;
  /** Speex CBR quality 1–10, Vorbis VBR quality -1–10. */
  quality?: number;
  /** Opus only. */
  /** Opus only: the largest audio bandwidth the encoder may use (libopus MAX_BANDWIDTH). */
  bandwidth?: OpusBandwidthChoice;
  application?: OpusApplication;
  complexity?: number;
  vbr?: OpusVbr;
  frame_ms?: number;
}

/** MPEG-1 Layer III bit rates (kb/s), for 32, 44.1 and 48 kHz (ISO/IEC 11172-3 table 3-B.2). */
const MP3_MPEG1_KBPS = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
/** MPEG-2/2.5 LSF Layer III bit rates (kb/s), for 8–24 kHz (ISO/IEC 13818-3 table B.2). */
const MP3_LSF_KBPS = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];

/** Opus bandwidths as ffmpeg's libopus wrapper takes them (`-cutoff` Hz; RFC 6716 sec. 2). */
export const OPUS_CUTOFF_HZ: Record<OpusBandwidth, number> = { nb: 4000, mb: 6000, wb: 8000, swb: 12000, fb: 20000 };

export interface CodecInfo {
  name: CodecName;
  title: string;
  /** ffmpeg encoder; null for the codecs done in-process (G.711). */
  encoder: string | null;
  rates: readonly number[];
  /** Discrete bit rates (b/s) for a codec rate, or a continuous range quantised to `step`. */
  bitrates?: (rate: number) => readonly number[];
  bitrateRange?: { min: number; max: number; step: number };
  quality?: { min: number; max: number };
  /** Rate of the decoded PCM ffmpeg returns. */
  decodeRate(s: CodecSetting): number;
  /** Output options after `-map`: encoder, its settings, muxer. */
  encodeArgs(s: CodecSetting): string[];
  /** Input options for the decoder process, before its `-i`. */
  decodeArgs(s: CodecSetting): string[];
  /**
   * The setting whose measured delay stands for `s`'s: `s` with the parameters that do not move
   * the delay set to fixed values. Measured (bench/README-codecs.md, "Delays"): MP3, AAC, Vorbis,
   * Speex, AMR-NB/WB, G.722 and G.726 have one delay per codec and rate, the same at every bit rate
   * or quality to the sample; Opus moves by up to 2 samples at 16 kHz with its internal mode
   * (bit rate, bandwidth, application), which the per-clip refinement of roundtrip.ts absorbs.
   */
  delayReference(s: CodecSetting): CodecSetting;
  /** Range text for the docs. */
  doc: string;
}

const same = (s: CodecSetting) => s.sample_rate;

export const CODECS: Readonly<Record<CodecName, CodecInfo>> = {
  mp3: {
    name: "mp3",
    title: "MP3 (LAME, CBR)",
    encoder: "libmp3lame",
    rates: [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000],
    bitrates: (rate) => (rate >= 32000 ? MP3_MPEG1_KBPS : MP3_LSF_KBPS).map((k) => k * 1000),
    decodeRate: same,
    encodeArgs: (s) => ["-c:a", "libmp3lame", "-b:a", String(s.bitrate), "-f", "mp3"],
    decodeArgs: () => ["-f", "mp3"],
    delayReference: (s) => ({ codec: "mp3", sample_rate: s.sample_rate, bitrate: s.sample_rate >= 32000 ? 128000 : 64000 }),
    doc: "`bitrate` 8000–160000 b/s at 8–24 kHz (MPEG-2/2.5 steps 8, 16, 24 … 160 kb/s), 32000–320000 at 32–48 kHz",
  },
  opus: {
    name: "opus",
    title: "Opus (libopus, Ogg)",
    encoder: "libopus",
    rates: [8000, 12000, 16000, 24000, 48000],
    bitrateRange: { min: 6000, max: 510000, step: 1000 },
    decodeRate: () => 48000,
    encodeArgs: (s) => [
      "-c:a", "libopus",
      "-b:a", String(s.bitrate),
      "-application", s.application ?? "voip",
      // "auto": no cap, libopus picks the bandwidth from the bit rate.
      ...(s.bandwidth && s.bandwidth !== "auto" ? ["-cutoff", String(OPUS_CUTOFF_HZ[s.bandwidth])] : []),
      "-vbr", s.vbr ?? "on",
      "-compression_level", String(s.complexity ?? 10),
      "-frame_duration", String(s.frame_ms ?? 20),
      "-f", "opus",
    ],
    decodeArgs: () => ["-f", "ogg"],
    delayReference: (s) => ({ ...s, bitrate: 16000, complexity: 10, vbr: "on" }),
    doc: "`bitrate` 6000–510000 b/s (1 kb/s steps); `bandwidth` (largest allowed) auto | nb (4 kHz) | mb | wb (8 kHz) | swb | fb; `application` voip | audio | lowdelay; `complexity` 0–10; `vbr` on | off | constrained; `frame_ms` 10 | 20 | 40 | 60",
  },
  amr_nb: {
    name: "amr_nb",
    title: "AMR-NB (3GPP TS 26.071, OpenCORE)",
    encoder: "libopencore_amrnb",
    rates: [8000],
    bitrates: () => [4750, 5150, 5900, 6700, 7400, 7950, 10200, 12200],
    decodeRate: () => 8000,
    encodeArgs: (s) => ["-c:a", "libopencore_amrnb", "-b:a", String(s.bitrate), "-dtx", "0", "-f", "amr"],
    decodeArgs: () => ["-f", "amr"],
    delayReference: () => ({ codec: "amr_nb", sample_rate: 8000, bitrate: 12200 }),
    doc: "`bitrate` one of the 8 modes 4750, 5150, 5900, 6700, 7400, 7950, 10200, 12200 b/s; runs at 8 kHz",
  },
  amr_wb: {
    name: "amr_wb",
    title: "AMR-WB (3GPP TS 26.171, VisualOn)",
    encoder: "libvo_amrwbenc",
    rates: [16000],
    bitrates: () => [6600, 8850, 12650, 14250, 15850, 18250, 19850, 23050, 23850],
    decodeRate: () => 16000,
    encodeArgs: (s) => ["-c:a", "libvo_amrwbenc", "-b:a", String(s.bitrate), "-dtx", "0", "-f", "amr"],
    decodeArgs: () => ["-f", "amr"],
    delayReference: () => ({ codec: "amr_wb", sample_rate: 16000, bitrate: 23850 }),
    doc: "`bitrate` one of the 9 modes 6600, 8850, 12650, 14250, 15850, 18250, 19850, 23050, 23850 b/s; runs at 16 kHz",
  },
  speex: {
    name: "speex",
    title: "Speex (libspeex CBR, Ogg)",
    encoder: "libspeex",
    rates: [8000, 16000, 32000],
    // Quality 0 (2.15 kb/s narrowband) is a vocoder mode that does not keep the waveform: its
    // output does not correlate with its input at any one lag, so it can be neither timed nor
    // aligned, and is not offered.
    quality: { min: 1, max: 10 },
    decodeRate: same,
    encodeArgs: (s) => ["-c:a", "libspeex", "-cbr_quality", String(s.quality), "-f", "ogg"],
    decodeArgs: () => ["-f", "ogg"],
    delayReference: (s) => ({ codec: "speex", sample_rate: s.sample_rate, quality: 8 }),
    doc: "`quality` 1–10 (CBR; narrowband 3.95–24.6 kb/s at 8 kHz, wideband 5.75–42.2 kb/s at 16 kHz); `sample_rate` 8000 (nb) | 16000 (wb) | 32000 (uwb)",
  },
  vorbis: {
    name: "vorbis",
    title: "Vorbis (libvorbis VBR, Ogg)",
    encoder: "libvorbis",
    rates: [8000, 11025, 16000, 22050, 32000, 44100, 48000],
    quality: { min: -1, max: 10 },
    decodeRate: same,
    encodeArgs: (s) => ["-c:a", "libvorbis", "-q:a", String(s.quality), "-f", "ogg"],
    decodeArgs: () => ["-f", "ogg"],
    delayReference: (s) => ({ codec: "vorbis", sample_rate: s.sample_rate, quality: 5 }),
    doc: "`quality` -1–10 (integer VBR quality)",
  },
  aac: {
    name: "aac",
    title: "AAC-LC (ffmpeg's encoder, ADTS)",
    encoder: "aac",
    rates: [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000],
    bitrateRange: { min: 8000, max: 256000, step: 1000 },
    decodeRate: same,
    encodeArgs: (s) => ["-c:a", "aac", "-b:a", String(s.bitrate), "-f", "adts"],
    decodeArgs: () => ["-f", "aac"],
    delayReference: (s) => ({ codec: "aac", sample_rate: s.sample_rate, bitrate: 32000 }),
    doc: "`bitrate` 8000–256000 b/s (1 kb/s steps)",
  },
  g722: {
    name: "g722",
    title: "G.722 (SB-ADPCM, 16 kHz)",
    encoder: "g722",
    rates: [16000],
    bitrates: () => [48000, 56000, 64000],
    decodeRate: () => 16000,
    // ffmpeg's encoder writes the 64 kb/s stream; the 56 and 48 kb/s modes are the decoder
    // ignoring the 1 or 2 low bits of each codeword (ITU-T G.722 sec. 1.4.3, modes 2 and 3).
    encodeArgs: () => ["-c:a", "g722", "-f", "g722"],
    decodeArgs: (s) => ["-bits_per_codeword", String(Math.round((s.bitrate ?? 64000) / 8000)), "-f", "g722"],
    delayReference: () => ({ codec: "g722", sample_rate: 16000, bitrate: 64000 }),
    doc: "`bitrate` 48000 | 56000 | 64000 b/s (decoder modes 3, 2, 1); runs at 16 kHz",
  },
  g726: {
    name: "g726",
    title: "G.726 (ADPCM, 8 kHz)",
    encoder: "g726",
    rates: [8000],
    bitrates: () => [16000, 24000, 32000, 40000],
    decodeRate: () => 8000,
    encodeArgs: (s) => ["-c:a", "g726", "-code_size", String((s.bitrate ?? 32000) / 8000), "-f", "g726"],
    decodeArgs: (s) => ["-f", "g726", "-code_size", String((s.bitrate ?? 32000) / 8000), "-sample_rate", "8000"],
    delayReference: () => ({ codec: "g726", sample_rate: 8000, bitrate: 32000 }),
    doc: "`bitrate` 16000 | 24000 | 32000 | 40000 b/s (2–5 bits per sample); runs at 8 kHz",
  },
  mulaw: g711("mulaw", "G.711 μ-law (in-process)"),
  alaw: g711("alaw", "G.711 A-law (in-process)"),
};

/** G.711 runs in process (src/audio/g711.ts): 64 kb/s at 8 kHz, no ffmpeg arguments. */
function g711(name: "mulaw" | "alaw", title: string): CodecInfo {
  return {
    name,
    title,
    encoder: null,
    rates: [8000],
    bitrates: () => [64000],
    decodeRate: () => 8000,
    encodeArgs: () => [],
    decodeArgs: () => [],
    delayReference: () => ({ codec: name, sample_rate: 8000, bitrate: 64000 }),
    doc: "64 kb/s at 8 kHz, in-process (no ffmpeg)",
  };
}

/** The codec's rate for audio at `opRate`: the op's rate if the codec has it, else the nearest below, else the lowest. */
export function defaultCodecRate(codec: CodecName, opRate: number): number {
  const rates = CODECS[codec].rates;
  if (rates.includes(opRate)) return opRate;
  const below = rates.filter((r) => r < opRate);
  return below.length ? below[below.length - 1] : rates[0];
}

/** A stable key for one setting (delay cache, grouping, messages). */
export function settingKey(s: CodecSetting): string {
  const parts: string[] = [s.codec, `${s.sample_rate}Hz`];
  if (s.bitrate !== undefined) parts.push(`${s.bitrate}bps`);
  if (s.quality !== undefined) parts.push(`q${s.quality}`);
  if (s.bandwidth) parts.push(s.bandwidth);
  if (s.application) parts.push(s.application);
  if (s.complexity !== undefined) parts.push(`c${s.complexity}`);
  if (s.vbr) parts.push(`vbr-${s.vbr}`);
  if (s.frame_ms !== undefined) parts.push(`${s.frame_ms}ms`);
  return parts.join(" ");
}
