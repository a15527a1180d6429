// espeak-ng in process: the Emscripten build of `@echogarden/espeak-ng-emscripten` (GPL-3.0; an
// optional dependency, loaded on first use so recipes without `format: tts` never pay its ~24 MB of
// voice data and ~0.3 s start). No system binary, no network.
//
// Determinism. espeak-ng keeps state between calls (the pitch-flutter phase, filter memories, the
// current voice) and seeds rand() from time() in espeak_Initialize, so the same text can give other
// samples depending on what was spoken before, and on when the process started. Both are removed
// here: the clock is pinned while the engine initialises, and the whole linear memory is restored
// to the snapshot taken right after initialisation before every utterance. Every utterance is then
// synthesised from the same state, whatever thread or order it comes in (checked in
// test/tts-engine.test.ts against a fresh instance).
import { pathToFileURL } from "node:url";

export const ESPEAK_PACKAGE = "@echogarden/espeak-ng-emscripten";
/** espeak-ng's native output rate. */
export const ESPEAK_SAMPLE_RATE = 22050;

/** The synthesizer cannot be loaded (optional dependency missing, or `AUGMENT_ESPEAK` wrong). */
export class TtsUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TtsUnavailableError";
  }
}

/** A synthesis event as espeak-ng reports it: positions in code points of the input (1-based), times in ms. */
export interface EspeakEvent {
  type: "sentence" | "word" | "phoneme" | "end" | "mark" | "play" | "msg_terminated" | "list_terminated" | "samplerate";
  textPosition: number;
  length: number;
  audioMs: number;
}

export interface EspeakOutput {
  pcm: Int16Array;
  events: EspeakEvent[];
}

export interface EspeakVoiceInfo {
  /** File identifier, e.g. `bnt/sw`. */
  identifier: string;
  name: string;
  /** Language codes in priority order, e.g. `["en-us", "en"]`. */
  languages: string[];
}

/** Module specifier of the engine: `AUGMENT_ESPEAK` (a path to another build of the same package) or the package. */
function moduleSpecifier(): string {
  const override = process.env.AUGMENT_ESPEAK;
  if (override === undefined || override === "") return ESPEAK_PACKAGE;
  return override.startsWith("/") ? pathToFileURL(override).href : override;
}

function unavailable(reason: string): TtsUnavailableError {
  return new TtsUnavailableError(
    `format: tts needs the espeak-ng engine (optional dependency ${ESPEAK_PACKAGE}, GPL-3.0): ${reason}; install it with \`npm install ${ESPEAK_PACKAGE}\``,
  );
}

type Factory = (moduleArg: object) => Promise<any>;

let factoryPromise: Promise<Factory> | null = null;

async function loadFactory(): Promise<Factory> {
  factoryPromise ??= (async () => {
    const spec = moduleSpecifier();
    let mod: any;
    try {
      // A variable specifier keeps TypeScript from resolving the (untyped, optional) package at build time.
      mod = await import(spec);
    } catch (e: any) {
      throw unavailable(e?.code === "ERR_MODULE_NOT_FOUND" ? `${spec} is not installed` : `cannot load ${spec}: ${e?.message ?? e}`);
    }
    if (typeof mod?.default !== "function") throw unavailable(`${spec} does not export the Emscripten module factory`);
    return mod.default as Factory;
  })();
  try {
    return await factoryPromise;
  } catch (e) {
    factoryPromise = null;
    throw e;
  }
}

/** Throws TtsUnavailableError unless the engine module can be imported (cheap: it does not start it). */
export async function checkEspeakAvailable(): Promise<void> {
  await loadFactory();
}

const EVENT_TYPES = new Set(["sentence", "word", "phoneme", "end", "mark", "play", "msg_terminated", "list_terminated", "samplerate"]);
const encoder = new TextEncoder();

/** One engine instance (one per thread: the Emscripten module is single-threaded). */
export class Espeak {
  /** The last messages espeak-ng printed (it reports some problems only on stderr). */
  private messages: string[] = [];

  private constructor(
    private readonly module: any,
    private readonly worker: any,
    private readonly snapshot: Uint8Array,
  ) {}

  static async create(): Promise<Espeak> {
    const factory = await loadFactory();
    const messages: string[] = [];
    const keep = (s: string) => {
      messages.push(String(s));
      if (messages.length > 8) messages.shift();
    };
    let module: any;
    try {
      module = await factory({ print: keep, printErr: keep });
    } catch (e: any) {
      throw unavailable(`the engine failed to start: ${e?.message ?? e}`);
    }
    // espeak_Initialize (run by this constructor) does srand(time(NULL)); time() reads Date.now.
    // The constructor is synchronous, so no other code sees the pinned clock.
    const realNow = Date.now;
    let worker: any;
    Date.now = () => 0;
    try {
      worker = new module.eSpeakNGWorker();
    } finally {
      Date.now = realNow;
    }
    // The bindings allocate their string buffer on the first set_voice: do one before the snapshot,
    // so that allocation is part of the state every synthesis starts from.
    const engine = new Espeak(module, worker, new Uint8Array(0));
    if (worker.set_voice(engine.cString("en")) !== 0) throw unavailable("the engine has no voice data");
    const heap: Uint8Array = module.HEAPU8;
    let end = heap.length;
    while (end > 0 && heap[end - 1] === 0) end--;
    const ready = new Espeak(module, worker, heap.slice(0, end));
    ready.messages = messages;
    return ready;
  }

  private restore(): void {
    const heap: Uint8Array = this.module.HEAPU8;
    // The snapshot keeps memory up to its last non-zero byte (about 1 MB of 17); above it the state is
    // all zeros, and zeroing (memset) costs about half of copying. Memory grown since stays grown, zeroed.
    heap.set(this.snapshot);
    heap.fill(0, this.snapshot.length);
  }

  /** A NUL-terminated UTF-8 copy in the engine's heap, as the `{ptr}` object the bindings accept. */
  private cString(s: string): { ptr: number } {
    const bytes = encoder.encode(s);
    const ptr: number = this.module._malloc(bytes.length + 1);
    if (!ptr) throw new Error("espeak-ng: out of memory");
    const heap: Uint8Array = this.module.HEAPU8;
    heap.set(bytes, ptr);
    heap[ptr + bytes.length] = 0;
    return { ptr };
  }

  /**
   * Synthesises `text` (espeak-ng input: SSML and `[[phonemes]]` are interpreted, so callers escape)
   * with `voice` (`<voice>[+<variant>]`), rate in words per minute (80–450) and pitch (0–99).
   */
  synthesize(text: string, voice: string, rateWpm: number, pitch: number): EspeakOutput {
    this.restore();
    this.messages.length = 0;
    const rc = this.worker.set_voice(this.cString(voice));
    // On failure espeak-ng keeps the previous voice, which after restore() is none at all.
    if (rc !== 0) throw new Error(`espeak-ng: unknown voice ${JSON.stringify(voice)} (code ${rc})`);
    this.worker.set_rate(Math.round(rateWpm));
    this.worker.set_pitch(Math.round(pitch));
    const chunks: Int16Array[] = [];
    const events: EspeakEvent[] = [];
    let total = 0;
    this.worker.synthesize(this.cString(text), (samples: Int16Array, evs: Array<{ type: string; text_position: number; word_length: number; audio_position: number }>) => {
      if (samples && samples.length) {
        chunks.push(samples);
        total += samples.length;
      }
      for (const e of evs) {
        if (EVENT_TYPES.has(e.type)) events.push({ type: e.type as EspeakEvent["type"], textPosition: e.text_position, length: e.word_length, audioMs: e.audio_position });
      }
      return false; // false: go on
    });
    const pcm = new Int16Array(total);
    let at = 0;
    for (const c of chunks) {
      pcm.set(c, at);
      at += c.length;
    }
    return { pcm, events };
  }

  /** What espeak-ng printed during the last synthesis (for error messages). */
  lastMessages(): string[] {
    return [...this.messages];
  }

  /** The language voices espeak-ng knows (not the variants). */
  listVoices(): EspeakVoiceInfo[] {
    const raw: Array<{ name: string; identifier: string; languages: Array<{ priority: number; name: string }> }> = this.worker.list_voices();
    return raw.map((v) => ({ identifier: v.identifier, name: v.name, languages: v.languages.map((l) => l.name) }));
  }

  /** Voice variants (`voices/!v/*`): name and the gender its file states. */
  listVariants(): Array<{ name: string; gender?: "m" | "f" }> {
    const FS = this.module.FS;
    const root = ["/usr/share/espeak-ng-data", "/espeak-ng-data"].find((d) => {
      try {
        return FS.isDir(FS.stat(`${d}/voices/!v`).mode);
      } catch {
        return false;
      }
    });
    if (!root) return [];
    const dir = `${root}/voices/!v`;
    const out: Array<{ name: string; gender?: "m" | "f" }> = [];
    for (const name of (FS.readdir(dir) as string[]).filter((n) => !n.startsWith(".")).sort()) {
      const text = new TextDecoder().decode(FS.readFile(`${dir}/${name}`));
      const g = /^\s*gender\s+(male|female)\b/m.exec(text)?.[1];
      out.push(g ? { name, gender: g === "male" ? "m" : "f" } : { name });
    }
    return out;
  }
}

let shared: Promise<Espeak> | null = null;

/** This thread's engine, started on first use. */
export function espeak(): Promise<Espeak> {
  shared ??= Espeak.create().catch((e) => {
    shared = null;
    throw e;
  });
  return shared;
}
