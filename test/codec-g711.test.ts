// G.711 μ-law and A-law, in-process: byte-exact against Debian's ffmpeg (an independent build),
// decodable by it, and the round-trip SNR of a full-scale sine.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { alawToLinear, g711Decode, g711Encode, linearToAlaw, linearToUlaw, ulawToLinear } from "../src/audio/g711.js";
import { codecOp, type CodecParams } from "../src/ops/codec.js";
import { tempDir } from "./helpers/fixtures.js";
import { PYTHON } from "./helpers/python.js";

const DEBIAN_FFMPEG = "/usr/bin/ffmpeg";

function ffmpeg(args: string[]): Buffer {
  const r = spawnSync(DEBIAN_FFMPEG, ["-hide_banner", "-v", "error", ...args], { maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  return r.stdout;
}

function runPythonBytes(code: string, args: string[]): Buffer {
  const r = spawnSync(PYTHON, ["-c", code, ...args], { maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}

/** SNR of y against x, 10 log10(sum x^2 / sum (y - x)^2). */
function snrDb(x: Float32Array, y: Float32Array): number {
  let es = 0;
  let en = 0;
  for (let i = 0; i < x.length; i++) {
    es += x[i] * x[i];
    en += (y[i] - x[i]) ** 2;
  }
  return 10 * Math.log10(es / en);
}

describe("G.711 (in-process)", () => {
  const dir = tempDir("augment-g711-");
  // Every 16-bit value once.
  const all = new Int16Array(65536);
  for (let i = 0; i < 65536; i++) all[i] = i - 32768;
  const pcmFile = path.join(dir, "all.s16");
  writeFileSync(pcmFile, Buffer.from(all.buffer));

  const encoders = { mulaw: linearToUlaw, alaw: linearToAlaw };
  const decoders = { mulaw: ulawToLinear, alaw: alawToLinear };

  const audioop = (fn: string) =>
    runPythonBytes(`import sys,warnings; warnings.simplefilter('ignore'); import audioop; sys.stdout.buffer.write(audioop.${fn}(open(sys.argv[1],'rb').read(),2))`, [pcmFile]);

  it("A-law: every 16-bit input encodes to the byte Python's audioop.lin2alaw writes", () => {
    const out = audioop("lin2alaw");
    expect(out.length).toBe(65536);
    let mismatches = 0;
    for (let i = 0; i < 65536; i++) if (linearToAlaw(all[i]) !== out[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it("μ-law: equals audioop.lin2ulaw for x >= 0, and for x < 0 its code for the one's-complement magnitude ~x (sign bit clear)", () => {
    // G.191's reference takes negative samples in one's complement (|x| - 1); audioop (Sun's
    // g711.c) negates in two's complement, so the two differ only in that mapping.
    const out = audioop("lin2ulaw");
    let mismatches = 0;
    for (let i = 0; i < 65536; i++) {
      const x = all[i];
      const expected = x >= 0 ? out[i] : out[~x + 32768] & 0x7f;
      if (linearToUlaw(x) !== expected) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  for (const law of ["mulaw", "alaw"] as const) {
    it(`${law}: Debian's ffmpeg decodes all 256 codes to our values`, () => {
      const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
      const file = path.join(dir, `codes.${law}`);
      writeFileSync(file, codes);
      const out = ffmpeg(["-f", law, "-ar", "8000", "-ac", "1", "-i", file, "-f", "s16le", "-"]);
      const theirs = new Int16Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.length));
      const ours = g711Decode(codes, law);
      expect(theirs.length).toBe(256);
      for (let i = 0; i < 256; i++) {
        expect(Math.round(ours[i] * 32768)).toBe(theirs[i]);
        expect(decoders[law](i)).toBe(theirs[i]);
      }
    });

    it(`${law}: where ffmpeg's and sox's encoders differ from ours, they pick the neighbouring code`, () => {
      const refs: Record<string, Buffer> = {
        ffmpeg: ffmpeg(["-f", "s16le", "-ar", "8000", "-ac", "1", "-i", pcmFile, "-f", law, "-"]),
        sox: spawnSync("sox", ["-D", "-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1", pcmFile, "-t", "raw", "-e", law === "mulaw" ? "u-law" : "a-law", "-b", "8", "-"], { maxBuffer: 1 << 26 }).stdout,
      };
      const enc = encoders[law];
      const dec = decoders[law];
      const levels = Array.from({ length: 256 }, (_, c) => dec(c));
      for (const [name, theirs] of Object.entries(refs)) {
        expect(theirs.length).toBe(65536);
        let differ = 0;
        for (let i = 0; i < 65536; i++) {
          const ours = enc(all[i]);
          if (ours === theirs[i]) continue;
          differ++;
          const a = dec(ours);
          const b = dec(theirs[i]);
          // Neighbouring levels: no code decodes strictly between them.
          expect(levels.some((v) => v > Math.min(a, b) && v < Math.max(a, b))).toBe(false);
        }
        // ffmpeg builds its encoder table with decision values at the midpoints of neighbouring
        // levels and 14/13-bit flooring; sox rounds; both move some decision values (mostly by
        // one input step, at segment edges by up to a quarter of the segment's step).
        console.log(`G.711 ${law} vs ${name}: ${differ} of 65536 inputs get the neighbouring code`);
        expect(differ).toBeLessThan(2000);
      }
    });
  }

  it("round trip of a full-scale 1004 Hz sine at 8 kHz: SNR about 38 dB (μ-law) and A-law similar", () => {
    const n = 8000 * 4;
    // 1004 Hz (not a divisor of 8 kHz, as in ITU-T O.132 test tones) so every code is exercised;
    // 32767 / 32768 is the int16 full scale.
    const x = Float32Array.from({ length: n }, (_, i) => (32767 / 32768) * Math.sin((2 * Math.PI * 1004 * i) / 8000));
    const mu = snrDb(x, g711Decode(g711Encode(x, "mulaw"), "mulaw"));
    const a = snrDb(x, g711Decode(g711Encode(x, "alaw"), "alaw"));
    console.log(`G.711 full-scale sine SNR: mu-law ${mu.toFixed(2)} dB, A-law ${a.toFixed(2)} dB`);
    // G.711's segment law keeps ~38 dB over its whole range for a sine at full load.
    expect(mu).toBeGreaterThan(37);
    expect(mu).toBeLessThan(40);
    expect(a).toBeGreaterThan(37);
    expect(a).toBeLessThan(40);
    // Companding keeps the SNR roughly level over a wide range (G.712's mask asks >= 35 dB from
    // -30 to 0 dBm0; 0 dBm0 is 3.17 dB (μ) / 3.14 dB (A) below full load): measured at -30 dBFS.
    const quiet = x.map((v) => v * 10 ** (-30 / 20));
    const muQuiet = snrDb(quiet, g711Decode(g711Encode(quiet, "mulaw"), "mulaw"));
    const aQuiet = snrDb(quiet, g711Decode(g711Encode(quiet, "alaw"), "alaw"));
    console.log(`G.711 -30 dBFS sine SNR: mu-law ${muQuiet.toFixed(2)} dB, A-law ${aQuiet.toFixed(2)} dB`);
    expect(muQuiet).toBeGreaterThan(33);
    expect(aQuiet).toBeGreaterThan(33);
  });

  it("the codec op runs G.711 at 8 kHz for 16 kHz audio, keeps length and timing, and needs no ffmpeg", async () => {
    const x = Float32Array.from({ length: 16000 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000) * Math.sin((Math.PI * i) / 16000));
    for (const codec of ["mulaw", "alaw"] as const) {
      const params: CodecParams = { op: "codec", codec, sample_rate: 8000, bitrate: 64000 };
      const out = await codecOp.apply(x, params, { sampleRate: 16000, resource: () => new Float32Array(0) });
      expect(out.audio.length).toBe(x.length);
      expect(out.measured!.delay_samples).toBe(0);
      expect(snrDb(x, out.audio)).toBeGreaterThan(30);
    }
    // preflight of a G.711-only config does not look for ffmpeg at all.
    const prev = process.env.AUGMENT_FFMPEG;
    process.env.AUGMENT_FFMPEG = "/nonexistent/ffmpeg";
    try {
      await expect(codecOp.preflight!({ choices: [{ codec: "mulaw", weight: 1 }, { codec: "alaw", weight: 1 }], p: 1 } as any)).resolves.toBeUndefined();
    } finally {
      if (prev === undefined) delete process.env.AUGMENT_FFMPEG;
      else process.env.AUGMENT_FFMPEG = prev;
    }
  });
});
