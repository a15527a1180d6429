// s3:// inputs are read from a local mirror of their text files (storage/cache.ts), so the readers
// stay plain file readers; what they produce is mapped back here: audio paths and error sources
// under the mirror become s3:// URLs again (the audio is fetched from there per item), and the
// messages name URLs, never the mirror.
import { toRemote } from "../storage/cache.js";
import type { ItemError, Utterance } from "../types.js";
import { SourceError, type Pending } from "./common.js";

type Item = Pending | Utterance | ItemError;

function mapItem<T extends Item>(item: T): T {
  if ((item as ItemError).reason !== undefined) {
    const e = item as ItemError;
    e.source = toRemote(e.source);
    e.reason = toRemote(e.reason);
    return item;
  }
  const utt = (item as Pending).utt ?? (item as Utterance);
  utt.audio.path = toRemote(utt.audio.path);
  if ((item as Pending).utt) (item as Pending).file = toRemote((item as Pending).file);
  return item;
}

/** Maps every item (and a SourceError's message) from mirror paths back to URLs. */
export async function* remoteItems<T extends Item>(items: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    for await (const item of items) yield mapItem(item);
  } catch (e) {
    throw remoteError(e);
  }
}

export function remoteError(e: unknown): unknown {
  if (e instanceof SourceError) return new SourceError(toRemote(e.path), toRemote(e.message));
  return e;
}
