// Every input format end to end, with real decodes: FLAC (LibriSpeech), MP3 (Common Voice),
// a Kaldi dir with a `flac -c -d -s … |` entry and a stereo 44.1 kHz WAV with a channel pick,
// and a folder with metadata.csv and Ogg/Opus. Files are made by Debian sox/ffmpeg.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { floatToInt16 } from "../src/audio/decode.js";
import { encodeFlac } from "../src/audio/flac.js";
import { cli, speechLike, tempDir, writeWav } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";

function sox(...args: string[]) {
  execFileSync("sox", args, { stdio: "ignore" });
}
function ffmpeg(...args: string[]) {
  execFileSync("ffmpeg", ["-nostdin", "-loglevel", "error", "-y", ...args], { stdio: "ignore" });
}

describe("inputs end to end", () => {
  it("reads LibriSpeech/FLAC, Common Voice/MP3, Kaldi (pipe + channel pick) and folder/Opus into one run", () => {
    const d = tempDir("augment-inputs-");
    // LibriSpeech: FLAC at 16 kHz, made by our encoder.
    const ls = path.join(d, "LibriSpeech/dev-clean/84/121123");
    mkdirSync(ls, { recursive: true });
    for (const k of [0, 1]) writeFileSync(path.join(ls, `84-121123-000${k}.flac`), encodeFlac(floatToInt16(speechLike(16000 + 4000 * k, 16000, 120, k + 1)), 16000));
    writeFileSync(path.join(ls, "84-121123.trans.txt"), "84-121123-0000 HELLO THERE\n84-121123-0001 GENERAL KENOBI\n");
    writeFileSync(path.join(d, "LibriSpeech/SPEAKERS.TXT"), ";ID |SEX| SUBSET |MINUTES| NAME\n84   | F | dev-clean | 8.02 | Christie\n");
    // Common Voice: MP3 at 48 kHz.
    const cv = path.join(d, "cv/sw");
    mkdirSync(path.join(cv, "clips"), { recursive: true });
    writeWav(path.join(d, "tmp.wav"), speechLike(48000 * 2, 48000, 150, 7), 48000);
    ffmpeg("-i", path.join(d, "tmp.wav"), "-c:a", "libmp3lame", "-b:a", "64k", path.join(cv, "clips/common_voice_sw_1.mp3"));
    writeFileSync(path.join(cv, "validated.tsv"), "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\taccents\tlocale\tsegment\nabcdef0123456789abcdef\tcommon_voice_sw_1.mp3\tHabari \"ya asubuhi\tx\t0\t\tfemale\t\t\tsw\t\n");
    // Kaldi: a flac pipe and a stereo 44.1 kHz WAV whose channel 1 holds a 440 Hz tone.
    const kd = path.join(d, "kaldi");
    mkdirSync(kd, { recursive: true });
    writeFileSync(path.join(kd, "a.flac"), encodeFlac(floatToInt16(speechLike(24000, 16000, 100, 3)), 16000));
    writeFileSync(path.join(kd, "wav.scp"), `spkA-u1 flac -c -d -s ${path.join(kd, "a.flac")} |\n`);
    writeFileSync(path.join(kd, "text"), "spkA-u1 GOOD MORNING\n");
    writeFileSync(path.join(kd, "utt2spk"), "spkA-u1 spkA\n");
    const kd2 = path.join(d, "kaldi2");
    mkdirSync(kd2, { recursive: true });
    sox("-n", "-r", "44100", "-c", "2", "-b", "16", path.join(kd2, "stereo.wav"), "synth", "1.5", "sine", "0", "sine", "440");
    writeFileSync(path.join(kd2, "wav.scp"), `spkA-u2 ${path.join(kd2, "stereo.wav")}\n`);
    writeFileSync(path.join(kd2, "text"), "spkA-u2 A TONE\n");
    writeFileSync(path.join(kd2, "utt2spk"), "spkA-u2 spkA\n");
    // Folder: Ogg/Opus at 48 kHz with metadata.csv (quoted field with a comma).
    const fd = path.join(d, "folder");
    mkdirSync(fd, { recursive: true });
    ffmpeg("-i", path.join(d, "tmp.wav"), "-c:a", "libopus", "-b:a", "32k", path.join(fd, "clip.ogg"));
    writeFileSync(path.join(fd, "metadata.csv"), 'file_name,transcription,speaker\nclip.ogg,"yes, an opus file",spkO\n');

    writeFileSync(
      path.join(d, "r.yaml"),
      `inputs:
  - {format: librispeech, path: LibriSpeech}
  - {format: commonvoice, path: cv/sw}
  - {format: kaldi, path: kaldi, language: en}
  - {format: kaldi, path: kaldi2, channel: 1, language: en}
  - {format: folder, path: folder, language: fr}
output: {path: out, audio: flac}
`,
    );
    const r = cli(["run", "r.yaml", "--quiet", "--workers", "1"], d);
    expect(r.stderr).toBe("");
    expect(readFileSync(path.join(d, "out/errors.jsonl"), "utf8")).toBe("");
    // LibriSpeech's dev-clean implies the dev split; the others default to train: one folder each.
    expect(readdirSync(path.join(d, "out")).filter((f) => !f.startsWith(".")).sort()).toEqual(["dev", "errors.jsonl", "index.json", "plan.json", "summary.json", "train"]);
    const manifest = ["dev", "train"].flatMap((sp) => readFileSync(path.join(d, "out", sp, "nemo_manifest.json"), "utf8").trim().split("\n").map((l) => JSON.parse(l)));
    expect(manifest.filter((m) => m.split === "dev").map((m) => m.text).sort()).toEqual(["GENERAL KENOBI", "HELLO THERE"]);
    const byText = new Map(manifest.map((m) => [m.text, m]));
    expect([...byText.keys()].sort()).toEqual(["A TONE", "GENERAL KENOBI", "GOOD MORNING", 'Habari "ya asubuhi', "HELLO THERE", "yes, an opus file"].sort());
    expect(byText.get("HELLO THERE").duration).toBe(1);
    expect(byText.get("GENERAL KENOBI").duration).toBe(1.25);
    expect(byText.get("GOOD MORNING").duration).toBe(1.5);
    expect(byText.get("A TONE").duration).toBe(1.5); // 44.1 kHz → 16 kHz keeps the duration
    expect(byText.get('Habari "ya asubuhi').lang).toBe("sw");
    // Lossy codecs pad a little; the decoded duration stays within 60 ms of the source's 2 s.
    expect(Math.abs(byText.get('Habari "ya asubuhi').duration - 2)).toBeLessThan(0.06);
    expect(Math.abs(byText.get("yes, an opus file").duration - 2)).toBeLessThan(0.06);
    expect(byText.get("yes, an opus file").lang).toBe("fr");
    for (const m of manifest) expect(m.sampling_rate).toBe(16000);
    // The stereo item took channel 1: a 440 Hz tone, not silence.
    const tone = pythonJson<{ freq: number; rms: number }>(
      `
import tarfile, sys, io, json, glob
import numpy as np, soundfile as sf
for shard in glob.glob(sys.argv[1] + "/*/*.tar"):
    with tarfile.open(shard) as t:
        for n in t.getnames():
            if n.endswith(".txt") and t.extractfile(n).read() == b"A TONE":
                y, sr = sf.read(io.BytesIO(t.extractfile(n[:-4] + ".flac").read()))
                spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
                print(json.dumps({"freq": float(np.argmax(spec) * sr / len(y)), "rms": float(np.sqrt(np.mean(y ** 2)))}))
`,
      [path.join(d, "out")],
    );
    expect(Math.abs(tone.freq - 440)).toBeLessThan(2);
    expect(tone.rms).toBeGreaterThan(0.3);
  });
});

describe("splits", () => {
  it("keeps source splits, augments train only, and never puts one utterance's copies in two splits", () => {
    const d = tempDir("augment-splits-");
    const lines: string[] = [];
    for (let i = 0; i < 9; i++) {
      const split = ["train", "dev", "test"][i % 3];
      writeWav(path.join(d, `a/u${i}.wav`), speechLike(12000, 16000, 100 + i * 10, i + 1), 16000);
      lines.push(JSON.stringify({ audio_filepath: `a/u${i}.wav`, duration: 0.75, text: `t${i}`, speaker: `s${i % 2}`, split }));
    }
    writeFileSync(path.join(d, "m.json"), lines.join("\n") + "\n");
    writeFileSync(path.join(d, "r.yaml"), "inputs: [{format: nemo, path: m.json}]\ncopies: 3\nsplits: {augment: [train]}\nchain:\n  - gain: {db: [-3, 3]}\noutput: {path: out, shard_max_items: 4}\n");
    const r = cli(["run", "r.yaml", "--quiet"], d);
    expect(r.stderr).toBe("");
    const read = (sp: string) => readFileSync(path.join(d, "out", sp, "nemo_manifest.json"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const train = read("train");
    const dev = read("dev");
    const test = read("test");
    expect(train).toHaveLength(9); // 3 utterances × 3 copies
    expect(dev).toHaveLength(3); // clean, once
    expect(test).toHaveLength(3);
    const src = (m: any[]) => new Set(m.map((e) => e.source_id));
    for (const [a, b] of [[train, dev], [train, test], [dev, test]]) for (const id of src(a)) expect(src(b).has(id)).toBe(false);
    for (const e of [...dev, ...test]) expect(e.copy).toBe(-1);
    // Each split's shards count from 0, and its NeMo sharded manifests match.
    for (const sp of ["train", "dev", "test"]) {
      expect(readFileSync(path.join(d, "out", sp, "shard-000000.tar")).length).toBeGreaterThan(0);
      expect(readFileSync(path.join(d, "out", sp, "sharded_manifests/manifest_0.json"), "utf8").length).toBeGreaterThan(0);
    }
    expect(train.filter((e) => e.shard_id === 2)).toHaveLength(1); // 9 items, 4 per shard
    const summary = JSON.parse(readFileSync(path.join(d, "out/summary.json"), "utf8"));
    expect(summary.splits.train.items).toBe(9);
    expect(summary.splits.dev.items).toBe(3);
  });
});
