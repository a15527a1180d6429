// The synthetic-speech fields every manifest carries for an item made by a `tts` input: they travel
// in the item's `fields` (set by src/sources/tts.ts), so a manifest read back in as an input keeps them.
import type { ItemMeta } from "../types.js";

export interface SyntheticFields {
  synthetic: true;
  /** espeak-ng voice and variant, e.g. `sw+f2`. */
  voice: string;
  rate_wpm: number;
  pitch: number;
}

/** The item's synthetic-speech fields, or null for real audio. */
export function syntheticFields(m: ItemMeta): SyntheticFields | null {
  const f = m.fields;
  if (!f || f.synthetic !== true) return null;
  return { synthetic: true, voice: String(f.voice ?? ""), rate_wpm: Number(f.rate_wpm), pitch: Number(f.pitch) };
}
