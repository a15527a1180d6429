// Text handling of the tts input: splitting long lines at sentence punctuation, and the transcript
// and word labels as the recipe asks (`transcript:`). The synthesizer always gets the text as
// written: punctuation drives its pauses and intonation.

export const TRANSCRIPT_MODES = ["as_written", "lowercase", "lowercase_no_punctuation"] as const;
export type TranscriptMode = (typeof TRANSCRIPT_MODES)[number];

/** Runs of whitespace (any Unicode space, line and paragraph separators) become one space. */
export function collapseSpace(text: string): string {
  return text.replace(/\s+/gu, " ").trim();
}

/** Sentence-final punctuation of the scripts espeak-ng reads: Latin, CJK, Devanagari, Ethiopic, Arabic. */
const SENTENCE_END = /[.!?…。！？।॥።፧؟]+["'”’»)\]]*(?=\s|$)/gu;

/** Sentences of a text: cut after sentence-final punctuation that is followed by a space or the end. */
export function sentences(text: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (const m of text.matchAll(SENTENCE_END)) {
    const end = m.index + m[0].length;
    const s = text.slice(from, end).trim();
    if (s) out.push(s);
    from = end;
  }
  const rest = text.slice(from).trim();
  if (rest) out.push(rest);
  return out;
}

/**
 * Parts of at most `maxChars` code points: the line itself when short enough, else whole sentences
 * packed greedily in order. A sentence longer than the limit cannot be split and is reported, with
 * its 1-based position among the line's sentences, instead of being spoken.
 */
export function splitLine(text: string, maxChars: number): { parts: string[]; tooLong: Array<{ sentence: number; chars: number }> } {
  const length = (s: string) => Array.from(s).length;
  if (length(text) <= maxChars) return { parts: [text], tooLong: [] };
  const parts: string[] = [];
  const tooLong: Array<{ sentence: number; chars: number }> = [];
  let cur = "";
  sentences(text).forEach((s, i) => {
    const n = length(s);
    if (n > maxChars) {
      tooLong.push({ sentence: i + 1, chars: n });
      return;
    }
    if (cur && length(cur) + 1 + n > maxChars) {
      parts.push(cur);
      cur = "";
    }
    cur = cur ? `${cur} ${s}` : s;
  });
  if (cur) parts.push(cur);
  return { parts, tooLong };
}

function lower(text: string, language: string): string {
  try {
    // The language's own casing rules (Turkish dotted/dotless i), independent of the host's locale.
    return text.toLocaleLowerCase(language);
  } catch {
    return text.toLowerCase();
  }
}

/** Punctuation and symbols at either end of a token ("(word)," → "word"); inner apostrophes and hyphens stay. */
function stripEdges(token: string): string {
  return token.replace(/^[\p{P}\p{S}]+|[\p{P}\p{S}]+$/gu, "");
}

/** The label of one spoken token in `words`: no edge punctuation; lower-cased as the transcript is. Empty = not a word. */
export function wordLabel(token: string, mode: TranscriptMode, language: string): string {
  let w = stripEdges(token);
  if (mode !== "as_written") w = lower(w, language);
  if (mode === "lowercase_no_punctuation") w = w.replace(/[^\p{L}\p{M}\p{N}'’-]/gu, "");
  return w;
}

/** The transcript of a spoken text. */
export function transcript(text: string, mode: TranscriptMode, language: string): string {
  const t = collapseSpace(text);
  if (mode === "as_written") return t;
  if (mode === "lowercase") return lower(t, language);
  return t
    .split(" ")
    .map((tok) => wordLabel(tok, mode, language))
    .filter(Boolean)
    .join(" ");
}
