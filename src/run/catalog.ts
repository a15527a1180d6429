// Builds the catalog (every source utterance, with a known duration) and the bank catalogs.
import pLimit from "p-limit";
import { probeAudioFile } from "../audio/decode.js";
import { loadBank } from "../banks/bank.js";
import { resolveWorkers } from "../engine/cpu/pool.js";
import { loadAudioFile } from "../engine/load.js";
import type { EngineConfig } from "../engine/process.js";
import type { BankCatalog, BankEntry } from "../ops/types.js";
import { rirId } from "../rooms/bank.js";
import { roomRng, sampleRoom, type SimulateConfig } from "../rooms/sample.js";
import type { Recipe } from "../recipe/schema.js";
import { readInput } from "../sources/index.js";
import { synthesizeCatalog } from "../tts/catalog.js";
import type { ItemError, Utterance } from "../types.js";
import { localCopy } from "../storage/cache.js";
import { isS3Url } from "../storage/url.js";

export interface Catalog {
  utterances: Utterance[];
  errors: ItemError[];
  /** Where synthetic utterances' audio was cached for the engine (src/tts/cache.ts), when there are any. */
  ttsCacheDir?: string;
}

function isError(x: Utterance | ItemError): x is ItemError {
  return (x as ItemError).reason !== undefined;
}

/**
 * Duration of an utterance from its header when the source did not state it. Formats without
 * a length in the header (mp3, ogg) are decoded: correct, but slow on big corpora, so sources
 * that ship durations (NeMo, Common Voice's clip_durations.tsv, Kaldi utt2dur) are preferred.
 */
async function probeDuration(utt: Utterance): Promise<number> {
  if (utt.audio.durationS !== undefined) return utt.audio.durationS;
  // An s3:// object is probed from its cached copy (the engine reads that copy later).
  const probe = await probeAudioFile(isS3Url(utt.audio.path) ? await localCopy(utt.audio.path) : utt.audio.path);
  if (probe && probe.sampleRate > 0) return Math.max(0, probe.numFrames / probe.sampleRate - (utt.audio.offsetS ?? 0));
  const audio = await loadAudioFile(utt.audio.path);
  return audio.channels[0].length / audio.sampleRate - (utt.audio.offsetS ?? 0);
}

export async function buildCatalog(recipe: Recipe, onProgress?: (n: number) => void, opts: { threads?: number } = {}): Promise<Catalog> {
  let utterances: Utterance[] = [];
  const errors: ItemError[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < recipe.inputs.length; i++) {
    for await (const entry of readInput(recipe.inputs[i], i, { allowEmptyText: recipe.filters.allow_empty_text, seed: recipe.seed })) {
      if (isError(entry)) {
        errors.push(entry);
        continue;
      }
      // Ids must be unique across inputs too: they name shard members and manifest lines.
      const prev = seen.get(entry.id);
      if (prev !== undefined) {
        errors.push({ id: entry.id, source: entry.audio.path, stage: "catalog", reason: `duplicate id "${entry.id}" (also in input ${prev})` });
        continue;
      }
      seen.set(entry.id, i);
      utterances.push(entry);
      onProgress?.(utterances.length);
    }
  }
  // Synthetic speech is synthesised once here, for its duration and word times (src/tts/catalog.ts).
  const tts = await synthesizeCatalog(utterances, recipe.inputs, { threads: opts.threads ?? resolveWorkers(recipe.engine.workers) });
  utterances = tts.utterances;
  errors.push(...tts.errors);
  const limit = pLimit(16);
  const ok = new Array<boolean>(utterances.length).fill(true);
  await Promise.all(
    utterances.map((u, i) =>
      limit(async () => {
        if (u.durationS !== null && Number.isFinite(u.durationS)) return;
        try {
          u.durationS = await probeDuration(u);
        } catch (e: any) {
          ok[i] = false;
          errors.push({ id: u.id, source: u.audio.path, stage: "decode", reason: e?.message ?? String(e) });
        }
      }),
    ),
  );
  return { utterances: utterances.filter((_, i) => ok[i]), errors, ...(tts.cacheDir ? { ttsCacheDir: tts.cacheDir } : {}) };
}

export interface Banks {
  catalog: BankCatalog;
  files: EngineConfig["banks"];
}

/**
 * A simulated RIR bank: room i is drawn from the keys (recipe seed, bank name, i), the same as
 * `augment rir simulate` uses, so a recipe and a pre-generated bank give the same rooms.
 */
export function simulatedBank(seed: number, name: string, config: SimulateConfig, sampleRate: number): BankEntry[] {
  const entries: BankEntry[] = [];
  for (let i = 0; i < config.count; i++) {
    const room = sampleRoom(roomRng(seed, name, i), config, { sampleRate });
    entries.push({ id: rirId(i, config.count), path: "", category: "simulated", durationS: room.length_s, room });
  }
  return entries;
}

export async function buildBanks(recipe: Recipe): Promise<Banks> {
  const catalog: BankCatalog = { noise: new Map(), rir: new Map() };
  const files: EngineConfig["banks"] = { noise: {}, rir: {} };
  for (const [kind, list] of [["noise", recipe.noise_banks], ["rir", recipe.rir_banks]] as const) {
    for (const b of list as Array<{ name: string; path?: string; simulate?: SimulateConfig }>) {
      const entries = b.simulate ? simulatedBank(recipe.seed, b.name, b.simulate, recipe.sample_rate) : await loadBank(b.path!);
      catalog[kind].set(b.name, entries);
      files[kind][b.name] = Object.fromEntries(entries.map((e) => [e.id, e.room ?? e.path]));
    }
  }
  return { catalog, files };
}
