// The in-process espeak-ng engine (src/tts): determinism whatever was spoken before, the voice table
// against the engine, word times from its events, and measured effects of rate and pitch.
import { describe, expect, it } from "vitest";
import { Espeak } from "../src/tts/espeak.js";
import { espeakInput, synthesize, tokenize } from "../src/tts/synth.js";
import { sentences, splitLine, transcript, wordLabel } from "../src/tts/text.js";
import { ESPEAK_VARIANTS, ESPEAK_VOICES } from "../src/tts/voice-data.js";
import { checkVoices, defaultPool } from "../src/tts/voices.js";
import type { SynthSpec } from "../src/types.js";

const spec = (text: string, voice: string, rate_wpm = 160, pitch = 50): SynthSpec => ({ engine: "espeak-ng", text, voice, rate_wpm, pitch });

const SW = "Habari za asubuhi, rafiki yangu. Watoto wanacheza mpira uwanjani leo.";

/**
 * Median F0 of the voiced frames (normalised autocorrelation, 40 ms frames, 10 ms hop): a frame is
 * voiced when its energy is within 30 dB of the loudest and its autocorrelation peak in 60–400 Hz
 * is above 0.6; the peak lag is refined by a parabola.
 */
function medianF0(pcm: Int16Array, sr: number): number {
  const x = Float64Array.from(pcm, (v) => v / 32768);
  const n = Math.round(0.04 * sr);
  const hop = Math.round(0.01 * sr);
  const minLag = Math.floor(sr / 400);
  const maxLag = Math.ceil(sr / 60);
  const energies: number[] = [];
  for (let s = 0; s + n + maxLag < x.length; s += hop) {
    let e = 0;
    for (let i = 0; i < n; i++) e += x[s + i] ** 2;
    energies.push(e);
  }
  const loud = Math.max(...energies);
  const f0s: number[] = [];
  energies.forEach((e0, f) => {
    if (e0 < loud * 1e-3) return;
    const s = f * hop;
    const r = (lag: number) => {
      let num = 0;
      let e1 = 0;
      for (let i = 0; i < n; i++) {
        num += x[s + i] * x[s + i + lag];
        e1 += x[s + i + lag] ** 2;
      }
      return num / Math.sqrt(e0 * e1 + 1e-20);
    };
    let best = minLag;
    let bestR = -1;
    const rs = new Map<number, number>();
    for (let lag = minLag; lag <= maxLag; lag++) {
      const v = r(lag);
      rs.set(lag, v);
      if (v > bestR) {
        bestR = v;
        best = lag;
      }
    }
    if (bestR < 0.6 || best === minLag || best === maxLag) return;
    const a = rs.get(best - 1)!;
    const b = rs.get(best)!;
    const c = rs.get(best + 1)!;
    const lag = best + (0.5 * (a - c)) / (a - 2 * b + c);
    f0s.push(sr / lag);
  });
  f0s.sort((p, q) => p - q);
  return f0s[Math.floor(f0s.length / 2)];
}

function equal(a: Int16Array, b: Int16Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe("espeak-ng engine", () => {
  it("gives the same samples as a fresh engine, whatever was synthesised before (several languages and variants)", async () => {
    const cases: Array<[string, string]> = [
      [SW, "sw+f2"],
      ["The quick brown fox jumps over the lazy dog.", "en-us+klatt"],
      ["Guten Morgen, wie geht es dir?", "de+m3"],
      ["ሰላም ነው። እንዴት ነህ?", "am+whisper"],
    ];
    const fresh: Int16Array[] = [];
    for (const [text, voice] of cases) fresh.push((await Espeak.create()).synthesize(espeakInput(text).input, voice, 150, 50).pcm);
    const busy = await Espeak.create();
    busy.synthesize("Something else first, with other words; and another clause!", "en+croak", 300, 10);
    busy.synthesize("Привет, как дела? Сегодня хорошая погода.", "ru", 120, 90); // its large dictionary grows the heap
    for (let k = cases.length - 1; k >= 0; k--) {
      const again = busy.synthesize(espeakInput(cases[k][0]).input, cases[k][1], 150, 50).pcm;
      expect(equal(again, fresh[k]), cases[k][1]).toBe(true);
    }
  });

  it("knows the voices and variants of voice-data.ts (regenerate with scripts/tts-voices.mjs)", async () => {
    const engine = await Espeak.create();
    expect(engine.listVoices()).toEqual(ESPEAK_VOICES);
    expect(engine.listVariants()).toEqual(ESPEAK_VARIANTS);
    expect(ESPEAK_VOICES.length).toBeGreaterThan(100);
  });

  it("checks voices without the engine, naming the nearest ones", () => {
    expect(checkVoices("sw", ["sw", "sw+f2", "sw+klatt"])).toEqual([]);
    expect(checkVoices("en", ["en-us+m3"])).toEqual([]); // en-us speaks en
    const [lang] = checkVoices("swa", undefined);
    expect(lang.path).toEqual(["language"]);
    expect(lang.hint).toMatch(/nearest: sw\b/);
    const bad = checkVoices("sw", ["sw+f9", "sx+f2", "de"]);
    expect(bad.map((p) => p.path)).toEqual([["voices", 0], ["voices", 1], ["voices", 2]]);
    expect(bad[0].hint).toMatch(/nearest: sw\+f1, sw\+f2, sw\+f3/);
    expect(bad[1].message).toMatch(/unknown espeak-ng voice "sx"/);
    expect(bad[1].hint).toMatch(/sw\+f2/);
    expect(bad[2].message).toMatch(/speaks de, not "sw"/);
    expect(defaultPool("sw")).toHaveLength(1 + ESPEAK_VARIANTS.length);
  });

  it("word times are monotonic, inside the audio, one per token, and bracket the speech", async () => {
    const text = "Tom & Jerry <3 ok, 2024 sana! [[x]] mwisho.";
    const r = await synthesize(spec(text, "sw+m3"));
    const durS = r.pcm.length / r.sampleRate;
    expect(r.tokens.map((t) => t.text)).toEqual(tokenize(text).map((t) => t.text));
    let prevEnd = 0;
    for (const t of r.tokens) {
      expect(t.startS).toBeGreaterThanOrEqual(prevEnd);
      expect(t.endS).toBeGreaterThanOrEqual(t.startS);
      expect(t.endS).toBeLessThanOrEqual(durS);
      prevEnd = t.endS;
    }
    // Every real word gets a span with sound in it; between the first and last word there is speech.
    for (const t of r.tokens.filter((t) => /\p{L}/u.test(t.text))) expect(t.endS - t.startS, t.text).toBeGreaterThan(0.03);
    expect(r.tokens[0].startS).toBeLessThan(0.1);
    // The pause after a sentence is not part of its last word: the next word starts clearly after it ends.
    const end = r.tokens.findIndex((t) => t.text === "sana!");
    expect(r.tokens[end + 1].startS - r.tokens[end].endS).toBeGreaterThan(0.2);
  });

  it("escapes SSML and phoneme brackets, keeping positions of the original text", () => {
    const { input, origin } = espeakInput("a&b<c [[d");
    expect(input).toBe("a&amp;b&lt;c [ [d");
    expect(origin[input.indexOf("b")]).toBe(2);
    expect(origin[input.indexOf("d")]).toBe(8);
  });

  it("halving rate_wpm makes the audio about twice as long (±10%)", async () => {
    for (const voice of ["sw", "sw+f4"]) {
      const fast = await synthesize(spec(SW, voice, 300));
      const slow = await synthesize(spec(SW, voice, 150));
      const ratio = slow.pcm.length / fast.pcm.length;
      expect(ratio, voice).toBeGreaterThan(1.8);
      expect(ratio, voice).toBeLessThan(2.2);
    }
  });

  it("higher pitch raises the measured F0, lower pitch lowers it", async () => {
    for (const voice of ["sw", "sw+f2"]) {
      const f0 = async (pitch: number) => {
        const r = await synthesize(spec(SW, voice, 160, pitch));
        return medianF0(r.pcm, r.sampleRate);
      };
      const [low, mid, high] = [await f0(20), await f0(50), await f0(80)];
      expect(mid / low, voice).toBeGreaterThan(1.05);
      expect(high / mid, voice).toBeGreaterThan(1.05);
    }
  });

  it("refuses text that is not speech", async () => {
    await expect(synthesize(spec("... !!!", "sw"))).rejects.toThrow(/no speech/);
  });
});

describe("tts text", () => {
  it("splits long lines at sentence punctuation and reports sentences that cannot be split", () => {
    const s = "Moja mbili tatu. Nne tano sita! Saba nane? Tisa kumi።";
    expect(sentences(s)).toEqual(["Moja mbili tatu.", "Nne tano sita!", "Saba nane?", "Tisa kumi።"]);
    expect(splitLine(s, 200)).toEqual({ parts: [s], tooLong: [] });
    expect(splitLine(s, 32)).toEqual({ parts: ["Moja mbili tatu. Nne tano sita!", "Saba nane? Tisa kumi።"], tooLong: [] });
    const long = `Fupi. ${"neno ".repeat(20).trim()} bila nukta`;
    expect(splitLine(long, 40)).toEqual({ parts: ["Fupi."], tooLong: [{ sentence: 2, chars: 110 }] });
  });

  it("normalises transcripts and word labels as asked", () => {
    const t = "  Habari,   RAFIKI!  Ni-saa 3 «leo» İyi ";
    expect(transcript(t, "as_written", "sw")).toBe("Habari, RAFIKI! Ni-saa 3 «leo» İyi");
    expect(transcript(t, "lowercase", "tr")).toBe("habari, rafıkı! ni-saa 3 «leo» iyi"); // Turkish: I → ı, İ → i
    expect(transcript(t, "lowercase_no_punctuation", "sw")).toBe("habari rafiki ni-saa 3 leo i̇yi");
    expect(wordLabel("«leo»,", "as_written", "sw")).toBe("leo");
    expect(wordLabel("—", "as_written", "sw")).toBe("");
  });
});
