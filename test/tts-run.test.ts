// Synthetic speech end to end through the built CLI: byte-identical output for any thread count
// (and whether the engine reads the catalog's cache or synthesises again), word times kept through
// speed and tempo, bad lines in errors.jsonl with their line numbers, bad voices refused before
// any work, and `augment voices` / `augment plan`.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CLI, speechLike, tempDir, writeNemoCorpus, type CorpusItem } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";

/** Runs the built CLI without blocking the test runner's event loop (runs take many seconds). */
function cli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const SR = 16000;

const SW_LINES = [
  "Habari za asubuhi, rafiki yangu.", // 1
  "", // 2: skipped
  "Watoto wanacheza mpira uwanjani leo. Mama ananunua ndizi sokoni. Kesho tutasafiri kwenda Mombasa.", // 3: split into parts
  `${"neno refu ".repeat(12).trim()} bila nukta yoyote`, // 4: one sentence over max_chars: error
  "... !!!", // 5: no speech: error
  "Tafadhali niambie saa ngapi basi linaondoka.", // 6
];
const HT_JSONL = [
  JSON.stringify({ text: "Bonjou, kijan ou ye?", id: "greet", topic: "greeting" }),
  JSON.stringify({ text: "Mwen byen, mèsi.", voice: "overridden by augment" }),
];

let dir: string;
beforeAll(() => {
  dir = tempDir("augment-tts-run-");
  const items: CorpusItem[] = [0, 1].map((i) => ({ id: `spk${i}-u${i}`, speaker: `spk${i}`, text: `real utterance ${i}`, lang: "sw", samples: speechLike(Math.round((1.5 + i) * SR), SR, 120 + 30 * i, i + 1), sampleRate: SR }));
  writeNemoCorpus(path.join(dir, "corpus"), items);
  writeFileSync(path.join(dir, "sw.txt"), SW_LINES.join("\n") + "\n");
  writeFileSync(path.join(dir, "ht.jsonl"), HT_JSONL.join("\n") + "\n");
});

function recipe(chain: string, extra = ""): string {
  return `seed: 5
sample_rate: ${SR}
inputs:
  - {format: nemo, path: ${dir}/corpus/manifest.json}
  - {format: tts, path: ${dir}/sw.txt, language: sw, voices: [sw, sw+f2, sw+m3, sw+klatt], max_chars: 60}
  - {format: tts, path: ${dir}/ht.jsonl, language: ht, rate_wpm: [150, 170], pitch: 60, transcript: lowercase_no_punctuation}
copies: 2
include_clean: true
chain:
${chain}
output: {path: out, shard_max_items: 5}
${extra}`;
}

async function runIn(text: string, args: string[] = [], env: Record<string, string> = {}) {
  const sub = tempDir("augment-tts-sub-");
  writeFileSync(path.join(sub, "r.yaml"), text);
  const r = await cli(["run", "r.yaml", "--quiet", ...args], sub, env);
  return { ...r, out: path.join(sub, "out"), sub };
}

/** Every file under a folder (relative path → bytes), except run-specific state (plan.json holds the recipe hash, which covers the output path). */
function snapshot(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (!["summary.json", "index.json", "plan.json"].includes(e.name)) out.set(path.relative(root, full), readFileSync(full));
    }
  };
  walk(root);
  return out;
}

const READ_ITEMS = `
import tarfile, sys, json, io, glob, os
import soundfile as sf
out = []
for shard in sorted(glob.glob(os.path.join(sys.argv[1], "*.tar"))):
    with tarfile.open(shard) as t:
        for name in t.getnames():
            if not name.endswith(".json"): continue
            meta = json.load(t.extractfile(name))
            info = sf.info(io.BytesIO(t.extractfile(name[:-5] + ".flac").read()))
            meta["_frames"] = info.frames
            meta["_sr"] = info.samplerate
            out.append(meta)
print(json.dumps(out))
`;

describe("tts input end to end", () => {
  let one: Awaited<ReturnType<typeof runIn>>;
  let items: any[];
  const chain = "  - speed: {factors: [0.9, 1.1]}\n  - tempo: {factor: [0.8, 1.25]}";

  beforeAll(async () => {
    one = await runIn(recipe(chain), ["--workers", "1"]);
    items = pythonJson<any[]>(READ_ITEMS, [one.out]);
  });

  it("runs, and writes the same bytes with 1 and 2 threads, and when the engine synthesises again instead of reading the cache", async () => {
    expect(one.stderr).toBe("");
    expect(one.code).toBe(0);
    const two = await runIn(recipe(chain), ["--workers", "2"]);
    expect(two.code).toBe(0);
    const inline = await runIn(recipe(chain), ["--workers", "0"], { AUGMENT_TTS_CACHE: "off" });
    expect(inline.code).toBe(0);
    const a = snapshot(one.out);
    expect(a.size).toBeGreaterThan(5);
    for (const other of [two, inline]) {
      const b = snapshot(other.out);
      expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
      for (const [k, v] of a) expect(b.get(k)!.equals(v), k).toBe(true);
    }
  });

  it("speaks every good line, in parts when too long; bad lines go to errors.jsonl with their line numbers", () => {
    const synthetic = items.filter((m) => m.fields?.synthetic === true && m.copy === -1);
    const sources = synthetic.map((m) => m.source.id).sort();
    expect(sources).toEqual(["greet", "ht_2", "sw_1", "sw_3_1", "sw_3_2", "sw_6"]);
    const errors = readFileSync(path.join(one.out, "errors.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(errors).toHaveLength(2);
    const byLine = new Map(errors.map((e) => [e.source.split(":").pop(), e]));
    expect(byLine.get("4").reason).toMatch(/sw\.txt:4: sentence 1 has \d+ characters and no sentence punctuation/);
    expect(byLine.get("5").reason).toMatch(/sw\.txt:5: the synthesizer produced no speech/);
    expect(errors.every((e) => e.stage === "catalog")).toBe(true);
  });

  it("labels synthetic items: transcript, language, voice, rate, pitch, speaker from voice and buckets, JSON fields kept", () => {
    for (const m of items.filter((m) => m.fields?.synthetic === true)) {
      const { voice, rate_wpm, pitch } = m.fields;
      expect(m.source.synth).toEqual({ engine: "espeak-ng", text: expect.any(String), voice, rate_wpm, pitch });
      expect(m.source.sampling_rate).toBe(22050);
      expect(m.speaker.startsWith(`tts_${voice.replace(/\+/g, "_")}_r${Math.floor(rate_wpm / 20) * 20}_p${Math.floor(pitch / 10) * 10}`)).toBe(true);
      expect(m.id.startsWith(`${m.speaker}-`)).toBe(true);
      if (m.language === "sw") expect(["sw", "sw+f2", "sw+m3", "sw+klatt"]).toContain(voice);
      else {
        expect(m.language).toBe("ht");
        expect(rate_wpm).toBeGreaterThanOrEqual(150);
        expect(rate_wpm).toBeLessThanOrEqual(170);
        expect(pitch).toBe(60);
        expect(m.text).toMatch(/^[a-zèò ]+$/); // lowercase_no_punctuation
      }
    }
    const greet = items.find((m) => m.source.id === "greet");
    expect(greet.fields.topic).toBe("greeting");
    expect(greet.text).toBe("bonjou kijan ou ye");
    expect(greet.source.synth.text).toBe("Bonjou, kijan ou ye?");
    expect(items.find((m) => m.source.id === "ht_2").fields.voice).not.toBe("overridden by augment");
    expect(items.find((m) => m.source.id === "sw_1" && m.copy === -1).text).toBe("Habari za asubuhi, rafiki yangu.");
  });

  it("word times are monotonic and inside the audio; after speed and tempo they are the clean times / (speed·tempo) within 1 ms", () => {
    const clean = new Map(items.filter((m) => m.copy === -1 && m.fields?.synthetic).map((m) => [m.source.id, m]));
    let checked = 0;
    for (const m of items.filter((m) => m.fields?.synthetic)) {
      const dur = m._frames / m._sr;
      expect(m.words.length).toBeGreaterThan(0);
      let prev = 0;
      for (const w of m.words) {
        expect(w.startS).toBeGreaterThanOrEqual(prev);
        expect(w.endS).toBeGreaterThanOrEqual(w.startS);
        expect(w.endS).toBeLessThanOrEqual(dur + 1e-6);
        prev = w.endS;
      }
      if (m.copy < 0) continue;
      const ref = clean.get(m.source.id);
      const f = m.ops.find((o: any) => o.op === "speed").factor * m.ops.find((o: any) => o.op === "tempo").factor;
      expect(m.words.map((w: any) => w.word)).toEqual(ref.words.map((w: any) => w.word));
      m.words.forEach((w: any, i: number) => {
        expect(Math.abs(w.startS - Math.min(ref.words[i].startS / f, dur))).toBeLessThan(0.001);
        expect(Math.abs(w.endS - Math.min(ref.words[i].endS / f, dur))).toBeLessThan(0.001);
      });
      checked++;
    }
    expect(checked).toBe(12); // 6 synthetic utterances × 2 copies
  });

  it("refuses an unknown voice before any work: exit 2, file:line:col, the nearest voices named", async () => {
    const bad = recipe(chain).replace("voices: [sw, sw+f2, sw+m3, sw+klatt]", "voices: [sw, sw+f9, swx]").replace("language: ht,", "language: hx,");
    const r = await runIn(bad);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^error: r\.yaml:5:\d+: inputs\[1\]\.voices\[1\]: unknown espeak-ng variant "f9" in "sw\+f9" \(nearest: sw\+f1, sw\+f2, sw\+f3/);
    expect(lines[1]).toMatch(/^error: r\.yaml:5:\d+: inputs\[1\]\.voices\[2\]: unknown espeak-ng voice "swx" in "swx" \(nearest: sw\b/);
    expect(lines[2]).toMatch(/^error: r\.yaml:6:\d+: inputs\[2\]\.language: espeak-ng has no voice for language "hx" \(nearest: he, hi, hr; `augment voices` lists all\)$/);
    expect(existsSync(r.out)).toBe(false);
  });

  it("says in one line how to install the engine when it is missing (exit 2, nothing written)", async () => {
    const r = await runIn(recipe(chain), [], { AUGMENT_ESPEAK: path.join(dir, "no-such-espeak.js") });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/format: tts needs the espeak-ng engine .*npm install @echogarden\/espeak-ng-emscripten/);
    expect(existsSync(r.out)).toBe(false);
  });

  it("augment voices lists the engine's languages and variants; an unknown language exits 2", async () => {
    const r = await cli(["voices", "sw"], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sw\s+bnt\/sw\s+Swahili$/m);
    expect(r.stdout).toMatch(/f2 \(f\).*klatt.*m3 \(m\)/s);
    const all = await cli(["voices"], dir);
    expect(all.stdout.split("\n").filter((l) => /^\S+.*\s[a-z]{3}\/\S+\s/.test(l)).length).toBeGreaterThan(100);
    const bad = await cli(["voices", "yo"], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no voice for language "yo" \(nearest: /);
  });
});

describe("tts in balancing, as augment plan shows it", () => {
  it("prints real and synthetic hours per group before and after", async () => {
    const text = recipe("  - gain: {db: [-3, 3]}")
      .replace("copies: 2\ninclude_clean: true\n", "")
      .replace("output:", "balance: {by: language, strategy: target_hours, target_hours: 0.01, max_copies: 4, max_synthetic_share: {ht: 1}}\noutput:");
    const sub = tempDir("augment-tts-plan-");
    writeFileSync(path.join(sub, "r.yaml"), text);
    const r = await cli(["plan", "r.yaml"], sub);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/real h before\s+synth utts\s+synth h avail\s+target\s+real h after\s+synth h after\s+hours after/);
    const table = r.stdout.slice(r.stdout.indexOf("balance by"));
    const row = (g: string) => table.split("\n").find((l) => l.startsWith(`${g} `))!.trim().split(/\s+/);
    // sw: 2 real utterances (4 s) used first; synthetic fills up to half the 36 s target.
    const sw = row("sw");
    expect(Number(sw[1])).toBe(2);
    expect(Number(sw[7])).toBeGreaterThan(0);
    expect(Number(sw[7])).toBeLessThanOrEqual(0.0055); // the greedy fill may pass the goal by half an utterance
    // ht has no real audio: synthetic only, up to its share of 1.
    const ht = row("ht");
    expect(Number(ht[1])).toBe(0);
    expect(Number(ht[6])).toBe(0);
  });
});
