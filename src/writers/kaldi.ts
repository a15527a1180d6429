// Kaldi data directory (FORMATS.md §4; egs/wsj/s5/utils/validate_data_dir.sh, src/doc/data_prep.dox):
//   wav/<id>.wav                      PCM16 mono RIFF WAV (Kaldi's wave reader takes 16-bit PCM only)
//   data/<split|all>/wav.scp          <utt> <abs path>  |  <utt> flac -c -d -s <abs path> |
//   data/<split|all>/text             <utt> <transcript>
//   data/<split|all>/utt2spk          <utt> <spk>
//   data/<split|all>/spk2utt          <spk> <utt> <utt> …
//   data/<split|all>/utt2dur          <utt> <seconds>
//   data/<split|all>/spk2gender       <spk> m|f         (only when every speaker's gender is m or f)
//   data/<split|all>/utt2synth        <utt> synthetic=1 language=sw voice=sw+f2 rate_wpm=163 pitch=48 | <utt> synthetic=0 [language=…]
//                                     (only when the split has synthetic speech; an extra file, which Kaldi's tools ignore)
// Every file is sorted by its first column in LC_ALL=C (byte) order, unique, and ends with "\n".
// utt2spk must also be sorted by speaker, which holds when every speaker id is a prefix of its
// utterance ids (`<spk>-…`); both are checked here and a violation fails loudly.
import { rm } from "node:fs/promises";
import path from "node:path";
import { readWavLayout } from "../audio/wav.js";
import type { ItemMeta, ProcessedItem } from "../types.js";
import type { ItemRecord, ManifestOptions, ManifestWriter } from "./manifest.js";
import { compareUtf8, DEFAULT_MAX_LINES_IN_MEMORY, ExternalLineSorter } from "./sort.js";
import { PerFileSink } from "./files.js";
import { syntheticFields } from "./synthetic.js";
import { TextFileWriter } from "./textfile.js";

export interface KaldiWavSinkOptions {
  /** Folder for the WAV files, relative to the output folder (default `wav`). */
  dir?: string;
}

/** Writes each item as `wav/<id>.wav`, refusing anything but 16-bit PCM mono WAV. */
export class KaldiWavSink extends PerFileSink {
  constructor(outDir: string, opts: KaldiWavSinkOptions = {}) {
    const dir = opts.dir ?? "wav";
    super(outDir, (item) => path.posix.join(dir, `${item.outId}.wav`));
  }

  protected override check(item: ProcessedItem): void {
    if (item.audioExt !== "wav") {
      throw new Error(`Kaldi output needs PCM16 WAV audio (Kaldi reads no other format); item ${item.outId} is ${item.audioExt}: set output.audio to wav`);
    }
    const layout = readWavLayout(item.audio, true);
    if (!layout || layout.formatTag !== 1 || layout.containerBits !== 16 || layout.blockAlign !== 2 || layout.channels !== 1) {
      throw new Error(`Kaldi output needs 16-bit PCM mono WAV; item ${item.outId} is not (format ${layout?.formatTag}, ${layout?.containerBits} bits, ${layout?.channels} channels)`);
    }
    if (layout.sampleRate !== item.meta.sampling_rate) {
      throw new Error(`item ${item.outId}: WAV says ${layout.sampleRate} Hz, metadata ${item.meta.sampling_rate} Hz`);
    }
  }
}

/** Characters a wav.scp pipe command can hold unquoted (our own Kaldi reader also parses only this form). */
const SHELL_SAFE = /^[A-Za-z0-9_\-./+,=:@%]+$/;

/**
 * The wav.scp value for an audio file: the absolute path of a WAV, or the `flac -c -d -s <path> |` pipe
 * of a FLAC (LibriSpeech's Kaldi recipe form).
 */
export function kaldiWavValue(absPath: string): string {
  if (!path.isAbsolute(absPath)) throw new Error(`wav.scp needs absolute paths, got ${absPath}`);
  if (/\s/.test(absPath)) throw new Error(`wav.scp path contains whitespace, which Kaldi cannot read: ${JSON.stringify(absPath)}`);
  const ext = path.extname(absPath).toLowerCase();
  if (ext === ".wav") return absPath;
  if (ext === ".flac") {
    if (!SHELL_SAFE.test(absPath)) throw new Error(`wav.scp: path needs shell quoting for the flac pipe; use an output folder without special characters: ${absPath}`);
    return `flac -c -d -s ${absPath} |`;
  }
  throw new Error(`Kaldi data dirs need WAV or FLAC files, got ${absPath}`);
}

/**
 * Transcript as one line Kaldi accepts: control characters and every Unicode whitespace (which
 * utils/validate_text.pl rejects, and Perl's \s includes U+0085) become single spaces.
 */
export function kaldiText(text: string): string {
  return text.replace(/[\s\u0085\p{Cc}]+/gu, " ").trim();
}

/** utt2synth value: `key=value` tokens; whitespace and `%` in a value are percent-encoded (a variant may be named "Mr serious"). */
export function kaldiSynth(m: ItemMeta): string {
  const enc = (v: string | number) => String(v).replace(/[%\s]/gu, (c) => `%${c.codePointAt(0)!.toString(16).toUpperCase().padStart(2, "0")}`);
  const syn = syntheticFields(m);
  const lang = m.language ? ` language=${enc(m.language)}` : "";
  return syn ? `synthetic=1${lang} voice=${enc(syn.voice)} rate_wpm=${syn.rate_wpm} pitch=${syn.pitch}` : `synthetic=0${lang}`;
}

/** Kaldi ids are whitespace-separated tokens: no whitespace, no control characters, not empty. */
function checkKaldiId(kind: string, id: string): void {
  if (id === "" || /[\s\u0085\p{Cc}]/u.test(id)) throw new Error(`Kaldi ${kind} id ${JSON.stringify(id)} is empty or contains whitespace/control characters`);
}

/** Throws unless the speaker id is a prefix of the utterance id, as `<spk>-…` (or the speaker is the utterance). */
export function checkSpeakerPrefix(utt: string, spk: string): void {
  if (utt !== spk && !utt.startsWith(`${spk}-`)) {
    throw new Error(`Kaldi: speaker id ${JSON.stringify(spk)} is not a prefix of utterance id ${JSON.stringify(utt)} (ids must be <spk>-…; Kaldi needs utt2spk sorted by both)`);
  }
}

export interface KaldiDataDirOptions extends ManifestOptions {
  /** Parent of the split folders (or, with bySplit false, the data dir itself), relative to outDir (default `data`). */
  dir?: string;
  /**
   * true (default): one data dir per split, `<dir>/<split or "all">/`. false: every record into `<dir>/`
   * (when the caller already gives each split its own output folder).
   */
  bySplit?: boolean;
  /** Lines sorted in memory before spilling to run files (default 200 000). */
  maxLinesInMemory?: number;
}

interface SplitState {
  sorter: ExternalLineSorter;
  /** Some item of the split is synthetic speech: write utt2synth. */
  synthetic: boolean;
  /** Speaker → "m" | "f", or null once unknown or contradictory. */
  genders: Map<string, string | null>;
}

type Payload = [speaker: string, wav: string, text: string, durationS: number, synth: string];

export const KALDI_FILES = ["wav.scp", "text", "utt2spk", "spk2utt", "utt2dur"] as const;

/**
 * A Kaldi data dir per split (`data/<split>`, `data/all` for items without one) from the item records.
 * Records arrive in plan order: each split's lines go through a byte-wise external sort (in memory up
 * to `maxLinesInMemory` lines, else run files under `<outDir>/.kaldi-sort-<pid>/`), and all files are written at
 * `finish()`. The audio must be files (records of KaldiWavSink, FilesSink, HfAudioFolderSink); FLAC files
 * are read through `flac -c -d -s … |`. Memory: the sort buffer plus one entry per speaker.
 */
export class KaldiDataDir implements ManifestWriter {
  private readonly splits = new Map<string, SplitState>();
  private readonly dir: string;
  private readonly tmpRoot: string;
  private readonly open: TextFileWriter[] = [];

  constructor(private readonly opts: KaldiDataDirOptions) {
    if (opts.tarred) throw new Error("Kaldi data dirs need audio files (wav.scp paths), not tar members: use the kaldi output (WAV files) or files");
    this.dir = path.join(opts.outDir, opts.dir ?? "data");
    this.tmpRoot = path.join(opts.outDir, `.kaldi-sort-${process.pid}`);
  }

  async add(rec: ItemRecord): Promise<void> {
    const m = rec.meta;
    const split = this.opts.bySplit === false ? "" : (m.split ?? "all");
    if (split !== "" && !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(split)) throw new Error(`Kaldi: split name ${JSON.stringify(split)} is not a folder name`);
    checkKaldiId("utterance", m.id);
    // An unknown speaker is the source utterance's id (sources/ids.ts), which its copies extend with
    // `_a<k>`: Kaldi's convention for "no speaker" is then the utterance itself.
    const speaker = m.id !== m.speaker && m.id.startsWith(m.speaker) && !m.id.startsWith(`${m.speaker}-`) ? m.id : m.speaker;
    checkKaldiId("speaker", speaker);
    checkSpeakerPrefix(m.id, speaker);
    let st = this.splits.get(split);
    if (!st) {
      st = { sorter: new ExternalLineSorter(path.join(this.tmpRoot, split || "_"), this.opts.maxLinesInMemory ?? DEFAULT_MAX_LINES_IN_MEMORY), synthetic: false, genders: new Map() };
      this.splits.set(split, st);
    }
    const syn = syntheticFields(m);
    if (syn) st.synthetic = true;
    const payload: Payload = [speaker, kaldiWavValue(path.resolve(this.opts.outDir, rec.audio)), kaldiText(m.text), m.num_samples / m.sampling_rate, kaldiSynth(m)];
    // The utt id, a TAB (below every id character) and the rest as JSON: sorting whole lines sorts by id.
    await st.sorter.add(`${m.id}\t${JSON.stringify(payload)}`);
    const g = m.gender === "m" || m.gender === "f" ? m.gender : null;
    const prev = st.genders.get(speaker);
    if (prev === undefined) st.genders.set(speaker, g);
    else if (prev !== g) st.genders.set(speaker, null);
  }

  private async create(split: string, name: string): Promise<TextFileWriter> {
    const f = await TextFileWriter.create(path.join(this.dir, split, name));
    this.open.push(f);
    return f;
  }

  private async writeSplit(split: string, st: SplitState): Promise<void> {
    const files = new Map<string, TextFileWriter>();
    for (const name of KALDI_FILES) files.set(name, await this.create(split, name));
    const [wavScp, text, utt2spk, spk2utt, utt2dur] = KALDI_FILES.map((n) => files.get(n)!);
    const utt2synth = st.synthetic ? await this.create(split, "utt2synth") : null;
    let prevUtt: string | null = null;
    let curSpk: string | null = null;
    let curUtts: string[] = [];
    const flushSpeaker = async () => {
      if (curSpk !== null) await spk2utt.write(`${curSpk} ${curUtts.join(" ")}\n`);
    };
    for await (const line of st.sorter.sorted()) {
      const tab = line.indexOf("\t");
      const utt = line.slice(0, tab);
      const [spk, wav, transcript, durS, synth] = JSON.parse(line.slice(tab + 1)) as Payload;
      if (prevUtt === utt) throw new Error(`Kaldi: duplicate utterance id ${utt} in ${path.join(this.dir, split)}`);
      prevUtt = utt;
      if (spk !== curSpk) {
        // Sorted by utterance, the speakers must come out sorted too (`sort -k2 -C utt2spk`), which also
        // makes each speaker's utterances contiguous for spk2utt.
        if (curSpk !== null && compareUtf8(spk, curSpk) < 0) {
          throw new Error(`Kaldi: utt2spk of ${path.join(this.dir, split)} is not sorted by speaker (${curSpk} before ${spk} at ${utt}): a speaker id is a prefix of another's utterance ids`);
        }
        await flushSpeaker();
        curSpk = spk;
        curUtts = [];
      }
      curUtts.push(utt);
      await wavScp.write(`${utt} ${wav}\n`);
      await text.write(transcript ? `${utt} ${transcript}\n` : `${utt}\n`);
      await utt2spk.write(`${utt} ${spk}\n`);
      await utt2dur.write(`${utt} ${durS}\n`);
      await utt2synth?.write(`${utt} ${synth}\n`);
    }
    await flushSpeaker();
    const speakers = [...st.genders.keys()].sort(compareUtf8);
    if (speakers.every((s) => st.genders.get(s) !== null)) {
      const spk2gender = await this.create(split, "spk2gender");
      for (const s of speakers) await spk2gender.write(`${s} ${st.genders.get(s)}\n`);
    }
  }

  async finish(): Promise<void> {
    try {
      const names = [...this.splits.keys()].sort(compareUtf8);
      for (const split of names) await this.writeSplit(split, this.splits.get(split)!);
      // Commit only once every split was written: a failure leaves no half-written data dir.
      for (const f of this.open) await f.commit();
      this.open.length = 0;
    } catch (e) {
      await this.abort();
      throw e;
    }
    await this.cleanup();
  }

  private async cleanup(): Promise<void> {
    for (const st of this.splits.values()) await st.sorter.cleanup();
    this.splits.clear();
    await rm(this.tmpRoot, { recursive: true, force: true });
  }

  async abort(): Promise<void> {
    for (const f of this.open) await f.abort();
    this.open.length = 0;
    await this.cleanup();
  }
}
