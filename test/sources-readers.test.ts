import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { SourceError, checkInput, inputSchema, readInput } from "../src/sources/index.js";
import type { ItemError, Utterance } from "../src/types.js";

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), "augment-sources-"));
  roots.push(d);
  return d;
}

/** A real PCM16 mono WAV: 44-byte header + a short sine. */
function wavBytes(seconds = 0.01, sampleRate = 16000): Buffer {
  const n = Math.round(seconds * sampleRate);
  const b = Buffer.alloc(44 + 2 * n);
  b.write("RIFF", 0, "ascii");
  b.writeUInt32LE(36 + 2 * n, 4);
  b.write("WAVE", 8, "ascii");
  b.write("fmt ", 12, "ascii");
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write("data", 36, "ascii");
  b.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / sampleRate)), 44 + 2 * i);
  return b;
}

function put(file: string, content: string | Buffer): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

async function collect(raw: Record<string, unknown>, index = 0): Promise<{ utts: Utterance[]; errors: ItemError[] }> {
  const spec = inputSchema.parse(raw);
  const utts: Utterance[] = [];
  const errors: ItemError[] = [];
  for await (const item of readInput(spec, index)) {
    if ("stage" in item) errors.push(item);
    else utts.push(item);
  }
  return { utts, errors };
}

function expectError(errors: ItemError[], pattern: RegExp): ItemError {
  const hit = errors.find((e) => pattern.test(e.reason));
  expect(hit, `no error matching ${pattern} in ${JSON.stringify(errors.map((e) => e.reason))}`).toBeDefined();
  expect(hit!.stage).toBe("catalog");
  expect(hit!.reason).not.toMatch(/[\r\n]/);
  return hit!;
}

describe("schema", () => {
  it("fills defaults and rejects unknown keys and formats", () => {
    const spec = inputSchema.parse({ format: "commonvoice", path: "/x" });
    expect(spec).toEqual({ format: "commonvoice", path: "/x", channel: "mix", tsv: "validated.tsv" });
    expect(inputSchema.safeParse({ format: "nemo", path: "/x", tsv: "a" }).success).toBe(false);
    expect(inputSchema.safeParse({ format: "wav", path: "/x" }).success).toBe(false);
    expect(inputSchema.safeParse({ format: "nemo" }).success).toBe(false);
    expect(inputSchema.safeParse({ format: "nemo", path: "/x", channel: -1 }).success).toBe(false);
    expect(inputSchema.safeParse({ format: "nemo", path: "/x", channel: 1 }).success).toBe(true);
    expect(inputSchema.safeParse({ format: "nemo", path: "/x", split: "train.clean" }).success).toBe(false);
    expect(inputSchema.parse({ format: "folder", path: "/x" })).toMatchObject({ audio_field: "file_name" });
  });

  it("describes every field", () => {
    for (const option of inputSchema.options) {
      expect(option.description, option.shape.format.value).toBeTruthy();
      for (const [key, field] of Object.entries(option.shape)) {
        expect((field as { description?: string }).description, `${option.shape.format.value}.${key}`).toBeTruthy();
      }
    }
  });
});

describe("nemo", () => {
  it("reads entries, resolves relative paths, keeps extra keys, reads word times", async () => {
    const dir = tempDir();
    put(path.join(dir, "audio/a.wav"), wavBytes());
    const abs = put(path.join(dir, "other/b.wav"), wavBytes());
    put(path.join(dir, "long.wav"), wavBytes());
    put(path.join(dir, "t/c.txt"), "from a text file\n");
    const lines = [
      { audio_filepath: "audio/a.wav", duration: 1.5, text: "hello world", lang: "de", speaker: 7, gender: "Female", sampling_rate: 16000, aug: { x: 1 } },
      { audio_filename: abs, duration: "2.25", normalized_text: "norm text", split: "dev" },
      { audio_filepath: "long.wav", duration: 3, offset: 10.5, text: "seg one", words: [{ word: "seg", start: 0.1, end: 0.4 }, { word: "one", start: 0.5, end: 0.9 }] },
      { audio_filepath: "long.wav", duration: 2, offset: 20, text_filepath: "t/c.txt" },
      { audio_filepath: "long.wav", duration: 1, offset: 30, text: "x", _skipme: true },
    ];
    const manifest = put(path.join(dir, "m.json"), `${lines.map((l) => JSON.stringify(l)).join("\n")}\n\n`);
    const { utts, errors } = await collect({ format: "nemo", path: manifest, language: "en", channel: 1 }, 3);
    expect(errors).toEqual([]);
    expect(utts.map((u) => u.id)).toEqual(["7-a", "b", "long_10500", "long_20000"]);
    const [a, b, c, d] = utts;
    expect(a).toEqual({
      id: "7-a",
      sourceId: "a",
      audio: { path: path.join(dir, "audio/a.wav") },
      durationS: 1.5,
      text: "hello world",
      language: "de",
      speaker: "7",
      gender: "f",
      input: 3,
      channel: 1,
      fields: { sampling_rate: 16000, aug: { x: 1 } },
    });
    expect(b).toMatchObject({ speaker: "b", text: "norm text", durationS: 2.25, language: "en", split: "dev", audio: { path: abs } });
    expect(c.audio).toEqual({ path: path.join(dir, "long.wav"), offsetS: 10.5, durationS: 3 });
    expect(c.words).toEqual([
      { word: "seg", startS: 0.1, endS: 0.4 },
      { word: "one", startS: 0.5, endS: 0.9 },
    ]);
    expect(d.text).toBe("from a text file");
    expect(d.audio).toEqual({ path: path.join(dir, "long.wav"), offsetS: 20, durationS: 2 });
  });

  it("reads gzip manifests by suffix and lets split override", async () => {
    const dir = tempDir();
    put(path.join(dir, "a.wav"), wavBytes());
    const manifest = put(path.join(dir, "m.jsonl.gz"), gzipSync(`${JSON.stringify({ audio_filepath: "a.wav", duration: 1, text: "hi", split: "dev" })}\n`));
    const { utts } = await collect({ format: "nemo", path: manifest, split: "train" });
    expect(utts.map((u) => [u.id, u.split])).toEqual([["a", "train"]]);
  });

  it("turns each bad line into an ItemError and reads the rest", async () => {
    const dir = tempDir();
    for (const f of ["ok1.wav", "ok2.wav", "dup.wav", "empty.wav"]) put(path.join(dir, f), wavBytes());
    const lines = [
      JSON.stringify({ audio_filepath: "ok1.wav", duration: 1, text: "one" }),
      "{not json",
      JSON.stringify({ audio_filepath: "missing.wav", duration: 1, text: "gone" }),
      JSON.stringify({ duration: 1, text: "no audio" }),
      JSON.stringify({ audio_filepath: "ok1.wav", text: "no duration" }),
      JSON.stringify({ audio_filepath: "empty.wav", duration: 1, text: "  " }),
      JSON.stringify({ audio_filepath: "dup.wav", duration: 1, text: "first" }),
      JSON.stringify({ audio_filepath: "dup.wav", duration: 1, text: "second" }),
      JSON.stringify({ audio_filepath: "a\u0000b.wav", duration: 1, text: "nul" }),
      JSON.stringify({ audio_filepath: "ok1.wav", duration: 1, offset: 0.5, text: "bad words", words: [{ word: "w", start: 2, end: 1 }] }),
      "[1,2]",
      JSON.stringify({ audio_filepath: "ok2.wav", duration: 1, text: "two" }),
    ];
    const manifest = put(path.join(dir, "bad.json"), lines.join("\n"));
    const { utts, errors } = await collect({ format: "nemo", path: manifest });
    expect(utts.map((u) => u.text)).toEqual(["one", "first", "two"]);
    expect(errors).toHaveLength(9);
    expectError(errors, /^bad\.json:2: malformed JSON line/);
    const missing = expectError(errors, /^bad\.json:3: file not found: .*missing\.wav$/);
    expect(missing.id).toBe("missing");
    expect(missing.source).toBe(`${manifest}:3`);
    expectError(errors, /^bad\.json:4: missing required field audio_filepath$/);
    expectError(errors, /^bad\.json:5: missing required field duration$/);
    expect(expectError(errors, /^bad\.json:6: empty transcript$/).id).toBe("empty");
    expect(expectError(errors, /^bad\.json:8: duplicate id dup /).id).toBe("dup");
    expectError(errors, /^bad\.json:9: audio path contains a NUL byte$/);
    expectError(errors, /^bad\.json:10: invalid words\[0\]/);
    expectError(errors, /^bad\.json:11: malformed JSON line: not an object$/);
  });

  it("throws SourceError for a missing manifest", async () => {
    const spec = inputSchema.parse({ format: "nemo", path: "/nonexistent/m.json" });
    await expect(checkInput(spec)).rejects.toThrow(SourceError);
    await expect(collect(spec)).rejects.toThrow(/NeMo manifest not found: \/nonexistent\/m\.json/);
  });
});

describe("kaldi", () => {
  function kaldiDir(files: Record<string, string>): string {
    const dir = path.join(tempDir(), "data", "train_clean");
    for (const [name, content] of Object.entries(files)) put(path.join(dir, name), content);
    return dir;
  }

  it("reads plain paths and the flac/sox pipes, utt2spk, utt2dur, spk2gender", async () => {
    const audio = tempDir();
    const p1 = put(path.join(audio, "u1.wav"), wavBytes());
    const p2 = put(path.join(audio, "u2.flac"), "fLaC");
    const p3 = put(path.join(audio, "u3.flac"), "fLaC");
    const p4 = put(path.join(audio, "u4.wav"), wavBytes());
    const dir = kaldiDir({
      "wav.scp": `s1-u1 ${p1}\ns1-u2 flac -c -d -s ${p2} |\ns2-u3 flac -d -c -s ${p3} |\nu4 sox ${p4} -t wav - |\n`,
      text: "s1-u1 HELLO WORLD\ns1-u2 GOOD  MORNING\ns2-u3 A\nu4 B C\n",
      utt2spk: "s1-u1 s1\ns1-u2 s1\ns2-u3 s2\nu4 s3\n",
      utt2dur: "s1-u1 1.25\ns1-u2 2.5\n",
      spk2gender: "s1 m\ns2 f\n",
    });
    const { utts, errors } = await collect({ format: "kaldi", path: dir });
    expect(errors).toEqual([]);
    expect(utts.map((u) => [u.id, u.speaker, u.audio.path, u.durationS, u.gender, u.split])).toEqual([
      ["s1-u1", "s1", p1, 1.25, "m", "train"],
      ["s1-u2", "s1", p2, 2.5, "m", "train"],
      ["s2-u3", "s2", p3, null, "f", "train"],
      ["s3-u4", "s3", p4, null, undefined, "train"],
    ]);
    expect(utts[1].text).toBe("GOOD  MORNING");
    expect(utts[3].sourceId).toBe("u4");
  });

  it("cuts segments out of recordings", async () => {
    const audio = tempDir();
    const rec = put(path.join(audio, "rec1.wav"), wavBytes());
    const dir = kaldiDir({
      "wav.scp": `rec1 ${rec}\n`,
      segments: "spkA-rec1-0001 rec1 0.50 2.00\nspkA-rec1-0002 rec1 2.00 3.75\n",
      text: "spkA-rec1-0001 first part\nspkA-rec1-0002 second part\n",
      utt2spk: "spkA-rec1-0001 spkA\nspkA-rec1-0002 spkA\n",
    });
    const { utts, errors } = await collect({ format: "kaldi", path: dir, split: "dev" });
    expect(errors).toEqual([]);
    expect(utts.map((u) => [u.id, u.audio, u.durationS, u.split])).toEqual([
      ["spkA-rec1-0001", { path: rec, offsetS: 0.5, durationS: 1.5 }, 1.5, "dev"],
      ["spkA-rec1-0002", { path: rec, offsetS: 2, durationS: 1.75 }, 1.75, "dev"],
    ]);
  });

  it("uses the utterance id as speaker without utt2spk", async () => {
    const audio = tempDir();
    const p = put(path.join(audio, "a.wav"), wavBytes());
    const dir = kaldiDir({ "wav.scp": `utt.1 ${p}\n`, text: "utt.1 hi\n" });
    const { utts } = await collect({ format: "kaldi", path: dir });
    expect(utts.map((u) => [u.id, u.speaker, u.sourceId])).toEqual([["utt_1", "utt_1", "utt.1"]]);
  });

  it("refuses other pipes, names wav.scp:LINE, and reads the rest", async () => {
    const audio = tempDir();
    const ok = put(path.join(audio, "ok.wav"), wavBytes());
    const dup = put(path.join(audio, "dup.wav"), wavBytes());
    const dir = kaldiDir({
      "wav.scp": [
        `a-ok ${ok}`,
        `a-pipe sox ${ok} -r 8000 -t wav - |`,
        `a-missing ${path.join(audio, "nope.wav")}`,
        `a-dup ${dup}`,
        `a-empty ${ok}`,
        `a-notext ${ok}`,
        `a-curl curl -s http://x/y.wav |`,
      ].join("\n"),
      text: "a-ok fine\na-pipe piped\na-missing gone\na-dup one\na-dup two\na-empty\na-nowav nothing\na-curl fetched\n",
    });
    const { utts, errors } = await collect({ format: "kaldi", path: dir });
    expect(utts.map((u) => [u.id, u.text])).toEqual([
      ["a-ok", "fine"],
      ["a-dup", "one"],
    ]);
    const pipe = expectError(errors, /^wav\.scp:2: unsupported wav\.scp command "sox .* -r 8000 -t wav - \|"; convert to files or use the flac\/sox forms/);
    expect(pipe.id).toBe("a-pipe");
    expect(pipe.source).toBe(`${path.join(dir, "wav.scp")}:2`);
    expectError(errors, /^wav\.scp:7: unsupported wav\.scp command "curl/);
    expectError(errors, /^text:3: file not found: .*nope\.wav$/);
    expectError(errors, /^text:5: duplicate id a-dup/);
    expectError(errors, /^text:6: empty transcript$/);
    expectError(errors, /^text:7: recording a-nowav is not in wav\.scp$/);
    expectError(errors, /^wav\.scp:6: utterance a-notext has no transcript in text$/);
    expect(errors).toHaveLength(7);
  });

  it("reports bad segments and unknown recordings", async () => {
    const audio = tempDir();
    const rec = put(path.join(audio, "r.wav"), wavBytes());
    const dir = kaldiDir({
      "wav.scp": `r ${rec}\n`,
      segments: "s-1 r 0 1\ns-2 r 2 1\ns-3 other 0 1\ns-4 r x\n",
      text: "s-1 a\ns-2 b\ns-3 c\ns-4 d\ns-5 e\n",
    });
    const { utts, errors } = await collect({ format: "kaldi", path: dir });
    expect(utts.map((u) => u.id)).toEqual(["s-1"]);
    expectError(errors, /^segments:2: invalid segment 2\.\.1/);
    expectError(errors, /^segments:3: recording other is not in wav\.scp$/);
    expectError(errors, /^segments:4: malformed segments line/);
    expectError(errors, /^text:5: utterance s-5 is not in segments$/);
    expect(errors).toHaveLength(4);
  });

  it("throws SourceError without wav.scp or text", async () => {
    const dir = kaldiDir({ "wav.scp": "" });
    await expect(collect({ format: "kaldi", path: dir })).rejects.toThrow(/Kaldi text not found: .*text$/);
    await expect(collect({ format: "kaldi", path: path.join(dir, "nope") })).rejects.toThrow(SourceError);
  });
});

describe("librispeech", () => {
  function libri(root: string): void {
    put(
      path.join(root, "LibriSpeech/SPEAKERS.TXT"),
      "; ID      |SEX| SUBSET           |MINUTES| NAME\n103    | F | train-clean-100  | 25.19 | Angie\n1089   | M | test-clean       | 25.00 | Bill\n",
    );
    const tc = path.join(root, "LibriSpeech/test-clean/1089/134686");
    put(path.join(tc, "1089-134686.trans.txt"), "1089-134686-0000 HE HOPED THERE WOULD BE STEW\n1089-134686-0001 STUFF IT INTO YOU\n");
    put(path.join(tc, "1089-134686-0000.flac"), "fLaC");
    put(path.join(tc, "1089-134686-0001.flac"), "fLaC");
    const tr = path.join(root, "LibriSpeech/train-clean-100/103/1240");
    put(path.join(tr, "103-1240.trans.txt"), "103-1240-0000 CHAPTER ONE\n103-1240-0001 MISSING AUDIO\n103-1240-0002\n");
    put(path.join(tr, "103-1240-0000.flac"), "fLaC");
    put(path.join(tr, "103-1240-0002.flac"), "fLaC");
    mkdirSync(path.join(root, "LibriSpeech/train-clean-100/103/9999"), { recursive: true });
  }

  it("reads every part with speaker, gender, split and language", async () => {
    const root = tempDir();
    libri(root);
    for (const p of [root, path.join(root, "LibriSpeech")]) {
      const { utts, errors } = await collect({ format: "librispeech", path: p });
      expect(utts.map((u) => [u.id, u.speaker, u.gender, u.split, u.language, u.text])).toEqual([
        ["1089-134686-0000", "1089", "m", "test", "en", "HE HOPED THERE WOULD BE STEW"],
        ["1089-134686-0001", "1089", "m", "test", "en", "STUFF IT INTO YOU"],
        ["103-1240-0000", "103", "f", "train", "en", "CHAPTER ONE"],
      ]);
      expect(utts[0].audio.path).toBe(path.join(root, "LibriSpeech/test-clean/1089/134686/1089-134686-0000.flac"));
      expect(utts[0].durationS).toBeNull();
      expect(utts[0].fields).toEqual({ subset: "test-clean" });
      expectError(errors, /^103-1240\.trans\.txt:2: file not found: .*103-1240-0001\.flac$/);
      expectError(errors, /^103-1240\.trans\.txt:3: empty transcript$/);
      expectError(errors, /^103-9999\.trans\.txt: transcript file not found/);
      expect(errors).toHaveLength(3);
    }
  });

  it("reads one part directory, or the parts asked for", async () => {
    const root = tempDir();
    libri(root);
    const one = await collect({ format: "librispeech", path: path.join(root, "LibriSpeech/test-clean"), language: "en-US" });
    expect(one.utts.map((u) => [u.id, u.gender, u.language])).toEqual([
      ["1089-134686-0000", "m", "en-US"],
      ["1089-134686-0001", "m", "en-US"],
    ]);
    const parts = await collect({ format: "librispeech", path: root, parts: ["train-clean-100"] });
    expect(parts.utts.map((u) => u.id)).toEqual(["103-1240-0000"]);
    await expect(collect({ format: "librispeech", path: root, parts: ["dev-other"] })).rejects.toThrow(/part dev-other not found/);
    await expect(collect({ format: "librispeech", path: tempDir() })).rejects.toThrow(SourceError);
  });
});

describe("commonvoice", () => {
  const client1 = "a".repeat(8) + "0123456789abcdef".repeat(7) + "b".repeat(8);

  it("reads the clip list by header with durations, speakers, locale and kept columns", async () => {
    const dir = tempDir();
    put(path.join(dir, "clips/common_voice_fr_1.mp3"), "ID3");
    put(path.join(dir, "clips/common_voice_fr_2.mp3"), "ID3");
    put(path.join(dir, "clips/old_clip.mp3"), "ID3");
    put(path.join(dir, "clip_durations.tsv"), "clip\tduration[ms]\ncommon_voice_fr_1.mp3\t4200\ncommon_voice_fr_2.mp3\t1500\n");
    const header = "client_id\tpath\tsentence_id\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tvariant\tlocale\tsegment";
    put(
      path.join(dir, "train.tsv"),
      [
        header,
        `${client1}\tcommon_voice_fr_1.mp3\tsid1\tBonjour à tous.\t2\t0\tthirties\tmale_masculine\tFrance\t\tfr\t`,
        `${client1}\tcommon_voice_fr_2.mp3\tsid2\tSalut.\t3\t1\t\t\t\t\t\t`,
        `other-client\told_clip\tsid3\tVieux.\t2\t0`,
      ].join("\n"),
    );
    const { utts, errors } = await collect({ format: "commonvoice", path: dir, tsv: "train.tsv", language: "xx" });
    expect(errors).toEqual([]);
    const spk = client1.slice(0, 16);
    expect(utts.map((u) => [u.id, u.speaker, u.durationS, u.language, u.split, u.text, u.gender])).toEqual([
      [`${spk}-common_voice_fr_1`, spk, 4.2, "fr", "train", "Bonjour à tous.", "m"],
      [`${spk}-common_voice_fr_2`, spk, 1.5, "xx", "train", "Salut.", undefined],
      [expect.stringMatching(/^[0-9a-f]{16}-old_clip$/), expect.stringMatching(/^[0-9a-f]{16}$/), null, "xx", "train", "Vieux.", undefined],
    ]);
    expect(utts[0].sourceId).toBe("common_voice_fr_1");
    expect(utts[0].audio.path).toBe(path.join(dir, "clips/common_voice_fr_1.mp3"));
    expect(utts[2].audio.path).toBe(path.join(dir, "clips/old_clip.mp3"));
    expect(utts[0].fields).toEqual({ client_id: client1, sentence_id: "sid1", up_votes: "2", down_votes: "0", age: "thirties", accents: "France" });
  });

  it("tolerates a duplicate accents column, a stray quote and missing columns; reports bad rows", async () => {
    const dir = tempDir();
    for (const n of [1, 2, 3, 5, 6]) put(path.join(dir, `clips/common_voice_en_${n}.mp3`), "ID3");
    put(
      path.join(dir, "validated.tsv"),
      [
        "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\taccents\tlocale",
        `c1\tcommon_voice_en_1.mp3\tHe said "hello to me.\t2\t0\t\t\t\tUS English\ten`,
        `c1\tcommon_voice_en_2.mp3\tA "quoted" word.\t2\t0\t\t\tIndia\t\ten`,
        `c2\tcommon_voice_en_3.mp3\t\t2\t0`,
        `c2\tcommon_voice_en_4.mp3\tNo clip here.\t2\t0`,
        `c1\tcommon_voice_en_1.mp3\tRepeated.\t2\t0`,
        `c3\tcommon_voice_en_5`,
        `\tcommon_voice_en_6.mp3\tNo speaker.`,
      ].join("\n"),
    );
    const { utts, errors } = await collect({ format: "commonvoice", path: dir });
    expect(utts.map((u) => u.text)).toEqual(['He said "hello to me.', 'A "quoted" word.', "No speaker."]);
    expect(utts[0].fields?.accents).toBe("US English");
    expect(utts[1].fields?.accents).toBe("India");
    expect(utts[0].split).toBeUndefined();
    expect(utts[2].id).toBe("common_voice_en_6");
    expect(utts[2].speaker).toBe("common_voice_en_6");
    expectError(errors, /^validated\.tsv:4: empty transcript$/);
    expectError(errors, /^validated\.tsv:5: file not found: .*common_voice_en_4\.mp3$/);
    expectError(errors, /^validated\.tsv:6: duplicate id/);
    expectError(errors, /^validated\.tsv:7: empty transcript$/);
    expect(errors).toHaveLength(4);
  });

  it("throws SourceError for a missing TSV or a header without path", async () => {
    const dir = tempDir();
    await expect(collect({ format: "commonvoice", path: dir })).rejects.toThrow(/Common Voice clip list not found: .*validated\.tsv/);
    put(path.join(dir, "validated.tsv"), "client_id\tsentence\nx\ty\n");
    await expect(collect({ format: "commonvoice", path: dir })).rejects.toThrow(/no "path" column/);
  });
});

describe("folder", () => {
  it("reads metadata.jsonl with text_field fallbacks and extra fields", async () => {
    const dir = tempDir();
    put(path.join(dir, "a.wav"), wavBytes());
    put(path.join(dir, "sub/b c.wav"), wavBytes());
    put(path.join(dir, "metadata.jsonl"), [
      JSON.stringify({ file_name: "a.wav", transcription: "first", speaker: "s1", duration: 0.01, emotion: "calm", language: "nl" }),
      JSON.stringify({ file_name: "sub/b c.wav", sentence: "second", split: "test", gender: "female" }),
    ].join("\n"));
    const { utts, errors } = await collect({ format: "folder", path: dir });
    expect(errors).toEqual([]);
    expect(utts).toEqual([
      { id: "s1-a", sourceId: "a", audio: { path: path.join(dir, "a.wav") }, durationS: 0.01, text: "first", language: "nl", speaker: "s1", input: 0, channel: "mix", fields: { emotion: "calm" } },
      { id: "sub_b_c", sourceId: "sub/b c", audio: { path: path.join(dir, "sub/b c.wav") }, durationS: null, text: "second", speaker: "sub_b_c", gender: "f", split: "test", input: 0, channel: "mix" },
    ]);
  });

  it("reads RFC 4180 metadata.csv with quotes, escaped quotes, commas and line breaks", async () => {
    const dir = tempDir();
    for (const n of ["1", "2", "3", "5"]) put(path.join(dir, `clip${n}.wav`), wavBytes());
    put(
      path.join(dir, "metadata.csv"),
      [
        "file_name,text,speaker,duration,note",
        'clip1.wav,"hello, world",spk,1.5,plain',
        'clip2.wav,"she said ""hi""",spk,,"two\r\nlines"',
        "clip3.wav,,spk,,",
        "clip4.wav,no file,spk,,",
        "clip5.wav,last one,,2,",
        "",
      ].join("\r\n"),
    );
    const { utts, errors } = await collect({ format: "folder", path: dir, split: "train" });
    expect(utts.map((u) => [u.id, u.text, u.speaker, u.durationS, u.split, u.fields])).toEqual([
      ["spk-clip1", "hello, world", "spk", 1.5, "train", { note: "plain" }],
      ["spk-clip2", 'she said "hi"', "spk", null, "train", { note: "two\r\nlines" }],
      ["clip5", "last one", "clip5", 2, "train", undefined],
    ]);
    expectError(errors, /^metadata\.csv:5: empty transcript$/);
    expectError(errors, /^metadata\.csv:6: file not found: .*clip4\.wav$/);
    expect(errors).toHaveLength(2);
  });

  it("honours text_field and audio_field", async () => {
    const dir = tempDir();
    put(path.join(dir, "x.flac"), "fLaC");
    put(path.join(dir, "metadata.jsonl"), JSON.stringify({ audio: "x.flac", text: "raw", norm: "normalised" }));
    const { utts } = await collect({ format: "folder", path: dir, audio_field: "audio", text_field: "norm" });
    expect(utts.map((u) => [u.id, u.text, u.fields])).toEqual([["x", "normalised", { text: "raw" }]]);
  });

  it("reads split subdirectories and reports bad rows", async () => {
    const dir = tempDir();
    put(path.join(dir, "train/a.wav"), wavBytes());
    put(path.join(dir, "validation/a.wav"), wavBytes());
    put(path.join(dir, "train/metadata.jsonl"), [JSON.stringify({ file_name: "a.wav", text: "t" }), "oops", JSON.stringify({ text: "no file" }), JSON.stringify({ file_name: "a.wav", text: "again" })].join("\n"));
    put(path.join(dir, "validation/metadata.jsonl"), JSON.stringify({ file_name: "a.wav", text: "v" }));
    const { utts, errors } = await collect({ format: "folder", path: dir });
    expect(utts.map((u) => [u.id, u.split, u.text])).toEqual([
      ["a", "train", "t"],
      [expect.stringMatching(/^a_[0-9a-f]{8}$/), "dev", "v"],
    ]);
    expect(utts[1].speaker).toBe(utts[1].id);
    expectError(errors, /^metadata\.jsonl:2: malformed JSON line/);
    expectError(errors, /^metadata\.jsonl:3: missing required field file_name$/);
    expectError(errors, /^metadata\.jsonl:4: duplicate id a /);
    expect(errors).toHaveLength(3);
  });

  it("throws SourceError without metadata or with both kinds", async () => {
    const dir = tempDir();
    await expect(collect({ format: "folder", path: dir })).rejects.toThrow(/no metadata\.jsonl or metadata\.csv/);
    put(path.join(dir, "metadata.csv"), "file_name,text\n");
    put(path.join(dir, "metadata.jsonl"), "");
    await expect(collect({ format: "folder", path: dir })).rejects.toThrow(/both metadata\.jsonl and metadata\.csv/);
  });
});

describe("scale", () => {
  it("streams a large manifest in order with bounded stats in flight", async () => {
    const dir = tempDir();
    const n = 3000;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      if (i % 10 === 0) put(path.join(dir, `w/${i}.wav`), wavBytes(0.001));
      lines.push(JSON.stringify({ audio_filepath: `w/${i % 10 === 0 ? i : "missing"}.wav`, duration: 1, text: `t${i}`, speaker: `s${i % 7}`, offset: i % 10 === 0 ? undefined : i }));
    }
    const manifest = put(path.join(dir, "big.json"), lines.join("\n"));
    const { utts, errors } = await collect({ format: "nemo", path: manifest });
    expect(utts).toHaveLength(n / 10);
    expect(errors).toHaveLength(n - n / 10);
    expect(utts.map((u) => u.text)).toEqual(Array.from({ length: n / 10 }, (_, k) => `t${k * 10}`));
    expect(new Set(utts.map((u) => u.id)).size).toBe(n / 10);
  });
});

describe("options", () => {
  it("emits empty transcripts as utterances when allowed", async () => {
    const dir = tempDir();
    put(path.join(dir, "a.wav"), wavBytes());
    put(path.join(dir, "b.wav"), wavBytes());
    const manifest = put(path.join(dir, "m.json"), [
      JSON.stringify({ audio_filepath: "a.wav", duration: 1, text: "" }),
      JSON.stringify({ audio_filepath: "b.wav", duration: 1 }),
    ].join("\n"));
    const spec = inputSchema.parse({ format: "nemo", path: manifest });
    const out: unknown[] = [];
    for await (const item of readInput(spec, 0, { allowEmptyText: true, statConcurrency: 1 })) out.push(item);
    expect(out).toMatchObject([
      { id: "a", text: "" },
      { id: "b", text: "" },
    ]);
  });
});
