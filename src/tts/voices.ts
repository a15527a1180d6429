// Voice names of a tts input, checked against espeak-ng's voices and variants (voice-data.ts,
// generated from the engine) without starting the engine, so a bad name stops the recipe at once.
// A voice is `<language voice>[+<variant>]`: the language voice by a language code (`sw`, `en-us`),
// its file name (`en-US`) or identifier (`gmw/en-US`); the variant by its file name (`f2`, `klatt`).
import { editDistance } from "../recipe/errors.js";
import { ESPEAK_VARIANTS, ESPEAK_VOICES } from "./voice-data.js";

type VoiceInfo = (typeof ESPEAK_VOICES)[number];

let index: Map<string, VoiceInfo> | null = null;

/** Language codes, file names and identifiers (lower-case) → voice; a code keeps its first (best) voice. */
function voiceIndex(): Map<string, VoiceInfo> {
  if (index) return index;
  index = new Map();
  for (const v of ESPEAK_VOICES) {
    const file = v.identifier.split("/").pop()!;
    for (const key of [v.identifier, file, ...v.languages]) {
      const k = key.toLowerCase();
      if (!index.has(k)) index.set(k, v);
    }
  }
  return index;
}

/** The language voice a name selects, if any. */
export function findVoice(name: string): VoiceInfo | undefined {
  return voiceIndex().get(name.toLowerCase());
}

export function findVariant(name: string): (typeof ESPEAK_VARIANTS)[number] | undefined {
  return ESPEAK_VARIANTS.find((v) => v.name === name);
}

/** Language codes a voice speaks, plus its file name (what `language:` may say for it). */
function spoken(v: VoiceInfo): string[] {
  return [...v.languages, v.identifier.split("/").pop()!.toLowerCase()];
}

/** The `k` candidates closest to `word` by edit distance (case-insensitive), ties in list order. */
export function nearestNames(word: string, candidates: Iterable<string>, k = 3): string[] {
  const w = word.toLowerCase();
  return [...new Set(candidates)]
    .map((c, i) => ({ c, i, d: editDistance(w, c.toLowerCase()) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, k)
    .map((x) => x.c);
}

function allLanguageCodes(): string[] {
  return [...new Set(ESPEAK_VOICES.flatMap((v) => v.languages))].sort();
}

/** Every voice of a language: its plain voice and the voice with each variant (the default speaker pool). */
export function defaultPool(language: string): string[] {
  return [language, ...ESPEAK_VARIANTS.map((v) => `${language}+${v.name}`)];
}

export interface VoiceProblem {
  /** Path below the input (`["language"]`, `["voices", 2]`). */
  path: Array<string | number>;
  message: string;
  hint?: string;
}

/** Problems with an input's `language` and `voices` (empty when all are known and speak the language). */
export function checkVoices(language: string, voices: readonly string[] | undefined): VoiceProblem[] {
  const problems: VoiceProblem[] = [];
  if (!findVoice(language)) {
    const near = nearestNames(language, allLanguageCodes());
    problems.push({ path: ["language"], message: `espeak-ng has no voice for language "${language}"`, hint: `nearest: ${near.join(", ")}; \`augment voices\` lists all` });
    return problems;
  }
  const lang = language.toLowerCase();
  (voices ?? []).forEach((name, j) => {
    const plus = name.indexOf("+");
    const baseName = plus < 0 ? name : name.slice(0, plus);
    const variantName = plus < 0 ? undefined : name.slice(plus + 1);
    const base = findVoice(baseName);
    if (!base) {
      // The nearest voices that speak this language, then any.
      const own = ESPEAK_VOICES.filter((v) => spoken(v).includes(lang)).flatMap((v) => v.languages);
      const near = nearestNames(baseName, [...own, ...allLanguageCodes()]).map((b) => (variantName === undefined ? b : `${b}+${variantName}`));
      problems.push({ path: ["voices", j], message: `unknown espeak-ng voice "${baseName}" in "${name}"`, hint: `nearest: ${near.join(", ")}` });
      return;
    }
    if (!spoken(base).includes(lang)) {
      problems.push({ path: ["voices", j], message: `voice "${name}" speaks ${base.languages.join(", ")}, not "${language}"`, hint: `use ${language} or ${language}+<variant>` });
      return;
    }
    if (variantName !== undefined && !findVariant(variantName)) {
      const near = nearestNames(variantName, ESPEAK_VARIANTS.map((v) => v.name)).map((v) => `${baseName}+${v}`);
      problems.push({ path: ["voices", j], message: `unknown espeak-ng variant "${variantName}" in "${name}"`, hint: `nearest: ${near.join(", ")}; \`augment voices ${language}\` lists all` });
    }
  });
  return problems;
}

/** Gender of a voice string as its variant file states it (plain language voices state none). */
export function voiceGender(voice: string): "m" | "f" | undefined {
  const plus = voice.indexOf("+");
  return plus < 0 ? undefined : findVariant(voice.slice(plus + 1))?.gender;
}

/** The language voices of `voices` (the table, or the engine's own list) that speak `language`; all without one. */
export function voicesFor(language: string | undefined, voices: readonly VoiceInfo[] = ESPEAK_VOICES): VoiceInfo[] {
  const lang = language?.toLowerCase();
  return lang === undefined ? [...voices] : voices.filter((v) => spoken(v).includes(lang) || v.identifier.toLowerCase() === lang);
}
