// Real codecs through the bundled ffmpeg: every codec's stream decodes with Debian's own ffmpeg (an
// independent build) at the expected rate and band; after delay compensation every codec and bit
// rate of the presets is aligned with its input to one sample at 16 kHz, with the input's length;
// clips are batched into few processes and their output does not depend on their neighbours;
// a clip that breaks ffmpeg, a hung ffmpeg and a missing or broken binary each give one clear error.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { resample } from "../src/audio/resample.js";
import { xcorrLag } from "../src/audio/xcorr.js";
import { FfmpegBatcher, DEFAULT_BATCHER_OPTIONS } from "../src/codecs/batcher.js";
import { checkFfmpeg, locateFfmpeg } from "../src/codecs/ffmpeg.js";
import { codecDelay, codecRoundTrip, rawRoundTrip } from "../src/codecs/roundtrip.js";
import { closeSharedRunner, sharedRunner } from "../src/codecs/spawner.js";
import { CODECS, settingKey, type CodecSetting } from "../src/codecs/table.js";
import { codecOp, codecSchema, enumerateChoice } from "../src/ops/codec.js";
import { ROOT, tempDir } from "./helpers/fixtures.js";
import { concat, demoSpeech, type DemoClip } from "./helpers/speech.js";
import { energyAboveDb, bandEnergy, powerSpectrum } from "./helpers/spectrum.js";

const SR = 16000;
const DEBIAN_FFMPEG = "/usr/bin/ffmpeg";
const DEBIAN_FFPROBE = "/usr/bin/ffprobe";

let speech: DemoClip[];
let sentence: Float32Array;

beforeAll(async () => {
  speech = await demoSpeech(SR);
  sentence = concat(speech.slice(0, 4).map((c) => c.audio));
});

function f32(buf: Buffer): Float32Array {
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
}

/** SNR of b against a after aligning b to a within ±maxLag samples. */
function alignedSnrDb(a: Float32Array, b: Float32Array, maxLag: number): number {
  const { lag } = xcorrLag(a, b, maxLag);
  let es = 0;
  let en = 0;
  for (let i = 0; i < a.length; i++) {
    const j = i + lag;
    const v = j >= 0 && j < b.length ? b[j] : 0;
    es += a[i] * a[i];
    en += (v - a[i]) ** 2;
  }
  return 10 * Math.log10(es / en);
}

describe("the bundled ffmpeg", () => {
  it("is found inside @ffmpeg-installer/linux-x64, runs, and has every encoder the table names", async () => {
    const loc = locateFfmpeg({});
    expect(loc.from).toBe("@ffmpeg-installer/linux-x64");
    expect(loc.path).toMatch(/node_modules\/@ffmpeg-installer\/linux-x64\/ffmpeg$/);
    const info = await checkFfmpeg({});
    expect(info.version).toMatch(/^ffmpeg version /);
    for (const c of Object.values(CODECS)) if (c.encoder) expect(info.encoders.has(c.encoder), c.encoder).toBe(true);
  });

  it("a missing or broken binary is one clear error, checked once per process", async () => {
    await expect(checkFfmpeg({ AUGMENT_FFMPEG: "/nonexistent/ffmpeg" })).rejects.toThrow("ffmpeg not found at /nonexistent/ffmpeg (from AUGMENT_FFMPEG)");
    const dir = tempDir("augment-ffbad-");
    const log = path.join(dir, "runs.log");
    const broken = path.join(dir, "ffmpeg");
    writeFileSync(broken, `#!/bin/sh\necho run >> ${log}\necho "error while loading shared libraries: libfoo.so" >&2\nexit 127\n`);
    chmodSync(broken, 0o755);
    const env = { AUGMENT_FFMPEG: broken };
    await expect(checkFfmpeg(env)).rejects.toThrow(/is broken: exit 127: error while loading shared libraries/);
    await expect(checkFfmpeg(env)).rejects.toThrow(/is broken/);
    expect(readFileSync(log, "utf8").trim().split("\n")).toHaveLength(1);
    // The op's preflight says which codec needs what.
    const notExec = path.join(dir, "not-executable");
    writeFileSync(notExec, "");
    await expect(checkFfmpeg({ AUGMENT_FFMPEG: notExec })).rejects.toThrow(/is not executable/);
  });
});

interface DecodeCase {
  setting: CodecSetting;
  ext: string;
  /** Input options Debian's ffmpeg needs for a raw stream. */
  demux?: string[];
  /** Decoder choice for Debian's ffmpeg. */
  decoder?: string[];
  codecName: string;
  rate: number;
  band: "narrow" | "opus-narrow" | "wide";
}

const CASES: DecodeCase[] = [
  { setting: { codec: "mp3", sample_rate: 16000, bitrate: 32000 }, ext: "mp3", codecName: "mp3", rate: 16000, band: "wide" },
  { setting: { codec: "opus", sample_rate: 16000, bitrate: 12000, bandwidth: "nb", application: "voip", complexity: 10, vbr: "on", frame_ms: 20 }, ext: "opus", codecName: "opus", rate: 48000, band: "opus-narrow" },
  { setting: { codec: "opus", sample_rate: 16000, bitrate: 24000, bandwidth: "wb", application: "voip", complexity: 10, vbr: "on", frame_ms: 20 }, ext: "opus", codecName: "opus", rate: 48000, band: "wide" },
  { setting: { codec: "amr_nb", sample_rate: 8000, bitrate: 12200 }, ext: "amr", codecName: "amr_nb", rate: 8000, band: "narrow" },
  { setting: { codec: "amr_nb", sample_rate: 8000, bitrate: 4750 }, ext: "amr", codecName: "amr_nb", rate: 8000, band: "narrow" },
  { setting: { codec: "amr_wb", sample_rate: 16000, bitrate: 12650 }, ext: "amr", codecName: "amr_wb", rate: 16000, band: "wide" },
  // Debian's ffmpeg 5.1 has a native Speex decoder too, which leaves out libspeex's perceptual
  // enhancer (it decodes our streams, but 16 dB away from libspeex's output at 16 kHz): compare
  // with its libspeex decoder, the one the bundled ffmpeg uses.
  { setting: { codec: "speex", sample_rate: 8000, quality: 8 }, ext: "spx", decoder: ["-c:a", "libspeex"], codecName: "speex", rate: 8000, band: "narrow" },
  { setting: { codec: "speex", sample_rate: 16000, quality: 8 }, ext: "spx", decoder: ["-c:a", "libspeex"], codecName: "speex", rate: 16000, band: "wide" },
  { setting: { codec: "vorbis", sample_rate: 16000, quality: 3 }, ext: "ogg", codecName: "vorbis", rate: 16000, band: "wide" },
  { setting: { codec: "aac", sample_rate: 16000, bitrate: 48000 }, ext: "aac", codecName: "aac", rate: 16000, band: "wide" },
  { setting: { codec: "g722", sample_rate: 16000, bitrate: 64000 }, ext: "g722", demux: ["-f", "g722"], codecName: "adpcm_g722", rate: 16000, band: "wide" },
  { setting: { codec: "g726", sample_rate: 8000, bitrate: 32000 }, ext: "g726", demux: ["-f", "g726", "-code_size", "4", "-sample_rate", "8000"], codecName: "adpcm_g726", rate: 8000, band: "narrow" },
];

describe("every codec's stream, decoded by Debian's own ffmpeg", () => {
  it("has the codec and rate it should, matches the bundled decoder, and the op's output has the codec's band", async () => {
    const dir = tempDir("augment-codecs-");
    const batcher = new FfmpegBatcher();
    const inputAbove4k = energyAboveDb(sentence, SR, 4000);
    const results = await Promise.all(CASES.map((c) => codecRoundTrip(sentence, SR, c.setting, batcher)));
    // One pair for the delay probes (each clip's tail depends on its class delay), one for the clips.
    expect(batcher.stats.processPairs).toBeLessThanOrEqual(2);
    const inputPs = powerSpectrum(sentence);
    const input4to7 = 10 * Math.log10(bandEnergy(inputPs, SR, 4000, 7000) / bandEnergy(inputPs, SR, 100, 4000));
    const lines: string[] = [`input: energy above 4 kHz ${inputAbove4k.toFixed(1)} dB, 4-7 kHz ${input4to7.toFixed(1)} dB re 0.1-4 kHz`];
    const checks: Array<() => void> = [];
    for (const [k, c] of CASES.entries()) {
      const op = results[k];
      const file = path.join(dir, `${k}-${c.setting.codec}.${c.ext}`);
      writeFileSync(file, op.encoded);
      const probe = spawnSync(DEBIAN_FFPROBE, ["-v", "error", ...(c.demux ?? []), "-show_streams", "-of", "json", file], { encoding: "utf8" });
      expect(probe.status, probe.stderr).toBe(0);
      const stream = JSON.parse(probe.stdout).streams[0];
      expect(stream.codec_name).toBe(c.codecName);
      expect(Number(stream.sample_rate)).toBe(c.rate);
      const dec = spawnSync(DEBIAN_FFMPEG, ["-hide_banner", "-v", "error", ...(c.demux ?? []), ...(c.decoder ?? []), "-i", file, "-ac", "1", "-f", "f32le", "-"], { maxBuffer: 1 << 26 });
      expect(dec.status, String(dec.stderr)).toBe(0);
      const debian = resample(f32(dec.stdout), c.rate, SR);
      // Debian's decode covers the whole clip and is the same signal as the bundled decoder's.
      expect(debian.length).toBeGreaterThanOrEqual(sentence.length - 2);
      // (Debian's decode still carries the codec's delay; the op's output does not.)
      const agree = alignedSnrDb(op.audio, debian, 4000);
      // The op's output band.
      const ps = powerSpectrum(op.audio);
      const below4k = bandEnergy(ps, SR, 100, 4000);
      const above = (hz: number) => 10 * Math.log10(bandEnergy(ps, SR, hz, SR / 2 + 1) / below4k);
      const band4to7 = 10 * Math.log10(bandEnergy(ps, SR, 4000, 7000) / below4k);
      checks.push(() => {
        expect(agree, settingKey(c.setting)).toBeGreaterThan(20);
        if (c.band === "narrow") expect(above(4000), settingKey(c.setting)).toBeLessThan(-40);
        // Opus's narrowband mode (4 kHz audio band) rolls off more gently through its 8 → 48 kHz upsampler.
        if (c.band === "opus-narrow") expect(above(5000), settingKey(c.setting)).toBeLessThan(-40);
        // A wideband codec keeps the 4-7 kHz band within 6 dB of the input's.
        if (c.band === "wide") expect(band4to7, settingKey(c.setting)).toBeGreaterThan(input4to7 - 6);
      });
      lines.push(`${settingKey(c.setting).padEnd(44)} ${c.codecName}@${stream.sample_rate} Hz; Debian vs bundled decode ${agree.toFixed(1)} dB; above 4 kHz ${above(4000).toFixed(1)} dB, above 5 kHz ${above(5000).toFixed(1)} dB, 4-7 kHz ${band4to7.toFixed(1)} dB`);
    }
    console.log(lines.join("\n"));
    for (const check of checks) check();
  });
});

/** Every setting the presets' codec choices can draw, at 16 kHz. */
function presetSettings(): Array<{ recipe: string; setting: CodecSetting }> {
  const out: Array<{ recipe: string; setting: CodecSetting }> = [];
  const seen = new Set<string>();
  for (const recipe of ["telephony", "voip"]) {
    const doc = parseYaml(readFileSync(path.join(ROOT, "recipes", `${recipe}.yaml`), "utf8")) as { chain: Array<Record<string, unknown>> };
    for (const step of doc.chain) {
      if (!step.codec) continue;
      const config = codecSchema.parse(step.codec);
      for (const choice of config.choices) {
        for (const s of enumerateChoice(choice, SR)) {
          const key = settingKey(s);
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({ recipe, setting: s });
        }
      }
    }
  }
  return out;
}

describe("delay compensation", () => {
  it("every codec and bit rate of the presets: output length = input length, cross-correlation peak at lag 0 ± 1 (16 kHz)", async () => {
    const all = presetSettings();
    expect(all.length).toBeGreaterThan(100);
    const batcher = new FfmpegBatcher();
    const rows = await Promise.all(
      all.map(async ({ setting }, k) => {
        // 1.6 s of a demo utterance (the shortest is 1.6 s): enough speech to time, half the work.
        const x = speech[k % speech.length].audio.subarray(0, Math.round(1.6 * SR));
        const [op, raw, cls] = await Promise.all([codecRoundTrip(x, SR, setting, batcher), rawRoundTrip(x, SR, setting, batcher), codecDelay(setting, SR, batcher)]);
        return { setting, x, op, rawLag: xcorrLag(x, raw.audio, Math.round(0.35 * SR)).lag, classDelay: cls.samples };
      }),
    );
    const byCodec = new Map<string, { n: number; lags: Set<number>; classDelays: Set<number>; rawMinusClass: Set<number> }>();
    let worst = 0;
    for (const r of rows) {
      expect(r.op.audio.length).toBe(r.x.length);
      expect(r.op.zeroFilled).toBe(0);
      // Searched over ±0.35 s, so a wrong class delay could not hide.
      const after = xcorrLag(r.x, r.op.audio, Math.round(0.35 * SR));
      worst = Math.max(worst, Math.abs(after.lag));
      expect(Math.abs(after.lag), settingKey(r.setting)).toBeLessThanOrEqual(1);
      // The probe's class delay is itself within 2 samples of this clip's own best lag.
      expect(Math.abs(r.rawLag - r.classDelay), settingKey(r.setting)).toBeLessThanOrEqual(2);
      const key = `${r.setting.codec}@${r.setting.sample_rate}`;
      const e = byCodec.get(key) ?? { n: 0, lags: new Set(), classDelays: new Set(), rawMinusClass: new Set() };
      e.n++;
      e.lags.add(after.lag);
      e.classDelays.add(r.classDelay);
      e.rawMinusClass.add(r.rawLag - r.classDelay);
      byCodec.set(key, e);
    }
    const fmt = (s: Set<number>) => [...s].sort((a, b) => a - b).join(",");
    console.log(
      `${rows.length} settings, ${batcher.stats.processPairs} ffmpeg process pairs, worst |lag| after compensation ${worst}\n` +
        [...byCodec].map(([k, e]) => `${k.padEnd(14)} settings ${String(e.n).padStart(3)}  class delay ${fmt(e.classDelays).padEnd(8)} clip's raw lag - class delay ${fmt(e.rawMinusClass).padEnd(8)} lag after ${fmt(e.lags)}`).join("\n"),
    );
    // 32 streams per process pair, plus the probes.
    expect(batcher.stats.processPairs).toBeLessThanOrEqual(Math.ceil((2 * rows.length + 30) / DEFAULT_BATCHER_OPTIONS.maxStreams) + 1);
  });

  it("the codec op records codec, bit rate and measured delay, and keeps word timing", async () => {
    const x = speech[3].audio;
    const params = { op: "codec" as const, codec: "amr_nb" as const, sample_rate: 8000, bitrate: 7950 };
    const out = await codecOp.apply(x, params, { sampleRate: SR, resource: () => new Float32Array(0) });
    expect(out.audio.length).toBe(x.length);
    const m = out.measured!;
    expect(typeof m.delay_samples).toBe("number");
    expect(Math.abs((m.delay_samples as number) - 79)).toBeLessThanOrEqual(2);
    expect(m.delay_ms).toBeCloseTo(((m.delay_samples as number) / SR) * 1000, 3);
    expect(m.encoded_bytes).toBeGreaterThan(0);
    // AMR-NB 7.95 kb/s: 20 ms frames of 21 bytes (+1 header byte each in the .amr storage format).
    expect(Math.abs((m.bitrate_measured as number) - 8800)).toBeLessThan(400);
  });
});

describe("batching", () => {
  it("a clip's output does not depend on which clips share its process, nor on how the process was started", async () => {
    // One setting per ffmpeg codec: each clip alone in its flush, spawned directly from this
    // thread, against the same clip amid other clips and codecs in one process pair started by the
    // helper process: the same stream and the same output, to the byte.
    const settings: CodecSetting[] = [
      { codec: "mp3", sample_rate: 16000, bitrate: 24000 },
      { codec: "opus", sample_rate: 16000, bitrate: 9000, bandwidth: "wb", application: "voip", complexity: 10, vbr: "on", frame_ms: 20 },
      { codec: "amr_nb", sample_rate: 8000, bitrate: 5900 },
      { codec: "amr_wb", sample_rate: 16000, bitrate: 12650 },
      { codec: "speex", sample_rate: 16000, quality: 5 },
      { codec: "vorbis", sample_rate: 16000, quality: 2 },
      { codec: "aac", sample_rate: 16000, bitrate: 20000 },
      { codec: "g722", sample_rate: 16000, bitrate: 56000 },
      { codec: "g726", sample_rate: 8000, bitrate: 24000 },
    ];
    const x = speech[5].audio;
    const others = [speech[1].audio, speech[9].audio, speech[2].audio];
    const alone: Awaited<ReturnType<typeof codecRoundTrip>>[] = [];
    for (const s of settings) alone.push(await codecRoundTrip(x, SR, s, new FfmpegBatcher({ ...DEFAULT_BATCHER_OPTIONS, spawn: "direct" })));
    const crowd = new FfmpegBatcher();
    const rows = await Promise.all(
      settings.map(async (s, k) => {
        const [, mid] = await Promise.all([
          codecRoundTrip(others[k % 3], SR, s, crowd),
          codecRoundTrip(x, SR, s, crowd),
          codecRoundTrip(others[(k + 1) % 3], SR, settings[(k + 1) % settings.length], crowd),
        ]);
        return mid;
      }),
    );
    // 27 clips, the delays already known: one process pair.
    expect(crowd.stats.processPairs).toBe(1);
    for (const [k, s] of settings.entries()) {
      expect(Buffer.from(rows[k].encoded).equals(Buffer.from(alone[k].encoded)), `${settingKey(s)} stream`).toBe(true);
      expect(Buffer.from(rows[k].audio.buffer).equals(Buffer.from(alone[k].audio.buffer)), `${settingKey(s)} audio`).toBe(true);
    }
  });

  it("a clip that breaks ffmpeg fails alone, with a message naming the codec, and its neighbours succeed", async () => {
    const batcher = new FfmpegBatcher();
    const good: CodecSetting = { codec: "amr_nb", sample_rate: 8000, bitrate: 12200 };
    // G.726 has no 6-bit mode: ffmpeg refuses the option.
    const bad: CodecSetting = { codec: "g726", sample_rate: 8000, bitrate: 48000 };
    const x = speech[0].audio;
    const results = await Promise.allSettled([rawRoundTrip(x, SR, good, batcher), rawRoundTrip(x, SR, bad, batcher), rawRoundTrip(x, SR, good, batcher)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const reason = String((results[1] as PromiseRejectedResult).reason?.message);
    expect(reason).toMatch(/^ffmpeg encoder of g726 8000Hz 48000bps failed \(exit 1\): .*Error while opening encoder/);
    expect(reason).not.toContain("\n");
    expect(batcher.stats).toMatchObject({ retriedFlushes: 1, failedStreams: 1 });
  });

  it("the helper process: one per thread, replaced when it dies (the flush is retried), reaped when closed", async () => {
    const s: CodecSetting = { codec: "g726", sample_rate: 8000, bitrate: 32000 };
    const x = speech[0].audio;
    const batcher = new FfmpegBatcher();
    await codecRoundTrip(x, SR, s, batcher);
    const first = sharedRunner().pid!;
    expect(first).toBeGreaterThan(0);
    expect(existsSync(`/proc/${first}`)).toBe(true);
    // Killed while its flush runs: the flush fails, is retried clip by clip with a new helper.
    const pending = Promise.all([codecRoundTrip(x, SR, s, batcher), codecRoundTrip(speech[1].audio, SR, s, batcher)]);
    await new Promise((r) => setTimeout(r, DEFAULT_BATCHER_OPTIONS.quietMs + 5));
    process.kill(first, "SIGKILL");
    const outs = await pending;
    expect(outs.map((o) => o.audio.length)).toEqual([x.length, speech[1].audio.length]);
    expect(batcher.stats.retriedFlushes).toBe(1);
    const second = sharedRunner().pid!;
    expect(second).not.toBe(first);
    await closeSharedRunner();
    // Reaped: no zombie left behind.
    expect(existsSync(`/proc/${second}`)).toBe(false);
  });

  it("a hung ffmpeg is killed by the watchdog and each of its clips gets a clear error", async () => {
    const dir = tempDir("augment-ffhang-");
    const hang = path.join(dir, "ffmpeg");
    writeFileSync(hang, "#!/bin/sh\nexec sleep 30\n");
    chmodSync(hang, 0o755);
    const prev = process.env.AUGMENT_FFMPEG;
    process.env.AUGMENT_FFMPEG = hang;
    try {
      const batcher = new FfmpegBatcher({ ...DEFAULT_BATCHER_OPTIONS, timeoutMs: () => 300 });
      const t0 = performance.now();
      const r = await Promise.allSettled([batcher.transcode({ codec: "g726", sample_rate: 8000, bitrate: 32000 }, new Float32Array(800)), batcher.transcode({ codec: "g722", sample_rate: 16000, bitrate: 64000 }, new Float32Array(1600))]);
      expect(r.map((x) => x.status)).toEqual(["rejected", "rejected"]);
      expect(String((r[0] as PromiseRejectedResult).reason.message)).toMatch(/^ffmpeg encoder of g726 8000Hz 32000bps timed out after 0.3 s \(killed\)$/);
      // One try as a pair, then one per clip: three watchdog periods.
      expect(performance.now() - t0).toBeLessThan(5000);
    } finally {
      if (prev === undefined) delete process.env.AUGMENT_FFMPEG;
      else process.env.AUGMENT_FFMPEG = prev;
    }
  });
});
