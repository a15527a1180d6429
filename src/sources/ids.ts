// Output-safe utterance and speaker ids (FORMATS.md §0):
// - alphabet [A-Za-z0-9_-]: webdataset cuts keys at the first `.`, NeMo flattens `/` and `.`;
// - no leading `_` and no `__` (runs collapsed): webdataset skips `__x__` names and once treated `_x` as metadata;
// - at most 100 bytes, so a `<id>.flac` tar member fits a plain ustar name;
// - `<speaker>-<rest>`: Kaldi wants the speaker id as a prefix of the utterance id, `-` as separator.
import { createHash } from "node:crypto";

export const MAX_ID_BYTES = 100;
/** Speakers are capped shorter than ids so that `<speaker>-` always leaves room for the utterance part. */
export const MAX_SPEAKER_BYTES = 48;
const HASH_CHARS = 8;

/** 8 hex chars of SHA-256: a short, stable tag of an original string. */
export function shortHash(raw: string): string {
  return createHash("sha256").update(raw).digest("hex").slice(0, HASH_CHARS);
}

function sanitise(raw: string): string {
  return raw
    .replace(/[^A-Za-z0-9_-]/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_+/, "");
}

/** Cuts `safe` (already sanitised) to `maxBytes`, appending `_<hash of original>` so that distinct originals stay distinct. */
function fit(safe: string, original: string, maxBytes: number): string {
  if (safe.length <= maxBytes) return safe;
  const head = safe.slice(0, maxBytes - HASH_CHARS - 1).replace(/[_-]+$/, "");
  return head === "" ? shortHash(original) : `${head}_${shortHash(original)}`;
}

function safeIdMax(raw: string, maxBytes: number): string {
  const s = sanitise(raw);
  // Nothing left (e.g. an all-non-ASCII name): the hash alone stands for it.
  if (s === "") return shortHash(raw);
  return fit(s, raw, maxBytes);
}

/**
 * Maps any source id to the output alphabet `[A-Za-z0-9_-]`: other characters become `_`, runs of `_`
 * collapse, leading `_` go, and ids over 100 bytes are truncated with a hash of the original appended.
 * Pure and deterministic; distinct inputs can still meet after sanitising (`a.b`, `a_b`): the readers
 * resolve those with {@link IdRegistry}.
 */
export function safeId(raw: string): string {
  return safeIdMax(raw, MAX_ID_BYTES);
}

/**
 * Output speaker and utterance id for one source utterance. The id starts with `<speaker>-` (prefixed when
 * the source id doesn't already); an empty speaker means unknown, and then speaker = id (Kaldi: no single
 * global speaker). A source id equal to the speaker is kept as is (Kaldi's utt2spk `u u`).
 */
export function utteranceId(speaker: string, sourceId: string): { speaker: string; id: string } {
  const sid = safeId(sourceId);
  if (speaker.trim() === "") return { speaker: sid, id: sid };
  const spk = safeIdMax(speaker, MAX_SPEAKER_BYTES);
  if (sid === spk || sid.startsWith(`${spk}-`)) return { speaker: spk, id: sid };
  return { speaker: spk, id: fit(`${spk}-${sid}`, `${speaker}\u0000${sourceId}`, MAX_ID_BYTES) };
}

/** Longest output item id: with the longest audio extension (`.flac`) a tar member name fits ustar's 100 bytes. */
export const MAX_OUT_ID_BYTES = MAX_ID_BYTES - ".flac".length;

/**
 * Output id and speaker of a planned item: `<prefix><id><suffix>` (op speaker prefixes, the copy
 * suffix `_a<k>`) within MAX_OUT_ID_BYTES. A long id part is cut and tagged with a hash of it, so
 * distinct ids stay distinct; a speaker that is the id itself (unknown speaker; Kaldi wants the
 * speaker as a prefix of the utterance id) is cut the same way. Ids are ASCII: characters are bytes.
 */
export function outputNames(prefix: string, id: string, speaker: string, suffix: string): { outId: string; speaker: string } {
  const room = MAX_OUT_ID_BYTES - prefix.length - suffix.length;
  let cut = id;
  if (id.length > room) {
    const head = id.slice(0, Math.max(0, room - HASH_CHARS - 1)).replace(/[_-]+$/, "");
    cut = head === "" ? shortHash(id) : `${head}_${shortHash(id)}`;
  }
  return { outId: `${prefix}${cut}${suffix}`, speaker: `${prefix}${speaker === id ? cut : speaker}` };
}

/** 96-bit fingerprint as a 16-char string: sets of millions of ids cost ~40 bytes per entry instead of the id's size. */
function fingerprint(s: string): string {
  return createHash("sha1").update(s).digest("base64").slice(0, 16);
}

/**
 * Ids handed out within one input. `identity` says what makes two entries the same utterance (the source
 * id, or audio path + offset): a repeated identity is a duplicate (null). Two different identities that
 * meet on the same output id (sanitising, truncation, same file name in two folders) are told apart by
 * appending `_<hash of identity>` to the later one. Memory: two fingerprints per utterance.
 */
export class IdRegistry {
  private readonly identities = new Set<string>();
  private readonly ids = new Set<string>();

  hasIdentity(identity: string): boolean {
    return this.identities.has(fingerprint(identity));
  }

  claim(identity: string, speaker: string, sourceId: string): { speaker: string; id: string } | null {
    const key = fingerprint(identity);
    if (this.identities.has(key)) return null;
    this.identities.add(key);
    const base = utteranceId(speaker, sourceId);
    // Speaker = id (unknown speaker, or Kaldi's `u u`): a new id must become the new speaker too.
    const speakerIsId = base.speaker === base.id;
    let id = base.id;
    for (let attempt = 0; this.ids.has(fingerprint(id)); attempt++) {
      const tag = shortHash(attempt === 0 ? identity : `${identity}\u0000${attempt}`);
      const head = base.id.slice(0, MAX_ID_BYTES - HASH_CHARS - 1).replace(/[_-]+$/, "");
      id = head === "" ? tag : `${head}_${tag}`;
    }
    this.ids.add(fingerprint(id));
    return { speaker: speakerIsId ? id : base.speaker, id };
  }
}
